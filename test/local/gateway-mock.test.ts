// biome-ignore-all lint/suspicious/noTemplateCurlyInString: API Gateway selection expressions and Velocity templates, not template literals.
/**
 * MOCK integrations (local/gateway/mock-integration.ts): request template selection and
 * passthrough, the status code from the rendered template, integration response selection by
 * `/regex/` or `$default`, response template selection, Velocity with `$input`, `$context` and
 * `$util`; and the template reader turning MOCK integrations and their integration responses into
 * routes the gateway answers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readAssembly } from '../../local/assembly/manifest';
import { describeApp } from '../../local/assembly/template';
import { connectEvent, messageEvent } from '../../local/events';
import {
  jsonPathValue,
  MockIntegrationError,
  type MockIntegrationSpec,
  runMockIntegration,
} from '../../local/gateway/mock-integration';

const facts = {
  connectionId: 'K3mBdf1ZoAMCJzQ=',
  connectedAt: 1_700_000_000_000,
  sourceIp: '10.0.0.7',
  domainName: 'abc.execute-api.us-east-1.amazonaws.com',
  stage: 'beta',
  apiId: 'abc',
  authorizer: { principalId: 'ada', level: 3 },
};

const event = (body: string, routeKey = 'ping') => messageEvent(facts, routeKey, body);

const OK = { logicalId: 'Ok', key: '/2\\d\\d/', responseTemplates: {} };

function spec(overrides: Partial<MockIntegrationSpec> = {}): MockIntegrationSpec {
  return {
    logicalId: 'Mock',
    templateSelectionExpression: '\\$default',
    requestTemplates: { $default: '{"statusCode": 200}' },
    responses: [OK],
    ...overrides,
  };
}

describe('runMockIntegration', () => {
  it('renders the selected request template and replies with the 2xx response template, $input being its output', () => {
    const result = runMockIntegration(
      spec({
        requestTemplates: { $default: '{"statusCode": 200, "id": $input.json(\'$.id\')}' },
        responses: [
          {
            logicalId: 'Ok',
            key: '/2\\d\\d/',
            templateSelectionExpression: '\\$default',
            responseTemplates: { $default: '{"got": $input.json(\'$.id\'), "route": "$context.routeKey"}' },
          },
        ],
      }),
      event('{"action":"ping","id":42}'),
    );
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ got: 42, route: 'ping' });
  });

  it('offers $context fields (authorizer values stringified), $input.path/body and $util', () => {
    const template = [
      '{"statusCode": 200,',
      '"connectionId": "$context.connectionId", "stage": "$context.stage", "eventType": "$context.eventType",',
      '"ip": "$context.identity.sourceIp", "who": "$context.authorizer.principalId", "level": "$context.authorizer.level",',
      '"escaped": "$util.escapeJavaScript($input.body)",',
      '#if($input.path(\'$.items[1].n\') > 1)"big": true#else"big": false#end,',
      '"quoted": $input.json("$[\'odd key\']"), "b64": "$util.base64Encode(\'hi\')"}',
    ].join('');
    const result = runMockIntegration(
      spec({ requestTemplates: { $default: template } }),
      event('{"items":[{"n":1},{"n":2}],"odd key":"x\\"y"}'),
    );
    expect(JSON.parse(result.body)).toEqual({
      statusCode: 200,
      connectionId: 'K3mBdf1ZoAMCJzQ=',
      stage: 'beta',
      eventType: 'MESSAGE',
      ip: '10.0.0.7',
      who: 'ada',
      level: '3',
      escaped: '{"items":[{"n":1},{"n":2}],"odd key":"x\\"y"}',
      big: true,
      quoted: 'x"y',
      b64: 'aGk=',
    });
  });

  it('selects the request template by the expression, else $default', () => {
    const templates = {
      fast: '{"statusCode": 201}',
      $default: '{"statusCode": 202}',
    };
    const run = (body: string) =>
      runMockIntegration(
        spec({ templateSelectionExpression: '${request.body.mode}', requestTemplates: templates }),
        event(body),
      ).statusCode;
    expect(run('{"mode":"fast"}')).toBe(201);
    expect(run('{"mode":"slow"}')).toBe(202);
    expect(run('not json')).toBe(202);
    // Keys inherited from Object.prototype are not templates.
    expect(run('{"mode":"constructor"}')).toBe(202);
    expect(run('{"mode":"toString"}')).toBe(202);
  });

  it('passes the body through when no template matches (WHEN_NO_MATCH), and refuses with NEVER', () => {
    const noMatch = spec({ requestTemplates: { fast: '{"statusCode": 201}' } });
    expect(runMockIntegration(noMatch, event('{"statusCode":204}')).statusCode).toBe(204);
    expect(() =>
      runMockIntegration({ ...noMatch, passthroughBehavior: 'NEVER' }, event('{"statusCode":204}')),
    ).toThrow(/PassthroughBehavior is NEVER/);
    expect(() =>
      runMockIntegration(
        { ...noMatch, passthroughBehavior: 'WHEN_NO_TEMPLATES' },
        event('{"statusCode":204}'),
      ),
    ).toThrow(MockIntegrationError);
  });

  it('fails the integration when the output has no integer statusCode', () => {
    for (const template of ['{"ok": true}', '{"statusCode": "200"}', 'not json', '{"statusCode": 200.5}']) {
      expect(() =>
        runMockIntegration(spec({ requestTemplates: { $default: template } }), event('{}')),
      ).toThrow('statusCode should be an integer which defined in request template');
    }
  });

  it('picks the integration response by /regex/ on the whole status code, else $default, else fails', () => {
    const responses = [
      { logicalId: 'NotFound', key: '/4\\d\\d/', responseTemplates: { $default: 'client error' } },
      { logicalId: 'Fallback', key: '$default', responseTemplates: { $default: 'fallback' } },
    ];
    const run = (status: number, list = responses) =>
      runMockIntegration(
        spec({ requestTemplates: { $default: `{"statusCode": ${status}}` }, responses: list }),
        event('{}'),
      ).body;
    expect(run(404)).toBe('client error');
    expect(run(200)).toBe('fallback');
    // '/4\d\d/' must match the whole code, not a part of it.
    expect(run(4040)).toBe('fallback');
    expect(() => run(500, responses.slice(0, 1))).toThrow(/no match for output mapping/);
  });

  it('selects the response template by the status code or a request field, and sends the output as is without one', () => {
    const byStatus = {
      logicalId: 'Any',
      key: '$default',
      templateSelectionExpression: '${integration.response.statuscode}',
      responseTemplates: { '201': 'created', $default: 'other' },
    };
    const run = (status: number, response: MockIntegrationSpec['responses'][number], body = '{}') =>
      runMockIntegration(
        spec({ requestTemplates: { $default: `{"statusCode": ${status}}` }, responses: [response] }),
        event(body),
      ).body;
    expect(run(201, byStatus)).toBe('created');
    expect(run(202, byStatus)).toBe('other');
    const byField = {
      ...byStatus,
      templateSelectionExpression: '${request.body.lang}',
      responseTemplates: { fr: 'salut' },
    };
    expect(run(200, byField, '{"lang":"fr"}')).toBe('salut');
    // No template for 'de' and no $default: the mock's output passes through.
    expect(run(200, byField, '{"lang":"de"}')).toBe('{"statusCode": 200}');
  });

  it('gives $connect templates the query string and headers through $input.params', () => {
    const connect = connectEvent(facts, {
      rawHeaders: ['Host', 'abc.example', 'X-Client', 'probe'],
      url: '/beta?deny=yes&who=ada',
    });
    const template =
      '#if($input.params().querystring.deny == "yes"){"statusCode": 403}#else{"statusCode": 200}#end';
    const anyStatus = [{ logicalId: 'Any', key: '$default', responseTemplates: {} }];
    const decided = runMockIntegration(
      spec({ requestTemplates: { $default: template }, responses: anyStatus }),
      connect,
    );
    expect(decided.statusCode).toBe(403);
    const echo =
      '{"statusCode": 200, "who": "$input.params(\'who\')", "client": "$input.params(\'x-client\')", "none": "$input.params(\'nope\')"}';
    expect(
      JSON.parse(runMockIntegration(spec({ requestTemplates: { $default: echo } }), connect).body),
    ).toEqual({
      statusCode: 200,
      who: 'ada',
      client: 'probe',
      none: '',
    });
  });

  it('reports a template Velocity cannot parse as an integration failure', () => {
    expect(() => runMockIntegration(spec({ requestTemplates: { $default: '#if($x' } }), event('{}'))).toThrow(
      /mapping template failed/,
    );
  });
});

describe('jsonPathValue', () => {
  const document = { a: { b: [10, { c: 'deep' }] }, 'odd key': true };
  it.each([
    ['$', document],
    ['$.a.b[0]', 10],
    ['$.a.b[1].c', 'deep'],
    ["$['odd key']", true],
    ['$.missing.x', undefined],
    ['$.a.b.c', undefined],
    ['a.b', undefined],
  ])('%s', (expression, expected) => {
    expect(jsonPathValue(document, expression)).toEqual(expected);
  });
});

describe('template reader: MOCK routes', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('describes a MOCK route with its templates and integration responses, and lists the rest', () => {
    root = mkdtempSync(path.join(tmpdir(), 'mock-assembly-'));
    const template = {
      Resources: {
        Api: {
          Type: 'AWS::ApiGatewayV2::Api',
          Properties: {
            Name: 'api',
            ProtocolType: 'WEBSOCKET',
            RouteSelectionExpression: '${request.body.action}',
          },
        },
        PingIntegration: {
          Type: 'AWS::ApiGatewayV2::Integration',
          Properties: {
            ApiId: { Ref: 'Api' },
            IntegrationType: 'MOCK',
            RequestTemplates: { $default: '{"statusCode": 200}' },
            TemplateSelectionExpression: '\\$default',
            PassthroughBehavior: 'NEVER',
          },
        },
        PingRoute: {
          Type: 'AWS::ApiGatewayV2::Route',
          Properties: {
            ApiId: { Ref: 'Api' },
            RouteKey: 'ping',
            Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'PingIntegration' }]] },
          },
        },
        PingRouteResponse: {
          Type: 'AWS::ApiGatewayV2::RouteResponse',
          Properties: { ApiId: { Ref: 'Api' }, RouteId: { Ref: 'PingRoute' }, RouteResponseKey: '$default' },
        },
        PingOk: {
          Type: 'AWS::ApiGatewayV2::IntegrationResponse',
          Properties: {
            ApiId: { Ref: 'Api' },
            IntegrationId: { Ref: 'PingIntegration' },
            IntegrationResponseKey: '/200/',
            ResponseTemplates: { $default: 'pong' },
          },
        },
        HttpIntegration: {
          Type: 'AWS::ApiGatewayV2::Integration',
          Properties: {
            ApiId: { Ref: 'Api' },
            IntegrationType: 'HTTP',
            IntegrationUri: 'https://example.test',
          },
        },
        HttpResponse: {
          Type: 'AWS::ApiGatewayV2::IntegrationResponse',
          Properties: {
            ApiId: { Ref: 'Api' },
            IntegrationId: { Ref: 'HttpIntegration' },
            IntegrationResponseKey: '$default',
          },
        },
        HttpRoute: {
          Type: 'AWS::ApiGatewayV2::Route',
          Properties: {
            ApiId: { Ref: 'Api' },
            RouteKey: 'fetch',
            Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'HttpIntegration' }]] },
          },
        },
      },
    };
    mkdirSync(root, { recursive: true });
    writeFileSync(path.join(root, 'Mock.template.json'), JSON.stringify(template));
    writeFileSync(
      path.join(root, 'manifest.json'),
      JSON.stringify({
        version: '55.0.0',
        artifacts: {
          Mock: {
            type: 'aws:cloudformation:stack',
            environment: 'aws://unknown-account/unknown-region',
            properties: { templateFile: 'Mock.template.json', stackName: 'Mock' },
          },
        },
      }),
    );
    const app = describeApp(readAssembly(root), {
      region: 'us-east-1',
      accountId: '000000000000',
      workDir: root,
    });
    expect(app.apis[0]?.routeSelectionExpression).toBe('${request.body.action}');
    expect(app.apis[0]?.routes).toEqual([
      {
        routeKey: 'ping',
        logicalId: 'PingRoute',
        twoWay: true,
        mock: {
          logicalId: 'PingIntegration',
          requestTemplates: { $default: '{"statusCode": 200}' },
          templateSelectionExpression: '\\$default',
          passthroughBehavior: 'NEVER',
          responses: [{ logicalId: 'PingOk', key: '/200/', responseTemplates: { $default: 'pong' } }],
        },
      },
      // Kept as a route (its messages must not reach $default), failing as a broken integration.
      {
        routeKey: 'fetch',
        logicalId: 'HttpRoute',
        twoWay: false,
        notRun:
          'route fetch: HTTP integrations are not run (AWS_PROXY to a Lambda function, MOCK, and HTTP_PROXY to a URL, only)',
      },
    ]);
    expect(app.notRun.map((n) => `${n.logicalId}: ${n.reason}`).sort()).toEqual([
      'HttpResponse: applied to MOCK integrations only (an AWS_PROXY result is returned as is, as on AWS; other integrations are not run)',
      'HttpRoute: route fetch: HTTP integrations are not run (AWS_PROXY to a Lambda function, MOCK, and HTTP_PROXY to a URL, only)',
    ]);
  });
});
