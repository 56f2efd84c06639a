/**
 * What foreign apps use that the project's own does not, in the template reader: nested stacks
 * (AWS::CloudFormation::Stack, CDK's NestedStack: the template found through the asset its
 * TemplateURL names, parameters from the parent's resource, outputs back through
 * `Fn::GetAtt [Nested, Outputs.X]`, one whose template is missing listed as not run); SSM-typed
 * template parameters (`valueForStringParameter`); dynamic references (`{{resolve:...}}`) in a
 * function's environment; routes that require an API key; AWS_IAM authorization on $connect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readAssembly } from '../../local/assembly/manifest';
import { describeApp, resolveDynamicReferences } from '../../local/assembly/template';
import { fileWriter } from '../support/files';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';
import { TestClient } from './helpers';

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'nested-assembly-'));
  const write = fileWriter(root);
  const templateUrl = (hash: string) => ({
    'Fn::Join': [
      '',
      ['https://s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, `/bucket/${hash}.json`],
    ],
  });
  write('manifest.json', {
    version: '55.0.0',
    artifacts: {
      'Parent.assets': { type: 'cdk:asset-manifest', properties: { file: 'Parent.assets.json' } },
      Parent: {
        type: 'aws:cloudformation:stack',
        environment: 'aws://unknown-account/unknown-region',
        properties: { templateFile: 'Parent.template.json', stackName: 'Parent' },
        dependencies: ['Parent.assets'],
      },
    },
  });
  write('Parent.assets.json', {
    version: '55.0.0',
    files: { nestedhash: { source: { path: 'ParentChild.nested.template.json', packaging: 'file' } } },
  });
  write('Parent.template.json', {
    Resources: {
      Notes: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        },
      },
      Child: {
        Type: 'AWS::CloudFormation::Stack',
        Properties: {
          TemplateURL: templateUrl('nestedhash'),
          Parameters: { NotesName: { Ref: 'Notes' }, NotesArn: { 'Fn::GetAtt': ['Notes', 'Arn'] } },
        },
      },
      Elsewhere: {
        Type: 'AWS::CloudFormation::Stack',
        Properties: { TemplateURL: templateUrl('unknownhash') },
      },
    },
    Outputs: { HandlerName: { Value: { 'Fn::GetAtt': ['Child', 'Outputs.HandlerName'] } } },
  });
  write('ParentChild.nested.template.json', {
    Parameters: { NotesName: { Type: 'String' }, NotesArn: { Type: 'String' } },
    Resources: {
      Handler: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Code: { ZipFile: 'exports.handler = async () => ({ statusCode: 200 });' },
          Role: 'arn:aws:iam::000000000000:role/handler-role',
          Environment: { Variables: { NOTES_TABLE: { Ref: 'NotesName' } } },
        },
      },
    },
    Outputs: { HandlerName: { Value: { Ref: 'Handler' } } },
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const read = () =>
  describeApp(readAssembly(root), { region: 'eu-west-1', accountId: '123456789012', workDir: root });

describe('nested stacks', () => {
  it("reads the nested template as a stack of its own, with the parent's values as parameters", () => {
    const app = read();
    const table = app.tables[0];
    const handler = app.functions.find((fn) => fn.logicalId === 'Handler');
    expect(app.stacks.map((s) => s.stackName)).toEqual([
      'Parent',
      expect.stringMatching(/^Parent-Child-[A-Z0-9]{12}$/),
    ]);
    expect(handler?.environment).toEqual({ NOTES_TABLE: table?.tableName });
    expect(handler?.functionName).toMatch(/^Parent-Child-[A-Z0-9]{12}-Handler-[A-Z0-9]{12}$/);
    expect(app.stacks[1]).toMatchObject({ region: 'eu-west-1', accountId: '123456789012' });
  });

  it("resolves the parent's Fn::GetAtt Outputs.X from the nested stack's outputs", () => {
    const app = read();
    const handler = app.functions.find((fn) => fn.logicalId === 'Handler');
    expect(app.outputs.find((o) => o.stackName === 'Parent' && o.logicalId === 'HandlerName')?.value).toBe(
      handler?.functionName,
    );
  });

  it('lists a nested stack whose template is not in the assembly', () => {
    expect(read().notRun.map((n) => `${n.logicalId}: ${n.reason}`)).toEqual([
      'Elsewhere: a nested stack whose template is not in this assembly (its resources are not run)',
    ]);
  });
});

describe('nested stacks that need each other', () => {
  it('stop the read with a TemplateError instead of recursing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nested-cycle-'));
    try {
      const write = fileWriter(dir);
      write('manifest.json', {
        version: '55.0.0',
        artifacts: {
          'P.assets': { type: 'cdk:asset-manifest', properties: { file: 'P.assets.json' } },
          P: {
            type: 'aws:cloudformation:stack',
            environment: 'aws://unknown-account/unknown-region',
            properties: { templateFile: 'P.template.json', stackName: 'P' },
            dependencies: ['P.assets'],
          },
        },
      });
      write('P.assets.json', {
        version: '55.0.0',
        files: {
          a: { source: { path: 'A.json', packaging: 'file' } },
          b: { source: { path: 'B.json', packaging: 'file' } },
        },
      });
      const nestedTemplate = {
        Parameters: { In: { Type: 'String' } },
        Outputs: { Out: { Value: { Ref: 'In' } } },
      };
      write('A.json', nestedTemplate);
      write('B.json', nestedTemplate);
      const stack = (hash: string, other: string) => ({
        Type: 'AWS::CloudFormation::Stack',
        Properties: {
          TemplateURL: `https://s3.amazonaws.com/bucket/${hash}.json`,
          Parameters: { In: { 'Fn::GetAtt': [other, 'Outputs.Out'] } },
        },
      });
      write('P.template.json', { Resources: { A: stack('a', 'B'), B: stack('b', 'A') } });
      expect(() =>
        describeApp(readAssembly(dir), { region: 'us-east-1', accountId: '1', workDir: dir }),
      ).toThrow(/nested stacks refer to each other/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SSM-typed parameters, dynamic references and API keys', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'references-assembly-'));
    const write = fileWriter(dir);
    write('manifest.json', {
      version: '55.0.0',
      artifacts: {
        Chat: {
          type: 'aws:cloudformation:stack',
          environment: 'aws://unknown-account/unknown-region',
          properties: { templateFile: 'Chat.template.json', stackName: 'Chat' },
        },
      },
    });
    write('Chat.template.json', {
      Parameters: {
        GreetingParam: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/chat/greeting' },
        ExternalParam: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/shared/external' },
      },
      Resources: {
        Greeting: {
          Type: 'AWS::SSM::Parameter',
          Properties: { Name: '/chat/greeting', Type: 'String', Value: 'hello' },
        },
        ApiKey: {
          Type: 'AWS::SecretsManager::Secret',
          Properties: { Name: 'chat-key', SecretString: '{"user":"ada","key":"s3cret","n":7}' },
        },
        Echo: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Runtime: 'nodejs22.x',
            Handler: 'index.handler',
            Code: { ZipFile: 'exports.handler = async () => ({ statusCode: 200 });' },
            Role: 'arn:aws:iam::000000000000:role/echo',
            Environment: {
              Variables: {
                GREETING: { Ref: 'GreetingParam' },
                EXTERNAL: { Ref: 'ExternalParam' },
                KEY: {
                  'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: 'ApiKey' }, ':SecretString:key::}}']],
                },
                BY_NAME: '{{resolve:secretsmanager:chat-key:SecretString:n::}}',
                WHOLE: '{{resolve:secretsmanager:chat-key}}',
                SSM: 'prefix-{{resolve:ssm:/chat/greeting}}-{{resolve:ssm:/nowhere:3}}',
              },
            },
          },
        },
        EchoLive: {
          Type: 'AWS::Lambda::Alias',
          Properties: { FunctionName: { Ref: 'Echo' }, FunctionVersion: '1', Name: 'live' },
        },
        Every: {
          Type: 'AWS::Events::Rule',
          Properties: {
            ScheduleExpression: 'rate(1 minute)',
            Targets: [{ Id: 't', Arn: { Ref: 'EchoLive' } }],
          },
        },
        Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'api', ProtocolType: 'WEBSOCKET' } },
        Integration: {
          Type: 'AWS::ApiGatewayV2::Integration',
          Properties: {
            ApiId: { Ref: 'Api' },
            IntegrationType: 'AWS_PROXY',
            IntegrationUri: {
              'Fn::Join': [
                '',
                [
                  'arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/',
                  { 'Fn::GetAtt': ['Echo', 'Arn'] },
                  '/invocations',
                ],
              ],
            },
          },
        },
        Keyed: {
          Type: 'AWS::ApiGatewayV2::Route',
          Properties: {
            ApiId: { Ref: 'Api' },
            RouteKey: 'keyed',
            ApiKeyRequired: true,
            Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integration' }]] },
          },
        },
        Connect: {
          Type: 'AWS::ApiGatewayV2::Route',
          Properties: {
            ApiId: { Ref: 'Api' },
            RouteKey: '$connect',
            AuthorizationType: 'AWS_IAM',
            Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integration' }]] },
          },
        },
      },
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("resolves SSM-typed parameters and dynamic references from the app's own parameters and secrets, and alias targets", () => {
    const app = describeApp(readAssembly(dir), {
      region: 'eu-west-1',
      accountId: '123456789012',
      workDir: dir,
    });
    expect(app.functions[0]?.environment).toEqual({
      GREETING: 'hello',
      EXTERNAL: '/shared/external',
      KEY: 's3cret',
      BY_NAME: '7',
      WHOLE: '{"user":"ada","key":"s3cret","n":7}',
      SSM: 'prefix-hello-{{resolve:ssm:/nowhere:3}}',
    });
    // A schedule targeting the function through an alias runs the function.
    expect(app.schedules[0]?.targets).toEqual([{ functionId: app.functions[0]?.id }]);
    expect(app.notRun).toEqual([]);
    expect(app.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('reads SSM parameter /shared/external, which this app does not define'),
        expect.stringContaining('SSM parameter /nowhere is not defined by this app'),
        expect.stringContaining('route keyed requires an API key, which is not checked locally'),
        expect.stringContaining(
          'AWS_IAM authorization on $connect: unsigned connection requests are refused',
        ),
      ]),
    );
    // The gateway refuses unsigned connection requests for such a route (gateway-throttle.test.ts).
    const connect = app.apis[0]?.routes.find((route) => route.routeKey === '$connect');
    expect(connect?.iamAuthorization).toBe(true);
    expect(app.apis[0]?.routes.find((route) => route.routeKey === 'keyed')?.iamAuthorization).toBeUndefined();
  });

  it('leaves a reference to an unknown secret or JSON key as written, and says so', () => {
    const warnings: string[] = [];
    const secrets = [
      { name: 'plain', arn: 'arn:aws:secretsmanager:r:1:secret:plain-abc', value: 'not json' },
    ];
    const resolveIt = (value: string) =>
      resolveDynamicReferences(value, secrets, [], (w) => warnings.push(w));
    expect(resolveIt('{{resolve:secretsmanager:arn:aws:secretsmanager:r:1:secret:plain-abc}}')).toBe(
      'not json',
    );
    expect(resolveIt('{{resolve:secretsmanager:plain:SecretString:field::}}')).toBe(
      '{{resolve:secretsmanager:plain:SecretString:field::}}',
    );
    expect(resolveIt('{{resolve:secretsmanager:other}}')).toBe('{{resolve:secretsmanager:other}}');
    expect(warnings).toEqual([
      expect.stringContaining('secret plain has no JSON key field'),
      expect.stringContaining('secret other is not defined by this app'),
    ]);
  });
});

describe('routes beyond Lambda on a running stack: one it cannot run, and HTTP_PROXY', () => {
  let dir: string;
  let stack: LocalStackProcess;
  let backend: Server;
  const received: { method?: string; url?: string; connectionId?: string; body: string }[] = [];

  beforeAll(async () => {
    backend = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      req.on('end', () => {
        received.push({
          ...(req.method ? { method: req.method } : {}),
          ...(req.url ? { url: req.url } : {}),
          ...(typeof req.headers.connectionid === 'string' ? { connectionId: req.headers.connectionid } : {}),
          body,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echoed: body }));
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', () => resolve()));
    const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    dir = mkdtempSync(path.join(tmpdir(), 'unrunnable-assembly-'));
    const write = fileWriter(dir);
    write('manifest.json', {
      version: '55.0.0',
      artifacts: {
        Mixed: {
          type: 'aws:cloudformation:stack',
          environment: 'aws://unknown-account/unknown-region',
          properties: { templateFile: 'Mixed.template.json', stackName: 'Mixed' },
        },
      },
    });
    const lambdaUri = (fn: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/',
          { 'Fn::GetAtt': [fn, 'Arn'] },
          '/invocations',
        ],
      ],
    });
    const route = (key: string, integration: string) => ({
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        ApiId: { Ref: 'Api' },
        RouteKey: key,
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integration }]] },
      },
    });
    write('Mixed.template.json', {
      Resources: {
        Node: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Runtime: 'nodejs22.x',
            Handler: 'index.handler',
            Code: { ZipFile: "exports.handler = async () => ({ statusCode: 200, body: 'from $default' });" },
            Role: 'arn:aws:iam::000000000000:role/node',
          },
        },
        Python: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Runtime: 'python3.12',
            Handler: 'index.handler',
            Code: {
              ZipFile:
                'def handler(event, context):\n    return {"statusCode": 200, "body": "from python"}\n',
            },
            Role: 'arn:aws:iam::000000000000:role/python',
          },
        },
        Api: {
          Type: 'AWS::ApiGatewayV2::Api',
          Properties: {
            Name: 'mixed',
            ProtocolType: 'WEBSOCKET',
            RouteSelectionExpression: '$request.body.action',
          },
        },
        NodeIntegration: {
          Type: 'AWS::ApiGatewayV2::Integration',
          Properties: {
            ApiId: { Ref: 'Api' },
            IntegrationType: 'AWS_PROXY',
            IntegrationUri: lambdaUri('Node'),
          },
        },
        PythonIntegration: {
          Type: 'AWS::ApiGatewayV2::Integration',
          Properties: {
            ApiId: { Ref: 'Api' },
            IntegrationType: 'AWS_PROXY',
            IntegrationUri: lambdaUri('Python'),
          },
        },
        DefaultRoute: route('$default', 'NodeIntegration'),
        DefaultResponse: {
          Type: 'AWS::ApiGatewayV2::RouteResponse',
          Properties: {
            ApiId: { Ref: 'Api' },
            RouteId: { Ref: 'DefaultRoute' },
            RouteResponseKey: '$default',
          },
        },
        PyRoute: route('py', 'PythonIntegration'),
        HookIntegration: {
          Type: 'AWS::ApiGatewayV2::Integration',
          Properties: {
            ApiId: { Ref: 'Api' },
            IntegrationType: 'HTTP_PROXY',
            IntegrationMethod: 'POST',
            IntegrationUri: `${backendUrl}/hooks/{kind}`,
            RequestParameters: {
              'integration.request.header.connectionId': 'context.connectionId',
              'integration.request.path.kind': "'chat'",
              'integration.request.querystring.room': 'route.request.body.room',
            },
          },
        },
        HookRoute: route('hook', 'HookIntegration'),
        HookResponse: {
          Type: 'AWS::ApiGatewayV2::RouteResponse',
          Properties: { ApiId: { Ref: 'Api' }, RouteId: { Ref: 'HookRoute' }, RouteResponseKey: '$default' },
        },
        Stage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Api' }, StageName: 'dev' } },
      },
    });
    stack = await startLocalStackProcess({ assembly: dir });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  it("sends an HTTP_PROXY route's message to its URL with the mapped parameters, and the answer back on a two-way route", async () => {
    const client = await TestClient.open(stack.wsUrl);
    try {
      const frame = JSON.stringify({ action: 'hook', room: 'r1', text: 'hi' });
      client.send(frame);
      expect(await client.nextJson()).toEqual({ echoed: frame });
    } finally {
      await client.dispose();
    }
    expect(received).toEqual([
      {
        method: 'POST',
        url: '/hooks/chat?room=r1',
        connectionId: expect.any(String),
        body: expect.any(String),
      },
    ]);
    expect(received[0]?.connectionId).toMatch(/=$/);
  });

  it('answers its messages as a failed integration, never through $default', async () => {
    const client = await TestClient.open(stack.wsUrl);
    try {
      client.send({ action: 'py' });
      const failed = await client.nextJson<{ message: string }>();
      expect(failed.message).toBe('Internal server error');
      client.send({ action: 'other' });
      expect(await client.next()).toBe('from $default');
    } finally {
      await client.dispose();
    }
    expect(stack.output()).toContain('this route is not run locally');
  });
});
