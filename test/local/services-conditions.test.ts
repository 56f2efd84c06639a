/**
 * IAM Conditions through the real services endpoint and the SDK v3 clients: a
 * `dynamodb:LeadingKeys` Allow lets a function reach its own partition and refuses another one
 * (item calls, Query, BatchWriteItem, an index), a Deny on `aws:RequestedRegion` outside the local
 * region leaves local calls alone, and Secrets Manager and `@connections` see their keys too.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import dynalite from 'dynalite';
import { contextOf } from '../../local/iam/conditions';
import { SUPPLIED_GLOBAL_KEYS, SUPPLIED_SERVICE_KEYS } from '../../local/iam/supplied-keys';
import type { PolicyStatement } from '../../local/runtime/contract';
import { type AwsServices, startAwsServices } from '../../local/services';
import { CallerRegistry, decide } from '../../local/services/callers';
import { globalKey, requestContext } from '../../local/services/context';
import { dynamodbKey } from '../../local/services/dynamodb';
import { SecretsStore } from '../../local/services/secrets-manager';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const TABLE = 'cond-items';
const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TABLE}`;

const tenantPolicy: PolicyStatement[] = [
  {
    effect: 'Allow',
    actions: [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:Query',
      'dynamodb:BatchWriteItem',
      'dynamodb:Scan',
    ],
    resources: [TABLE_ARN, `${TABLE_ARN}/index/*`],
    conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['tenant-a'] } },
  },
];

/** A guard many published templates carry: deny everything outside the approved regions. */
const regionGuard = (regions: string[]): PolicyStatement[] => [
  { effect: 'Allow', actions: ['dynamodb:GetItem', 'secretsmanager:GetSecretValue'], resources: ['*'] },
  {
    effect: 'Deny',
    notActions: ['iam:*', 'sts:*'],
    resources: ['*'],
    conditions: { StringNotEquals: { 'aws:RequestedRegion': regions } },
  },
];

let dynaliteServer: Server;
let services: AwsServices;

beforeAll(async () => {
  dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynaliteServer.listen(0, '127.0.0.1', () => resolve()));
  const direct = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(dynaliteServer.address() as AddressInfo).port}`,
    region: REGION,
    credentials: { accessKeyId: 'admin', secretAccessKey: 'admin' },
  });
  await direct.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'owner', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byOwner',
          KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
          ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
        },
      ],
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
    }),
  );
  direct.destroy();
  services = await startAwsServices({
    region: REGION,
    accountId: ACCOUNT,
    dynalite: dynaliteServer,
    functions: [
      { id: 'App/Tenant', functionName: 'app-tenant', policy: tenantPolicy },
      { id: 'App/Local', functionName: 'app-local', policy: regionGuard([REGION]) },
      { id: 'App/Elsewhere', functionName: 'app-elsewhere', policy: regionGuard(['us-east-1']) },
      {
        id: 'App/Secrets',
        functionName: 'app-secrets',
        policy: [
          {
            effect: 'Allow',
            actions: ['secretsmanager:GetSecretValue'],
            resources: ['*'],
            conditions: { StringEqualsIfExists: { 'secretsmanager:VersionStage': ['AWSCURRENT'] } },
          },
        ],
      },
      {
        id: 'App/Notifier',
        functionName: 'app-notifier',
        roleName: 'NotifierRole',
        policy: [
          {
            effect: 'Allow',
            actions: ['execute-api:ManageConnections'],
            resources: [`arn:aws:execute-api:${REGION}:${ACCOUNT}:*`],
            conditions: {
              ArnEquals: { 'aws:PrincipalArn': [`arn:aws:iam::${ACCOUNT}:role/NotifierRole`] },
              Bool: { 'aws:SecureTransport': ['true'] },
            },
          },
        ],
      },
    ],
    secrets: [{ name: 'app/jwt', secretString: 'jwt-secret-value' }],
  });
});

afterAll(async () => {
  await services?.stop();
  await new Promise<void>((resolve) => (dynaliteServer ? dynaliteServer.close(() => resolve()) : resolve()));
});

const config = (functionId: string) => ({
  endpoint: services.endpoint,
  region: REGION,
  credentials: services.identityFor(functionId),
  maxAttempts: 1,
});
const ddb = (functionId: string) => new DynamoDBClient(config(functionId));

async function refusal(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught as { name: string; message: string },
  );
  if (!error) throw new Error('expected the call to be refused');
  return error;
}

const item = (pk: string, sk: string, owner = pk) => ({ pk: { S: pk }, sk: { S: sk }, owner: { S: owner } });

describe('dynamodb:LeadingKeys', () => {
  const client = () => ddb('App/Tenant');

  test('item calls reach the allowed partition and are refused on another', async () => {
    const tenant = client();
    await tenant.send(new PutItemCommand({ TableName: TABLE, Item: item('tenant-a', '1') }));
    const got = await tenant.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'tenant-a' }, sk: { S: '1' } } }),
    );
    expect(got.Item?.owner?.S).toBe('tenant-a');

    // The same action on the same table, another partition: decided again, not served from the cache.
    const denied = await refusal(
      tenant.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'tenant-b' }, sk: { S: '1' } } })),
    );
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/app-tenant-role/app-tenant is not authorized to perform: dynamodb:GetItem on resource: ${TABLE_ARN} because no identity-based policy allows the dynamodb:GetItem action`,
    );
    const put = await refusal(
      tenant.send(new PutItemCommand({ TableName: TABLE, Item: item('tenant-b', '1') })),
    );
    expect(put.name).toBe('AccessDeniedException');
    await tenant.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: 'tenant-a' }, sk: { S: '1' } },
        UpdateExpression: 'SET #n = :n',
        ExpressionAttributeNames: { '#n': 'note' },
        ExpressionAttributeValues: { ':n': { S: 'hello' } },
      }),
    );
    tenant.destroy();
  });

  test('Query is judged by its partition key equality, on the table and on an index', async () => {
    const tenant = client();
    const own = await tenant.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: '#pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': { S: 'tenant-a' }, ':prefix': { S: '1' } },
      }),
    );
    expect(own.Items?.map((found) => found.note?.S)).toEqual(['hello']);
    const other = await refusal(
      tenant.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: ':pk = pk',
          ExpressionAttributeValues: { ':pk': { S: 'tenant-b' } },
        }),
      ),
    );
    expect(other.name).toBe('AccessDeniedException');
    const byIndex = await tenant.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'byOwner',
        KeyConditionExpression: '#o = :o',
        ExpressionAttributeNames: { '#o': 'owner' },
        ExpressionAttributeValues: { ':o': { S: 'tenant-a' } },
      }),
    );
    expect(byIndex.Count).toBe(1);
    const otherOwner = await refusal(
      tenant.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: 'byOwner',
          KeyConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': { S: 'tenant-b' } },
        }),
      ),
    );
    expect(otherOwner.name).toBe('AccessDeniedException');
    tenant.destroy();
  });

  test('BatchWriteItem needs every partition it writes to be allowed; a Scan has no leading keys', async () => {
    const tenant = client();
    await tenant.send(
      new BatchWriteItemCommand({
        RequestItems: { [TABLE]: [{ PutRequest: { Item: item('tenant-a', '2') } }] },
      }),
    );
    const mixed = await refusal(
      tenant.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [TABLE]: [
              { PutRequest: { Item: item('tenant-a', '3') } },
              { PutRequest: { Item: item('tenant-b', '3') } },
            ],
          },
        }),
      ),
    );
    expect(mixed.name).toBe('AccessDeniedException');
    // ForAllValues holds for a request without the key, as AWS documents: an unrestricted Scan passes.
    const scanned = await tenant.send(new ScanCommand({ TableName: TABLE }));
    expect(scanned.Count).toBe(2);
    tenant.destroy();
  });
});

describe('aws:RequestedRegion', () => {
  test('a Deny outside the approved regions does not refuse a call in the local region', async () => {
    const local = ddb('App/Local');
    const answer = await local.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'tenant-a' }, sk: { S: '1' } } }),
    );
    expect(answer.Item?.pk?.S).toBe('tenant-a');
    local.destroy();
    const secrets = new SecretsManagerClient(config('App/Local'));
    expect((await secrets.send(new GetSecretValueCommand({ SecretId: 'app/jwt' }))).SecretString).toBe(
      'jwt-secret-value',
    );
    secrets.destroy();
  });

  test('the same Deny naming another region refuses, as an explicit deny', async () => {
    const elsewhere = ddb('App/Elsewhere');
    const denied = await refusal(
      elsewhere.send(
        new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'tenant-a' }, sk: { S: '1' } } }),
      ),
    );
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('with an explicit deny in an identity-based policy');
    elsewhere.destroy();
  });

  test('is the region the client signed for: a client of another region meets the Deny', async () => {
    // The function allowed only in the local region calls with a client configured for another.
    const otherRegion = new DynamoDBClient({ ...config('App/Local'), region: 'ap-south-1' });
    const denied = await refusal(
      otherRegion.send(
        new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'tenant-a' }, sk: { S: '1' } } }),
      ),
    );
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('with an explicit deny in an identity-based policy');
    otherRegion.destroy();
  });
});

test('secretsmanager:VersionStage is in the context when the request names it', async () => {
  const secrets = new SecretsManagerClient(config('App/Secrets'));
  expect((await secrets.send(new GetSecretValueCommand({ SecretId: 'app/jwt' }))).SecretString).toBe(
    'jwt-secret-value',
  );
  const current = await secrets.send(
    new GetSecretValueCommand({ SecretId: 'app/jwt', VersionStage: 'AWSCURRENT' }),
  );
  expect(current.SecretString).toBe('jwt-secret-value');
  const previous = await refusal(
    secrets.send(new GetSecretValueCommand({ SecretId: 'app/jwt', VersionStage: 'AWSPREVIOUS' })),
  );
  expect(previous.name).toBe('AccessDeniedException');
  secrets.destroy();
});

test('@connections checks see the global keys (the role ARN, secure transport)', () => {
  const signed = (functionId: string) => ({
    method: 'POST',
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=${services.identityFor(functionId).accessKeyId}/20260101/${REGION}/execute-api/aws4_request, SignedHeaders=host, Signature=x`,
    },
  });
  const target = { apiId: 'abc123', stage: 'prod', connectionId: 'AbC=' };
  expect(services.authorizeManagementRequest(signed('App/Notifier'), target)).toEqual({
    allowed: true,
    functionId: 'App/Notifier',
  });
  // Another role with the same policy: aws:PrincipalArn no longer matches.
  services.registerFunction({
    id: 'App/Impostor',
    functionName: 'app-impostor',
    roleName: 'ImpostorRole',
    policy: [
      {
        effect: 'Allow',
        actions: ['execute-api:ManageConnections'],
        resources: [`arn:aws:execute-api:${REGION}:${ACCOUNT}:*`],
        conditions: { ArnEquals: { 'aws:PrincipalArn': [`arn:aws:iam::${ACCOUNT}:role/NotifierRole`] } },
      },
    ],
  });
  const refused = services.authorizeManagementRequest(signed('App/Impostor'), target);
  expect(refused.allowed).toBe(false);
});

test('a role given by its template ARN (path included) is aws:PrincipalArn, and refusals name it without the path', () => {
  // What --assembly registers: the function's Role property resolved to an ARN, no role name.
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/service/App-FnRole-ABC123`;
  const registry = new CallerRegistry({ region: REGION, accountId: ACCOUNT });
  registry.register({
    id: 'App/Fn',
    functionName: 'App-Fn-XYZ',
    roleArn,
    policy: [
      {
        effect: 'Allow',
        actions: ['dynamodb:GetItem'],
        resources: [TABLE_ARN],
        conditions: { ArnEquals: { 'aws:PrincipalArn': [roleArn] } },
      },
    ],
  });
  const caller = registry.byAccessKey(registry.identityFor('App/Fn').accessKeyId);
  if (!caller) throw new Error('not registered');
  expect(caller.roleArn).toBe(roleArn);
  expect(caller.principalArn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/App-FnRole-ABC123/App-Fn-XYZ`);
  expect(
    decide(
      caller,
      'dynamodb:GetItem',
      TABLE_ARN,
      requestContext({ region: REGION, accountId: ACCOUNT }, caller),
    ),
  ).toBe('allow');
});

test('decisions are cached for statements without conditions, made anew for those with', () => {
  const registry = new CallerRegistry({ region: REGION, accountId: ACCOUNT });
  registry.register({
    id: 'plain',
    functionName: 'plain',
    policy: [{ effect: 'Allow', actions: ['dynamodb:GetItem'], resources: [TABLE_ARN] }],
  });
  registry.register({ id: 'tenant', functionName: 'tenant', policy: tenantPolicy });
  const plain = registry.byAccessKey(registry.identityFor('plain').accessKeyId);
  const tenant = registry.byAccessKey(registry.identityFor('tenant').accessKeyId);
  if (!plain || !tenant) throw new Error('registered callers not found');
  expect(decide(plain, 'dynamodb:GetItem', TABLE_ARN)).toBe('allow');
  expect(plain.decisions.size).toBe(1);
  const keys = (value: string) => contextOf({ 'dynamodb:LeadingKeys': [value] });
  expect(decide(tenant, 'dynamodb:GetItem', TABLE_ARN, keys('tenant-a'))).toBe('allow');
  expect(decide(tenant, 'dynamodb:GetItem', TABLE_ARN, keys('tenant-b'))).toBe('implicit-deny');
  expect(tenant.decisions.size).toBe(0);
  // An action no conditional statement covers is cached again.
  expect(decide(tenant, 'dynamodb:DeleteItem', TABLE_ARN, keys('tenant-a'))).toBe('implicit-deny');
  expect(tenant.decisions.size).toBe(1);
  expect(tenant.conditionKeys.has('dynamodb:leadingkeys')).toBe(true);
  expect(plain.conditionKeys.size).toBe(0);
});

test('the key schema is also found when DynamoDB calls are forwarded to a dynalite URL', async () => {
  const forwarding = await startAwsServices({
    region: REGION,
    accountId: ACCOUNT,
    dynamodbEndpoint: `http://127.0.0.1:${(dynaliteServer.address() as AddressInfo).port}`,
    functions: [{ id: 'App/Tenant', functionName: 'app-tenant', policy: tenantPolicy }],
  });
  const tenant = new DynamoDBClient({
    endpoint: forwarding.endpoint,
    region: REGION,
    credentials: forwarding.identityFor('App/Tenant'),
    maxAttempts: 1,
  });
  try {
    const own = await tenant.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'tenant-a' }, sk: { S: '1' } } }),
    );
    expect(own.Item?.pk?.S).toBe('tenant-a');
    const other = await refusal(
      tenant.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'tenant-b' }, sk: { S: '1' } } })),
    );
    expect(other.name).toBe('AccessDeniedException');
  } finally {
    tenant.destroy();
    await forwarding.stop();
  }
});

test('every key the template reader treats as set locally is answered by the services', () => {
  const registry = new CallerRegistry({ region: REGION, accountId: ACCOUNT });
  registry.register({ id: 'fn', functionName: 'fn', policy: [] });
  const caller = registry.byAccessKey(registry.identityFor('fn').accessKeyId);
  if (!caller) throw new Error('not registered');
  for (const key of SUPPLIED_GLOBAL_KEYS) {
    expect([key, globalKey({ region: REGION, accountId: ACCOUNT }, caller, key)]).toEqual([
      key,
      expect.any(String),
    ]);
  }
  const put = {
    TableName: 'T',
    Item: { pk: { S: 'u1' }, n: { N: '1' } },
    Select: 'ALL_ATTRIBUTES',
    ReturnValues: 'ALL_OLD',
    ReturnConsumedCapacity: 'TOTAL',
  };
  const check = { action: 'dynamodb:PutItem', resource: TABLE_ARN, table: 'T' };
  const schema = { partitionKey: 'pk', indexPartitionKeys: new Map<string, string>() };
  const secrets = new SecretsStore({ region: REGION, accountId: ACCOUNT });
  secrets.put({ name: 'app/s', secretString: 'v' });
  const secretRequest = { SecretId: 'app/s', VersionId: 'v1', VersionStage: 'AWSCURRENT' };
  for (const key of SUPPLIED_SERVICE_KEYS) {
    const value = key.startsWith('dynamodb:')
      ? dynamodbKey(key, 'PutItem', put, check, schema)
      : secrets.conditionKey(key, secretRequest);
    expect([key, value]).toEqual([key, expect.anything()]);
  }
});
