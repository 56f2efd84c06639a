// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not template literals.
/**
 * The assembly wing on JSON fixtures: intrinsics, the manifest (nested stage assemblies, stack
 * order, assets at the top level), and the template reader (APIs, routes, route responses,
 * authorizers, stages, functions with their policies, tables, schedules, secrets, parameters,
 * outputs, cross-stack imports, and the list of what is not run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type IntrinsicContext, NO_VALUE, resolve, TemplateError } from '../../local/assembly/intrinsics';
import { readAssembly } from '../../local/assembly/manifest';
import { describeApp } from '../../local/assembly/template';
import { fileWriter } from '../support/files';

function context(overrides: Partial<IntrinsicContext> = {}): IntrinsicContext {
  return {
    pseudo: { region: 'eu-west-1', accountId: '123456789012', stackName: 'S', stackId: 'id' },
    parameters: { Env: 'prod', Names: ['a', 'b'] },
    mappings: { Sizes: { prod: { memory: 512 } } },
    conditions: {
      IsProd: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] },
      IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] },
      Both: { 'Fn::And': [{ Condition: 'IsProd' }, { 'Fn::Or': [{ Condition: 'IsDev' }, true] }] },
    },
    imports: new Map([['SharedTable', 'shared-table']]),
    ref: (id) => `ref-of-${id}`,
    getAtt: (id, attribute) => `${id}.${attribute}`,
    ...overrides,
  };
}

describe('intrinsics', () => {
  it.each([
    ['Fn::Join', { 'Fn::Join': ['-', ['a', { Ref: 'AWS::Region' }, 'b']] }, 'a-eu-west-1-b'],
    [
      'Fn::Sub with pseudo, Ref, GetAtt and an escape',
      { 'Fn::Sub': '${AWS::AccountId}:${Env}:${Fn.Arn}:${!Literal}' },
      '123456789012:prod:Fn.Arn:${Literal}',
    ],
    [
      'Fn::Sub with its own variables',
      { 'Fn::Sub': ['x-${Name}-${Res}', { Name: { Ref: 'Env' } }] },
      'x-prod-ref-of-Res',
    ],
    ['Fn::Select of Fn::Split', { 'Fn::Select': ['1', { 'Fn::Split': [',', 'a,b,c'] }] }, 'b'],
    ['Fn::If on a condition', { 'Fn::If': ['IsProd', 'big', 'small'] }, 'big'],
    ['Fn::If on a negated condition', { 'Fn::If': ['IsDev', 'dev', 'not-dev'] }, 'not-dev'],
    ['Fn::And / Fn::Or', { 'Fn::If': ['Both', 'yes', 'no'] }, 'yes'],
    ['Fn::ImportValue', { 'Fn::ImportValue': 'SharedTable' }, 'shared-table'],
    ['Fn::FindInMap', { 'Fn::FindInMap': ['Sizes', { Ref: 'Env' }, 'memory'] }, 512],
    ['a list parameter', { 'Fn::Join': ['+', { Ref: 'Names' }] }, 'a+b'],
    [
      'AWS::URLSuffix and AWS::Partition',
      { 'Fn::Join': ['', [{ Ref: 'AWS::Partition' }, '.', { Ref: 'AWS::URLSuffix' }]] },
      'aws.amazonaws.com',
    ],
  ])('%s', (_name, input, expected) => {
    expect(resolve(input, context())).toEqual(expected);
  });

  it('drops AWS::NoValue from objects and lists', () => {
    expect(
      resolve(
        { a: { 'Fn::If': ['IsDev', 1, { Ref: 'AWS::NoValue' }] }, b: ['x', { Ref: 'AWS::NoValue' }] },
        context(),
      ),
    ).toEqual({ b: ['x'] });
    expect(resolve({ Ref: 'AWS::NoValue' }, context())).toBe(NO_VALUE);
  });

  it('refuses what it cannot evaluate with a TemplateError naming it', () => {
    expect(() => resolve({ 'Fn::ImportValue': 'Nobody' }, context())).toThrow(
      /no stack read so far exports 'Nobody'/,
    );
    expect(() => resolve({ 'Fn::Transform': {} }, context())).toThrow(TemplateError);
    expect(() => resolve({ 'Fn::Select': [5, ['a']] }, context())).toThrow(/outside a list of 1/);
    expect(() => resolve({ 'Fn::If': ['Missing', 1, 2] }, context())).toThrow(/unknown condition Missing/);
  });
});

/** A nested stage assembly: a shared stack exporting a table, and an app stack importing it. */
function writeAssembly(root: string): void {
  const write = fileWriter(root);
  write('manifest.json', {
    version: '55.0.0',
    artifacts: {
      'assembly-Dev': { type: 'cdk:cloud-assembly', properties: { directoryName: 'assembly-Dev' } },
      Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } },
    },
  });
  write('asset.abc123/index.mjs', 'export const handler = async () => ({ statusCode: 200 });\n');
  write('assembly-Dev/manifest.json', {
    version: '55.0.0',
    artifacts: {
      'DevApp.assets': { type: 'cdk:asset-manifest', properties: { file: 'DevApp.assets.json' } },
      // Listed before its dependency on purpose: the reader orders by dependencies.
      DevApp: {
        type: 'aws:cloudformation:stack',
        environment: 'aws://unknown-account/unknown-region',
        properties: { templateFile: 'DevApp.template.json', stackName: 'Dev-App' },
        dependencies: ['DevShared', 'DevApp.assets'],
      },
      DevShared: {
        type: 'aws:cloudformation:stack',
        environment: 'aws://unknown-account/unknown-region',
        properties: { templateFile: 'DevShared.template.json', stackName: 'Dev-Shared' },
      },
    },
  });
  write('assembly-Dev/DevApp.assets.json', {
    version: '55.0.0',
    files: { abc123: { source: { path: 'asset.abc123', packaging: 'zip' }, destinations: {} } },
  });
  write('assembly-Dev/DevShared.template.json', {
    Parameters: { Stage: { Type: 'String', Default: 'dev' } },
    Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] } },
    Resources: {
      Sessions: {
        Type: 'AWS::DynamoDB::GlobalTable',
        Properties: {
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'userId', AttributeType: 'S' },
            { AttributeName: 'at', AttributeType: 'N' },
          ],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'byUser',
              KeySchema: [
                { AttributeName: 'userId', KeyType: 'HASH' },
                { AttributeName: 'at', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'KEYS_ONLY' },
            },
          ],
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
          Replicas: [{ Region: 'eu-west-1' }],
        },
      },
      ProdOnlyQueue: { Type: 'AWS::SQS::Queue', Condition: 'IsProd' },
      Greeting: {
        Type: 'AWS::SSM::Parameter',
        Properties: { Name: '/dev/greeting', Type: 'String', Value: 'hello' },
      },
    },
    Outputs: {
      SessionsName: { Value: { Ref: 'Sessions' }, Export: { Name: 'Dev-SessionsName' } },
      SessionsArn: {
        Value: { 'Fn::GetAtt': ['Sessions', 'Arn'] },
        Export: { Name: { 'Fn::Sub': '${AWS::StackName}-SessionsArn' } },
      },
    },
  });
  const uri = (fn: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/',
        { 'Fn::GetAtt': [fn, 'Arn'] },
        '/invocations',
      ],
    ],
  });
  write('assembly-Dev/DevApp.template.json', {
    Resources: {
      Api: {
        Type: 'AWS::ApiGatewayV2::Api',
        Properties: {
          Name: 'chat',
          ProtocolType: 'WEBSOCKET',
          RouteSelectionExpression: '$request.body.type',
        },
      },
      HttpApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'rest', ProtocolType: 'HTTP' } },
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {},
          Policies: [
            {
              PolicyName: 'inline',
              PolicyDocument: {
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: 'dynamodb:GetItem',
                    Resource: { 'Fn::ImportValue': 'Dev-Shared-SessionsArn' },
                  },
                ],
              },
            },
          ],
          ManagedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        },
      },
      ExtraPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'extra',
          Roles: [{ Ref: 'Role' }],
          PolicyDocument: {
            Statement: [
              { Effect: 'Deny', Action: 'dynamodb:Scan', Resource: '*' },
              {
                Effect: 'Allow',
                Action: 'execute-api:ManageConnections',
                Resource: {
                  'Fn::Sub':
                    'arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/dev/*/@connections/*',
                },
              },
            ],
          },
        },
      },
      Handler: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Code: { S3Bucket: 'cdk-assets', S3Key: 'abc123.zip' },
          Handler: 'index.handler',
          Runtime: 'nodejs22.x',
          Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
          Timeout: 7,
          Environment: { Variables: { TABLE: { 'Fn::ImportValue': 'Dev-SessionsName' }, COUNT: 3 } },
        },
      },
      Inline: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          FunctionName: 'inline-authorizer',
          Code: { ZipFile: 'exports.handler = async () => ({});' },
          Handler: 'index.handler',
          Runtime: 'nodejs20.x',
          Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
        },
      },
      Python: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Code: { ZipFile: 'def handler(e, c): pass' },
          Handler: 'index.handler',
          Runtime: 'python3.12',
          Role: 'arn:aws:iam::1:role/x',
        },
      },
      Integration: {
        Type: 'AWS::ApiGatewayV2::Integration',
        Properties: { ApiId: { Ref: 'Api' }, IntegrationType: 'AWS_PROXY', IntegrationUri: uri('Handler') },
      },
      MockIntegration: {
        Type: 'AWS::ApiGatewayV2::Integration',
        // An HTTP integration (MOCK routes are answered by the gateway: test/local/gateway-mock.test.ts).
        Properties: { ApiId: { Ref: 'Api' }, IntegrationType: 'HTTP' },
      },
      PythonIntegration: {
        Type: 'AWS::ApiGatewayV2::Integration',
        Properties: { ApiId: { Ref: 'Api' }, IntegrationType: 'AWS_PROXY', IntegrationUri: uri('Python') },
      },
      Authorizer: {
        Type: 'AWS::ApiGatewayV2::Authorizer',
        Properties: {
          ApiId: { Ref: 'Api' },
          AuthorizerType: 'REQUEST',
          Name: 'auth',
          AuthorizerUri: uri('Inline'),
          IdentitySource: ['route.request.header.Auth'],
        },
      },
      ConnectRoute: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: {
          ApiId: { Ref: 'Api' },
          RouteKey: '$connect',
          AuthorizationType: 'CUSTOM',
          AuthorizerId: { Ref: 'Authorizer' },
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integration' }]] },
        },
      },
      EchoRoute: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: {
          ApiId: { Ref: 'Api' },
          RouteKey: 'echo',
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integration' }]] },
        },
      },
      EchoResponse: {
        Type: 'AWS::ApiGatewayV2::RouteResponse',
        Properties: { ApiId: { Ref: 'Api' }, RouteId: { Ref: 'EchoRoute' }, RouteResponseKey: '$default' },
      },
      MockRoute: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: {
          ApiId: { Ref: 'Api' },
          RouteKey: 'mock',
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'MockIntegration' }]] },
        },
      },
      PythonRoute: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: {
          ApiId: { Ref: 'Api' },
          RouteKey: 'py',
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'PythonIntegration' }]] },
        },
      },
      Stage: {
        Type: 'AWS::ApiGatewayV2::Stage',
        Properties: {
          ApiId: { Ref: 'Api' },
          StageName: 'dev',
          DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
          RouteSettings: { echo: { ThrottlingRateLimit: 1 } },
        },
      },
      Nightly: {
        Type: 'AWS::Events::Rule',
        Properties: {
          ScheduleExpression: 'cron(0 3 * * ? *)',
          Targets: [{ Arn: { 'Fn::GetAtt': ['Handler', 'Arn'] }, Id: 't', Input: '{"job":"nightly"}' }],
        },
      },
      OnUpload: { Type: 'AWS::Events::Rule', Properties: { EventPattern: { source: ['aws.s3'] } } },
      Secret: {
        Type: 'AWS::SecretsManager::Secret',
        Properties: {
          GenerateSecretString: {
            SecretStringTemplate: '{"user":"app"}',
            GenerateStringKey: 'password',
            PasswordLength: 20,
            ExcludePunctuation: true,
          },
        },
      },
      Logs: { Type: 'AWS::Logs::LogGroup' },
    },
  });
}

describe('manifest and template reader', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'assembly-test-'));
    writeAssembly(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const read = () =>
    describeApp(readAssembly(root), { region: 'eu-west-1', accountId: '123456789012', workDir: '/work-dir' });

  it('finds the stacks of a nested stage assembly in dependency order, with assets at the top level', () => {
    const stacks = readAssembly(root);
    expect(stacks.map((s) => s.artifactId)).toEqual(['assembly-Dev/DevShared', 'assembly-Dev/DevApp']);
    expect(stacks.map((s) => s.stackName)).toEqual(['Dev-Shared', 'Dev-App']);
    expect(stacks[1]?.assets.get('abc123')).toBe(path.join(root, 'asset.abc123'));
  });

  it('reads the WebSocket API: selection expression, routes by function, two-way route, authorizer, stage throttling', () => {
    const [api, ...others] = read().apis;
    expect(others).toEqual([]);
    expect(api).toMatchObject({
      name: 'chat',
      routeSelectionExpression: '$request.body.type',
      apiId: expect.stringMatching(/^[a-z0-9]{10}$/),
    });
    expect(api?.routes).toEqual([
      {
        routeKey: '$connect',
        logicalId: 'ConnectRoute',
        functionId: 'assembly-Dev/DevApp/Handler',
        twoWay: false,
        authorizer: {
          logicalId: 'Authorizer',
          name: 'auth',
          functionId: 'assembly-Dev/DevApp/Inline',
          identitySources: ['route.request.header.Auth'],
        },
      },
      { routeKey: 'echo', logicalId: 'EchoRoute', functionId: 'assembly-Dev/DevApp/Handler', twoWay: true },
      // Routes the local stack cannot run stay routes, so their messages do not reach $default.
      {
        routeKey: 'mock',
        logicalId: 'MockRoute',
        twoWay: false,
        notRun:
          'route mock: HTTP integrations are not run (AWS_PROXY to a Lambda function, MOCK, and HTTP_PROXY to a URL, only)',
      },
      {
        routeKey: 'py',
        logicalId: 'PythonRoute',
        twoWay: false,
        notRun:
          'route py: its Lambda function is not one the local stack runs (listed above, or outside the assembly)',
      },
    ]);
    expect(api?.stage).toEqual({
      logicalId: 'Stage',
      name: 'dev',
      defaultThrottle: { rateLimit: 10, burstLimit: 20 },
      routeThrottle: { echo: { rateLimit: 1 } },
    });
  });

  it('describes functions with resolved environment, code, timeout and every attached policy statement', () => {
    const app = read();
    const handler = app.functions.find((f) => f.logicalId === 'Handler');
    const table = app.tables[0];
    expect(handler).toMatchObject({
      handler: 'index.handler',
      runtime: 'nodejs22.x',
      timeoutSeconds: 7,
      memoryMb: 128,
      codeDir: path.join(root, 'asset.abc123'),
      environment: { TABLE: table?.tableName, COUNT: '3' },
      functionName: expect.stringMatching(/^Dev-App-Handler-[A-Z0-9]{12}$/),
      arn: expect.stringMatching(/^arn:aws:lambda:eu-west-1:123456789012:function:Dev-App-Handler-/),
      // The execution role as IAM names it: aws:PrincipalArn in conditions.
      roleArn: expect.stringMatching(/^arn:aws:iam::123456789012:role\/[^/]+$/),
    });
    const apiId = app.apis[0]?.apiId;
    expect(handler?.policy).toEqual([
      { effect: 'Allow', actions: ['dynamodb:GetItem'], resources: [table?.arn] },
      { effect: 'Deny', actions: ['dynamodb:Scan'], resources: ['*'] },
      {
        effect: 'Allow',
        actions: ['execute-api:ManageConnections'],
        resources: [`arn:aws:execute-api:eu-west-1:123456789012:${apiId}/dev/*/@connections/*`],
      },
      {
        effect: 'Allow',
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: ['*'],
      },
    ]);
    const inline = app.functions.find((f) => f.logicalId === 'Inline');
    expect(inline).toMatchObject({
      functionName: 'inline-authorizer',
      timeoutSeconds: 3,
      code: { kind: 'inline', source: 'exports.handler = async () => ({});' },
      codeDir: path.join('/work-dir', 'assembly-Dev', 'DevApp', 'Inline'),
    });
  });

  it('reads tables (GlobalTable, GSI, TTL), schedules, secrets, parameters and exported outputs', () => {
    const app = read();
    expect(app.tables).toEqual([
      expect.objectContaining({
        type: 'AWS::DynamoDB::GlobalTable',
        tableName: expect.stringMatching(/^Dev-Shared-Sessions-[A-Z0-9]{12}$/),
        keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        globalSecondaryIndexes: [
          expect.objectContaining({ IndexName: 'byUser', Projection: { ProjectionType: 'KEYS_ONLY' } }),
        ],
        ttlAttribute: 'expiresAt',
      }),
    ]);
    expect(app.schedules).toEqual([
      expect.objectContaining({
        expression: 'cron(0 3 * * ? *)',
        enabled: true,
        targets: [{ functionId: 'assembly-Dev/DevApp/Handler', input: { job: 'nightly' } }],
      }),
    ]);
    const [secret] = app.secrets;
    expect(secret?.arn).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:Secret-[A-Z0-9]{12}-[a-z0-9]{6}$/,
    );
    const value = JSON.parse(secret?.value ?? '{}') as Record<string, string>;
    expect(value.user).toBe('app');
    expect(value.password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(read().secrets[0]?.value).toBe(secret?.value); // stable across reads (and restarts)
    expect(app.parameters).toEqual([
      expect.objectContaining({ name: '/dev/greeting', value: 'hello', type: 'String' }),
    ]);
    expect(app.outputs.map((o) => o.exportName)).toEqual(['Dev-SessionsName', 'Dev-Shared-SessionsArn']);
  });

  it('lists every resource it does not run, by logical id and type, and skips resources whose condition is false', () => {
    const notRun = read().notRun.map((n) => `${n.logicalId} ${n.type}`);
    expect(notRun.sort()).toEqual(
      [
        'HttpApi AWS::ApiGatewayV2::Api',
        'Logs AWS::Logs::LogGroup',
        'MockRoute AWS::ApiGatewayV2::Route',
        'OnUpload AWS::Events::Rule',
        'Python AWS::Lambda::Function',
        'PythonRoute AWS::ApiGatewayV2::Route',
      ].sort(),
    );
    // Each says why: a route to a function that is not run names that, not its integration type.
    const reasons = Object.fromEntries(read().notRun.map((n) => [n.logicalId, n.reason]));
    expect(reasons.MockRoute).toBe(
      'route mock: HTTP integrations are not run (AWS_PROXY to a Lambda function, MOCK, and HTTP_PROXY to a URL, only)',
    );
    expect(reasons.PythonRoute).toMatch(/^route py: its Lambda function is not one the local stack runs/);
  });
});
