/**
 * The local AWS services endpoint with the real SDK v3 clients, each signing as one function:
 * DynamoDB forwarded to dynalite, Secrets Manager and SSM in memory, every call checked against
 * the function's policy and refused as AWS refuses it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  ExecuteStatementCommand,
  GetItemCommand,
  ListTablesCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ParameterNotFound,
  SSMClient,
} from '@aws-sdk/client-ssm';
import dynalite from 'dynalite';
import { ensureTables } from '../../lambdas/adapters/dynamodb/create-tables';
import type { PolicyStatement } from '../../local/runtime/contract';
import { type AwsServices, sendDenial, startAwsServices } from '../../local/services';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const table = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:app/jwt-AbC123`;

let dynaliteServer: Server;
let services: AwsServices;
const connections = 'svc-connections';
const assessments = 'svc-assessments';
/** Fault draws: tests that inject faults push values; otherwise 0.5. */
const draws: number[] = [];

const writerPolicy = (): PolicyStatement[] => [
  {
    effect: 'Allow',
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'],
    resources: [table(connections)],
  },
  { effect: 'Allow', actions: ['dynamodb:Query'], resources: [`${table(assessments)}/index/*`] },
];

beforeAll(async () => {
  // dynalite in this process, handed the calls directly (test/local/services-roles.test.ts covers
  // the forwarding to a dynalite URL).
  dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynaliteServer.listen(0, '127.0.0.1', () => resolve()));
  const direct = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(dynaliteServer.address() as AddressInfo).port}`,
    region: REGION,
  });
  await ensureTables(direct, { connections, assessments, tests: 'svc-tests' });
  direct.destroy();
  services = await startAwsServices({
    region: REGION,
    accountId: ACCOUNT,
    dynalite: dynaliteServer,
    random: () => draws.shift() ?? 0.5,
    functions: [
      { id: 'App/Writer', functionName: 'app-writer', roleName: 'app-WriterRole', policy: writerPolicy() },
      {
        id: 'App/Guarded',
        functionName: 'app-guarded',
        policy: [
          { effect: 'Allow', actions: ['dynamodb:*'], resources: [table(connections)] },
          { effect: 'Deny', actions: ['dynamodb:Delete*'], resources: ['*'] },
        ],
      },
      {
        id: 'App/Config',
        functionName: 'app-config',
        policy: [
          {
            effect: 'Allow',
            actions: ['secretsmanager:GetSecretValue'],
            resources: [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:app/jwt-??????`],
          },
          {
            effect: 'Allow',
            actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
            resources: [`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/app/*`],
          },
        ],
      },
      {
        id: 'App/AnySecret',
        functionName: 'app-any-secret',
        policy: [{ effect: 'Allow', actions: ['secretsmanager:*'], resources: ['*'] }],
      },
    ],
    secrets: [
      { name: 'app/jwt', secretString: 'jwt-secret-value', arn: SECRET_ARN },
      { name: 'other', secretString: 'not yours' },
    ],
    parameters: [
      { name: '/app/a', value: '1' },
      { name: '/app/b', value: '2' },
      { name: '/app/nested/c', value: '3' },
      { name: '/private/d', value: '4' },
    ],
  });
});

afterAll(async () => {
  await services?.stop();
  await new Promise<void>((resolve) => (dynaliteServer ? dynaliteServer.close(() => resolve()) : resolve()));
});

const clientConfig = (functionId: string) => ({
  endpoint: services.endpoint,
  region: REGION,
  credentials: services.identityFor(functionId),
  maxAttempts: 1,
});
const ddb = (functionId: string) => new DynamoDBClient(clientConfig(functionId));

/** The rejection of `promise`, which must reject. */
async function refusal(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to be refused');
}

describe('DynamoDB', () => {
  test('allowed calls reach dynalite and come back', async () => {
    const client = ddb('App/Writer');
    await client.send(
      new PutItemCommand({ TableName: connections, Item: { pk: { S: 'c1' }, n: { N: '1' } } }),
    );
    const got = await client.send(new GetItemCommand({ TableName: connections, Key: { pk: { S: 'c1' } } }));
    expect(got.Item).toEqual({ pk: { S: 'c1' }, n: { N: '1' } });
  });

  test('a missing grant is refused with AccessDeniedException naming principal, action and resource', async () => {
    const error = await refusal(
      ddb('App/Writer').send(
        new UpdateItemCommand({
          TableName: connections,
          Key: { pk: { S: 'c1' } },
          UpdateExpression: 'SET n = :n',
          ExpressionAttributeValues: { ':n': { N: '2' } },
        }),
      ),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/app-WriterRole/app-writer is not authorized to perform: ` +
        `dynamodb:UpdateItem on resource: ${table(connections)} because no identity-based policy allows the dynamodb:UpdateItem action`,
    );
    // Nothing was written.
    const got = await ddb('App/Writer').send(
      new GetItemCommand({ TableName: connections, Key: { pk: { S: 'c1' } } }),
    );
    expect(got.Item?.n).toEqual({ N: '1' });
  });

  test('an explicit Deny beats an Allow', async () => {
    const client = ddb('App/Guarded');
    await client.send(new PutItemCommand({ TableName: connections, Item: { pk: { S: 'g1' } } }));
    const error = await refusal(
      client.send(new DeleteItemCommand({ TableName: connections, Key: { pk: { S: 'g1' } } })),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain(
      `dynamodb:DeleteItem on resource: ${table(connections)} with an explicit deny in an identity-based policy`,
    );
  });

  test('Query on an index needs the index ARN; the table grant does not cover it, nor the reverse', async () => {
    const client = ddb('App/Writer');
    const onIndex = await client.send(
      new QueryCommand({
        TableName: assessments,
        IndexName: 'active-by-deadline',
        KeyConditionExpression: 'activeShard = :s',
        ExpressionAttributeValues: { ':s': { S: 'active#0' } },
      }),
    );
    expect(onIndex.Items).toEqual([]);
    const onTable = await refusal(
      client.send(
        new QueryCommand({
          TableName: assessments,
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'x' } },
        }),
      ),
    );
    expect(onTable.message).toContain(`dynamodb:Query on resource: ${table(assessments)} because`);
    const connectionsIndex = await refusal(
      client.send(
        new QueryCommand({
          TableName: connections,
          IndexName: 'pending-by-auth-deadline',
          KeyConditionExpression: 'pendingBucket = :b',
          ExpressionAttributeValues: { ':b': { S: 'p#0' } },
        }),
      ),
    );
    expect(connectionsIndex.message).toContain(
      `on resource: ${table(connections)}/index/pending-by-auth-deadline because`,
    );
    const scan = await refusal(
      client.send(new ScanCommand({ TableName: assessments, IndexName: 'active-by-deadline' })),
    );
    expect(scan.message).toContain('dynamodb:Scan on resource');
  });

  test('a table ARN works as TableName, checked on that ARN', async () => {
    const client = ddb('App/Writer');
    const got = await client.send(
      new GetItemCommand({ TableName: table(connections), Key: { pk: { S: 'c1' } } }),
    );
    expect(got.Item?.pk).toEqual({ S: 'c1' });
    const refused = await refusal(
      client.send(new GetItemCommand({ TableName: table(assessments), Key: { pk: { S: 'c1' } } })),
    );
    expect(refused.message).toContain(`dynamodb:GetItem on resource: ${table(assessments)} because`);
  });

  test('BatchWriteItem is checked on every table it touches', async () => {
    const client = ddb('App/Writer');
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: { [connections]: [{ PutRequest: { Item: { pk: { S: 'b1' } } } }] },
      }),
    );
    const error = await refusal(
      client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [connections]: [{ PutRequest: { Item: { pk: { S: 'b2' } } } }],
            [assessments]: [{ PutRequest: { Item: { pk: { S: 'b2' } } } }],
          },
        }),
      ),
    );
    expect(error.message).toContain(`dynamodb:BatchWriteItem on resource: ${table(assessments)} because`);
    const got = await client.send(new GetItemCommand({ TableName: connections, Key: { pk: { S: 'b2' } } }));
    expect(got.Item).toBeUndefined();
  });

  test('transactions are checked per item, and an authorized one gets a clear refusal (dynalite has none)', async () => {
    const put = (tableName: string) => ({ Put: { TableName: tableName, Item: { pk: { S: 't1' } } } });
    const denied = await refusal(
      ddb('App/Writer').send(
        new TransactWriteItemsCommand({ TransactItems: [put(connections), put(assessments)] }),
      ),
    );
    expect(denied.message).toContain(`dynamodb:PutItem on resource: ${table(assessments)} because`);
    const unsupported = await refusal(
      ddb('App/Writer').send(new TransactWriteItemsCommand({ TransactItems: [put(connections)] })),
    );
    expect(unsupported.name).toBe('UnknownOperationException');
    expect(unsupported.message).toContain('dynalite');
    const partiql = await refusal(
      ddb('App/Writer').send(new ExecuteStatementCommand({ Statement: `SELECT * FROM "${connections}"` })),
    );
    expect(partiql.name).toBe('UnknownOperationException');
    expect(partiql.message).toContain('no PartiQL');
  });

  test('a call to a service the stack does not emulate gets a clear refusal, not a hang or a crash', async () => {
    // The runtime provides the SQS client (handlers that import it load); the service is not served.
    const sqs = new SQSClient(clientConfig('App/Writer'));
    const refused = await refusal(
      sqs.send(
        new SendMessageCommand({ QueueUrl: 'https://sqs.us-east-1.amazonaws.com/0/q', MessageBody: 'x' }),
      ),
    );
    expect(refused.name).toBe('UnknownOperationException');
    expect(refused.message).toContain('does not emulate AmazonSQS');
    sqs.destroy();
  });

  test('a REST or query-protocol service the stack does not emulate is refused in that protocol, so the SDK shows the reason', async () => {
    const refusedBy = async (send: Promise<unknown>) => {
      const refused = await refusal(send);
      return { name: refused.name, message: refused.message, status: refused.$metadata?.httpStatusCode };
    };
    const expected = (service: string) => ({
      name: 'UnsupportedServiceException',
      message: expect.stringContaining(`does not emulate ${service}`),
      status: 400,
    });
    const s3 = new S3Client({ ...clientConfig('App/Writer'), forcePathStyle: true });
    expect(
      await refusedBy(s3.send(new PutObjectCommand({ Bucket: 'transcripts', Key: 'a.txt', Body: 'x' }))),
    ).toEqual(expected('s3'));
    const sns = new SNSClient(clientConfig('App/Writer'));
    expect(
      await refusedBy(
        sns.send(new PublishCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:t`, Message: 'x' })),
      ),
    ).toEqual(expected('sns'));
    const lambda = new LambdaClient(clientConfig('App/Writer'));
    expect(await refusedBy(lambda.send(new InvokeCommand({ FunctionName: 'other' })))).toEqual(
      expected('lambda'),
    );
    for (const client of [s3, sns, lambda]) client.destroy();
  });

  test('a REST or query-protocol call signed with a key no function was given is refused in that protocol too', async () => {
    // e.g. a handler that signs with real credentials of its own: its call is served here, not by AWS.
    const stranger = { accessKeyId: 'AKIAREALKEYELSEWHERE', secretAccessKey: 'x' };
    const s3 = new S3Client({ ...clientConfig('App/Writer'), credentials: stranger, forcePathStyle: true });
    const refused = await refusal(
      s3.send(new PutObjectCommand({ Bucket: 'transcripts', Key: 'a.txt', Body: 'x' })),
    );
    expect({ name: refused.name, status: refused.$metadata?.httpStatusCode }).toEqual({
      name: 'InvalidAccessKeyId',
      status: 403,
    });
    expect(refused.message).toContain('no function was given');
    const sns = new SNSClient({ ...clientConfig('App/Writer'), credentials: stranger });
    const snsRefused = await refusal(
      sns.send(new PublishCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:t`, Message: 'x' })),
    );
    expect(snsRefused.name).toBe('InvalidClientTokenId');
    expect(snsRefused.message).toContain('no function was given');
    for (const client of [s3, sns]) client.destroy();
  });

  test('account-level operations are checked on *', async () => {
    const error = await refusal(ddb('App/Writer').send(new ListTablesCommand({})));
    expect(error.message).toContain('dynamodb:ListTables on resource: * because');
  });

  test('an access key no function was given is refused as AWS refuses an unknown key', async () => {
    const client = new DynamoDBClient({
      ...clientConfig('App/Writer'),
      credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' },
    });
    const error = await refusal(
      client.send(new GetItemCommand({ TableName: connections, Key: { pk: { S: 'c1' } } })),
    );
    expect(error.name).toBe('UnrecognizedClientException');
    expect(error.message).toBe('The security token included in the request is invalid.');
  });

  test('a policy replaced at run time applies to the next call', async () => {
    const client = ddb('App/Writer');
    const get = () => client.send(new GetItemCommand({ TableName: connections, Key: { pk: { S: 'c1' } } }));
    await get();
    services.setPolicy(
      'App/Writer',
      writerPolicy().map((s) => ({
        ...s,
        ...(s.actions && { actions: s.actions.filter((a) => a !== 'dynamodb:GetItem') }),
      })),
    );
    try {
      expect((await refusal(get())).name).toBe('AccessDeniedException');
    } finally {
      services.setPolicy('App/Writer', writerPolicy());
    }
    await get();
  });
});

describe('fault injection', () => {
  afterEach(() => {
    services.setFaults({});
    draws.length = 0;
  });
  const get = () =>
    ddb('App/Writer').send(new GetItemCommand({ TableName: connections, Key: { pk: { S: 'c1' } } }));

  test('throttles and server errors at the configured rates, set at run time', async () => {
    services.setFaults({ dynamodb: { throttleRate: 0.2, serverErrorRate: 0.3 } });
    const before = services.stats();
    draws.push(0.1, 0.3, 0.6);
    expect(await refusal(get())).toBeInstanceOf(ProvisionedThroughputExceededException);
    const serverError = await refusal(get());
    expect(serverError.name).toBe('InternalServerError');
    expect(serverError.$metadata?.httpStatusCode).toBe(500);
    await get();
    const after = services.stats();
    expect(after.throttled - before.throttled).toBe(1);
    expect(after.serverErrors - before.serverErrors).toBe(1);
  });

  test('ThrottlingException when asked for, and only after the call is authorized', async () => {
    services.setFaults({ dynamodb: { throttleRate: 1, throttleError: 'ThrottlingException' } });
    draws.push(0, 0);
    expect((await refusal(get())).name).toBe('ThrottlingException');
    const denied = await refusal(ddb('App/Writer').send(new ListTablesCommand({})));
    expect(denied.name).toBe('AccessDeniedException');
  });

  test('faults can target operations and tables, and delay calls', async () => {
    services.setFaults({ dynamodb: { serverErrorRate: 1, operations: ['PutItem'] } });
    await get();
    const put = ddb('App/Writer').send(
      new PutItemCommand({ TableName: connections, Item: { pk: { S: 'f1' } } }),
    );
    expect((await refusal(put)).name).toBe('InternalServerError');

    services.setFaults({ dynamodb: { throttleRate: 1, tables: [assessments] } });
    await get();
    const query = ddb('App/Writer').send(
      new QueryCommand({
        TableName: assessments,
        IndexName: 'active-by-deadline',
        KeyConditionExpression: 'activeShard = :s',
        ExpressionAttributeValues: { ':s': { S: 'active#0' } },
      }),
    );
    expect(await refusal(query)).toBeInstanceOf(ProvisionedThroughputExceededException);

    services.setFaults({ dynamodb: { latencyMs: 150 } });
    const started = Date.now();
    await get();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  test('rates outside 0..1 and negative latencies are refused', () => {
    expect(() => services.setFaults({ dynamodb: { throttleRate: 2 } })).toThrow(/from 0 to 1/);
    expect(() => services.setFaults({ dynamodb: { latencyMs: -1 } })).toThrow(/latencyMs/);
  });
});

describe('Secrets Manager', () => {
  const sm = (functionId: string) => new SecretsManagerClient(clientConfig(functionId));

  test.each([
    ['name', 'app/jwt'],
    ['full ARN', SECRET_ARN],
    ['partial ARN', SECRET_ARN.slice(0, -7)],
  ])('GetSecretValue by %s', async (_kind, secretId) => {
    const value = await sm('App/Config').send(new GetSecretValueCommand({ SecretId: secretId }));
    expect(value.SecretString).toBe('jwt-secret-value');
    expect(value.ARN).toBe(SECRET_ARN);
    expect(value.Name).toBe('app/jwt');
    expect(value.VersionStages).toEqual(['AWSCURRENT']);
  });

  test('an ungranted action or secret is refused, naming the SecretId as given', async () => {
    const describe = await refusal(sm('App/Config').send(new DescribeSecretCommand({ SecretId: 'app/jwt' })));
    expect(describe.name).toBe('AccessDeniedException');
    expect(describe.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/app-config-role/app-config is not authorized to perform: ` +
        'secretsmanager:DescribeSecret on resource: app/jwt because no identity-based policy allows the secretsmanager:DescribeSecret action',
    );
    const other = await refusal(sm('App/Config').send(new GetSecretValueCommand({ SecretId: 'other' })));
    expect(other.name).toBe('AccessDeniedException');
  });

  test('a missing secret is ResourceNotFoundException where the policy allows it', async () => {
    const missing = await refusal(sm('App/AnySecret').send(new GetSecretValueCommand({ SecretId: 'nope' })));
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    const described = await sm('App/AnySecret').send(new DescribeSecretCommand({ SecretId: 'other' }));
    expect(described.ARN).toBe(services.secretArn('other'));
    expect(described.ARN).toMatch(
      new RegExp(`^arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:other-[A-Za-z0-9]{6}$`),
    );
  });
});

describe('SSM Parameter Store', () => {
  const ssm = () => new SSMClient(clientConfig('App/Config'));

  test('GetParameter, by name and by ARN', async () => {
    const byName = await ssm().send(new GetParameterCommand({ Name: '/app/a' }));
    expect(byName.Parameter).toMatchObject({
      Name: '/app/a',
      Value: '1',
      Type: 'String',
      Version: 1,
      ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/app/a`,
    });
    const byArn = await ssm().send(
      new GetParameterCommand({ Name: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/app/b` }),
    );
    expect(byArn.Parameter?.Value).toBe('2');
    expect(await refusal(ssm().send(new GetParameterCommand({ Name: '/app/none' })))).toBeInstanceOf(
      ParameterNotFound,
    );
  });

  test('GetParameters is refused whole when one name is not granted; unknown names are InvalidParameters', async () => {
    const ok = await ssm().send(new GetParametersCommand({ Names: ['/app/a', '/app/zz'] }));
    expect(ok.Parameters?.map((p) => p.Value)).toEqual(['1']);
    expect(ok.InvalidParameters).toEqual(['/app/zz']);
    const error = await refusal(ssm().send(new GetParametersCommand({ Names: ['/app/a', '/private/d'] })));
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain(
      `ssm:GetParameters on resource: arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/private/d because`,
    );
  });

  test('GetParametersByPath: one level or recursive, paged, checked on the path', async () => {
    const level = await ssm().send(new GetParametersByPathCommand({ Path: '/app/' }));
    expect(level.Parameters?.map((p) => p.Name)).toEqual(['/app/a', '/app/b']);
    // The path itself is the resource: `parameter/app/*` does not cover `parameter/app`.
    const bare = await refusal(ssm().send(new GetParametersByPathCommand({ Path: '/app' })));
    expect(bare.message).toContain(`on resource: arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/app because`);
    const first = await ssm().send(
      new GetParametersByPathCommand({ Path: '/app/', Recursive: true, MaxResults: 2 }),
    );
    expect(first.Parameters?.map((p) => p.Name)).toEqual(['/app/a', '/app/b']);
    const second = await ssm().send(
      new GetParametersByPathCommand({
        Path: '/app/',
        Recursive: true,
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );
    expect(second.Parameters?.map((p) => p.Name)).toEqual(['/app/nested/c']);
    expect(second.NextToken).toBeUndefined();
    const error = await refusal(ssm().send(new GetParametersByPathCommand({ Path: '/private' })));
    expect(error.message).toContain(
      `ssm:GetParametersByPath on resource: arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/private because`,
    );
  });
});

describe('@connections authorization', () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    // A stand-in management API that only authorizes: the real one calls the same function.
    server = createServer((req, res) => {
      req.resume();
      const connectionId = decodeURIComponent((req.url ?? '').split('/@connections/')[1] ?? '');
      const verdict = services.authorizeManagementRequest(req, {
        apiId: 'abc123',
        stage: 'prod',
        connectionId,
      });
      if (!verdict.allowed) {
        sendDenial(res, verdict);
        return;
      }
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
    services.registerFunction({
      id: 'App/Poster',
      functionName: 'app-poster',
      policy: [
        {
          effect: 'Allow',
          actions: ['execute-api:ManageConnections'],
          resources: [`arn:aws:execute-api:${REGION}:${ACCOUNT}:abc123/prod/POST/@connections/*`],
        },
      ],
    });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const api = (functionId: string) =>
    new ApiGatewayManagementApiClient({ ...clientConfig(functionId), endpoint });

  test('POST is allowed by a POST grant; DELETE is refused with 403 AccessDeniedException', async () => {
    await api('App/Poster').send(
      new PostToConnectionCommand({ ConnectionId: 'Xy1=', Data: Buffer.from('hi') }),
    );
    const error = await refusal(
      api('App/Poster').send(new DeleteConnectionCommand({ ConnectionId: 'Xy1=' })),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$metadata?.httpStatusCode).toBe(403);
    expect(error.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/app-poster-role/app-poster is not authorized to perform: ` +
        `execute-api:ManageConnections on resource: arn:aws:execute-api:${REGION}:${ACCOUNT}:abc123/prod/DELETE/@connections/Xy1=`,
    );
  });

  test('a function without the grant, and an unknown key, are refused', async () => {
    const denied = await refusal(
      api('App/Writer').send(new PostToConnectionCommand({ ConnectionId: 'c', Data: Buffer.from('x') })),
    );
    expect(denied.name).toBe('AccessDeniedException');
    const unknown = new ApiGatewayManagementApiClient({
      ...clientConfig('App/Writer'),
      endpoint,
      credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' },
    });
    const error = await refusal(
      unknown.send(new PostToConnectionCommand({ ConnectionId: 'c', Data: Buffer.from('x') })),
    );
    expect(error.name).toBe('UnrecognizedClientException');
    expect(error.$metadata?.httpStatusCode).toBe(403);
  });
});
