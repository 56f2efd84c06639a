/**
 * The services endpoint and dynalite in a worker thread (local/services/worker.ts), as the
 * assembly stack runs them: the real SDK signing as a function, IAM checked in the worker,
 * @connections authorized in this thread with the same keys, changes reaching the worker in
 * order, and data on disk surviving a stop and a new start.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { PolicyStatement } from '../../local/runtime/contract';
import { type AwsServicesInWorker, startAwsServicesWorker } from '../../local/services/worker';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const TABLE = 'worker-items';
const tableArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TABLE}`;
const writerPolicy: PolicyStatement[] = [
  { effect: 'Allow', actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [tableArn] },
  {
    effect: 'Allow',
    actions: ['execute-api:ManageConnections'],
    resources: [`arn:aws:execute-api:${REGION}:${ACCOUNT}:api1/prod/POST/@connections/*`],
  },
];

let dataDir: string;
let services: AwsServicesInWorker;
const failures: string[] = [];

const start = () =>
  startAwsServicesWorker({
    region: REGION,
    accountId: ACCOUNT,
    dynalitePath: path.join(dataDir, 'dynamodb'),
    functions: [
      { id: 'App/Writer', functionName: 'app-writer', policy: writerPolicy },
      { id: 'App/Reader', functionName: 'app-reader', policy: [] },
    ],
    onFailure: (message) => failures.push(message),
  });

const client = (functionId: string) =>
  new DynamoDBClient({
    endpoint: services.endpoint,
    region: REGION,
    credentials: services.identityFor(functionId),
    maxAttempts: 1,
  });

const signed = (functionId: string) => ({
  method: 'POST',
  headers: {
    authorization: `AWS4-HMAC-SHA256 Credential=${services.identityFor(functionId).accessKeyId}/20260101/${REGION}/execute-api/aws4_request, SignedHeaders=host, Signature=0`,
  },
});

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'services-worker-'));
  services = await start();
  const admin = new DynamoDBClient({
    endpoint: services.dynamodbEndpoint,
    region: REGION,
    credentials: { accessKeyId: 'admin', secretAccessKey: 'admin' },
  });
  await admin.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  admin.destroy();
});

afterAll(async () => {
  await services?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('a granted call is served by dynalite in the worker; one without a grant is refused naming action and resource', async () => {
  const writer = client('App/Writer');
  await writer.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'a' }, v: { N: '1' } } }));
  const got = await writer.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'a' } } }));
  expect(got.Item?.v?.N).toBe('1');
  const refused = await writer
    .send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: 'a' } } }))
    .catch((error: Error) => error);
  expect(refused).toMatchObject({ name: 'AccessDeniedException' });
  expect((refused as Error).message).toContain(`perform: dynamodb:DeleteItem on resource: ${tableArn}`);
  writer.destroy();
  await services.applied();
  expect(services.stats()).toMatchObject({ denied: 1 });
});

test('@connections requests are authorized in this thread with the keys the worker knows', () => {
  const target = { apiId: 'api1', stage: 'prod', connectionId: 'c1' };
  expect(services.authorizeManagementRequest(signed('App/Writer'), target)).toEqual({
    allowed: true,
    functionId: 'App/Writer',
  });
  const refused = services.authorizeManagementRequest(signed('App/Reader'), target);
  expect(refused).toMatchObject({ allowed: false, status: 403 });
  expect(refused.allowed ? '' : refused.body).toContain('execute-api:ManageConnections');
  const before = services.stats().denied;
  services.authorizeManagementRequest(signed('App/Reader'), target);
  expect(services.stats().denied).toBe(before + 1);
});

test('policy and fault changes reach the worker in order', async () => {
  const reader = client('App/Reader');
  const get = () => reader.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'a' } } }));
  await expect(get()).rejects.toMatchObject({ name: 'AccessDeniedException' });
  services.setPolicy('App/Reader', [
    { effect: 'Allow', actions: ['dynamodb:GetItem'], resources: [tableArn] },
  ]);
  await services.applied();
  await expect(get()).resolves.toMatchObject({ Item: { pk: { S: 'a' } } });

  expect(() => services.setFaults({ dynamodb: { throttleRate: 2 } })).toThrow(/from 0 to 1/);
  services.setFaults({ dynamodb: { throttleRate: 1 } });
  await services.applied();
  await expect(get()).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
  services.setFaults({});
  await services.applied();
  await expect(get()).resolves.toMatchObject({ Item: { pk: { S: 'a' } } });
  expect(services.stats().throttled).toBe(1);
  reader.destroy();
});

test('policies with conditions cross into the worker and are evaluated there and in this thread', async () => {
  services.registerFunction({
    id: 'App/Tenant',
    functionName: 'app-tenant',
    policy: [
      {
        effect: 'Allow',
        actions: ['dynamodb:GetItem'],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['a'] } },
      },
      {
        effect: 'Allow',
        actions: ['execute-api:ManageConnections'],
        resources: [`arn:aws:execute-api:${REGION}:${ACCOUNT}:api1/*`],
        conditions: { StringEquals: { 'aws:RequestedRegion': ['us-east-1'] } },
      },
    ],
  });
  await services.applied();
  const tenant = client('App/Tenant');
  const get = (pk: string) => tenant.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } } }));
  await expect(get('a')).resolves.toMatchObject({ Item: { pk: { S: 'a' } } });
  await expect(get('b')).rejects.toMatchObject({ name: 'AccessDeniedException' });
  tenant.destroy();
  // The local region is eu-west-1: the condition does not hold, so nothing grants the call.
  const refused = services.authorizeManagementRequest(signed('App/Tenant'), {
    apiId: 'api1',
    stage: 'prod',
    connectionId: 'c1',
  });
  expect(refused).toMatchObject({ allowed: false, status: 403 });
});

test('data on disk survives a stop and a new worker on the same folder', async () => {
  await services.stop();
  services = await start();
  const writer = client('App/Writer');
  const got = await writer.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'a' } } }));
  expect(got.Item?.v?.N).toBe('1');
  writer.destroy();
  expect(failures).toEqual([]);
});
