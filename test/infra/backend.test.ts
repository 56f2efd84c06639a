import { Match } from 'aws-cdk-lib/assertions';
import { TABLE_DEFINITIONS, type TableName } from '../../lambdas/adapters/dynamodb/table-definitions';
import { METRICS_NAMESPACE } from '../../lambdas/adapters/powertools-telemetry';
import { ENV } from '../../lambdas/config';
import { ROUTES, SCHEDULED_JOBS } from '../../lambdas/routes';
import { ACCESS_LOG_FORMAT } from '../../lib/access-log-format';
import { logicalId, type Synthesized, synthesize } from './synth';

let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

const fnId = (name: string): string => {
  const fn = s.stack.backend.functions[name];
  if (!fn) throw new Error(`no function ${name}`);
  return logicalId(fn);
};
const secret = () => {
  const value = s.stack.backend.jwtSecret;
  if (!value) throw new Error('no JWT secret');
  return value;
};
const resourcesOf = (type: string) => s.template.findResources(type);

describe('WebSocket API', () => {
  test('routes by $request.body.action', () => {
    s.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  test('has exactly the five routes of ROUTES', () => {
    const keys = Object.values(resourcesOf('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual(['$connect', '$default', '$disconnect', 'auth', 'message']);
    expect(ROUTES.map((r) => r.routeKey).sort()).toEqual(keys);
  });

  test.each(ROUTES.map((r) => [r.routeKey, r.twoWay] as const))(
    'route %s is two-way exactly when ROUTES says so (%s)',
    (routeKey, twoWay) => {
      interface RouteProps {
        RouteKey?: string;
        RouteId?: { Ref?: string };
        RouteResponseKey?: string;
        RouteResponseSelectionExpression?: string;
      }
      const resources = s.template.toJSON().Resources as Record<
        string,
        { Type: string; Properties: RouteProps }
      >;
      const [routeId, route] = Object.entries(resources).find(
        ([, r]) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === routeKey,
      ) ?? [undefined, undefined];
      expect(route).toBeDefined();
      const responses = Object.values(resources).filter(
        (r) => r.Type === 'AWS::ApiGatewayV2::RouteResponse' && r.Properties.RouteId?.Ref === routeId,
      );
      if (twoWay) {
        // The handler's answer is sent only when the route has a $default route response.
        expect(route?.Properties.RouteResponseSelectionExpression).toBe('$default');
        expect(responses.map((r) => r.Properties.RouteResponseKey)).toEqual(['$default']);
      } else {
        expect(route?.Properties.RouteResponseSelectionExpression).toBeUndefined();
        expect(responses).toHaveLength(0);
      }
    },
  );

  test.each(ROUTES.map((r) => [r.routeKey, r.name]))(
    'route %s invokes its own function (%s)',
    (routeKey, name) => {
      const routes = Object.values(resourcesOf('AWS::ApiGatewayV2::Route')).filter(
        (r) => r.Properties.RouteKey === routeKey,
      );
      expect(routes).toHaveLength(1);
      const target = routes[0]?.Properties.Target['Fn::Join'][1];
      expect(target[0]).toBe('integrations/');
      const integrationId = target[1].Ref as string;
      const integration = s.template.toJSON().Resources[integrationId];
      expect(integration.Type).toBe('AWS::ApiGatewayV2::Integration');
      expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
      expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain(
        JSON.stringify({ 'Fn::GetAtt': [fnId(name), 'Arn'] }),
      );
      // API Gateway may invoke the function for this route only.
      s.template.hasResourceProperties('AWS::Lambda::Permission', {
        FunctionName: { 'Fn::GetAtt': [fnId(name), 'Arn'] },
        Principal: 'apigateway.amazonaws.com',
        SourceArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`/*${routeKey}`])] }),
      });
    },
  );

  test('stage: prod, auto-deployed, throttled', () => {
    s.template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 1000, ThrottlingRateLimit: 500 },
    });
  });

  test('access logs go to a log group, in a format without request data', () => {
    const stage = Object.values(resourcesOf('AWS::ApiGatewayV2::Stage'))[0];
    const settings = stage?.Properties.AccessLogSettings;
    const logGroupId = settings.DestinationArn['Fn::GetAtt'][0];
    expect(s.template.toJSON().Resources[logGroupId].Type).toBe('AWS::Logs::LogGroup');
    expect(s.template.toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(30);
    const format: string = settings.Format;
    expect(format).toBe(ACCESS_LOG_FORMAT);
    for (const forbidden of ['querystring', 'token', 'authorization', 'requestoverride', 'header', 'body']) {
      expect(format.toLowerCase()).not.toContain(forbidden);
    }
    for (const field of [
      'requestId',
      'connectionId',
      'routeKey',
      'eventType',
      'status',
      'identity.sourceIp',
    ]) {
      expect(format).toContain(`$context.${field}`);
    }
    expect(() => JSON.parse(format)).not.toThrow();
  });

  test('execution logging and data tracing stay off (frames carry tokens)', () => {
    const stage = Object.values(resourcesOf('AWS::ApiGatewayV2::Stage'))[0];
    expect(stage?.Properties.DefaultRouteSettings.DataTraceEnabled).not.toBe(true);
    expect(stage?.Properties.DefaultRouteSettings.LoggingLevel).toBeUndefined();
  });
});

describe('DynamoDB tables', () => {
  const ids = (): Record<TableName, string> => ({
    connections: logicalId(s.stack.backend.tables.connections),
    assessments: logicalId(s.stack.backend.tables.assessments),
    tests: logicalId(s.stack.backend.tables.tests),
  });

  test('three on-demand tables', () => {
    s.template.resourceCountIs('AWS::DynamoDB::Table', 3);
    for (const table of Object.values(resourcesOf('AWS::DynamoDB::Table'))) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    }
  });

  test.each(Object.keys(TABLE_DEFINITIONS) as TableName[])('%s table follows TABLE_DEFINITIONS', (name) => {
    const def = TABLE_DEFINITIONS[name];
    const table = s.template.toJSON().Resources[ids()[name]];
    expect(table.Properties.KeySchema).toEqual([{ AttributeName: def.partitionKey.name, KeyType: 'HASH' }]);
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: def.partitionKey.name, AttributeType: def.partitionKey.type },
      ]),
    );
    if (def.ttlAttribute) {
      expect(table.Properties.TimeToLiveSpecification).toEqual({
        AttributeName: def.ttlAttribute,
        Enabled: true,
      });
    } else {
      expect(table.Properties.TimeToLiveSpecification).toBeUndefined();
    }
    const gsis = table.Properties.GlobalSecondaryIndexes ?? [];
    expect(gsis).toHaveLength(def.indexes.length);
    for (const index of def.indexes) {
      expect(gsis).toContainEqual({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: index.projection },
      });
      expect(table.Properties.AttributeDefinitions).toEqual(
        expect.arrayContaining([
          { AttributeName: index.partitionKey.name, AttributeType: index.partitionKey.type },
          { AttributeName: index.sortKey.name, AttributeType: index.sortKey.type },
        ]),
      );
    }
  });

  test('connections expire on ttl', () => {
    const table = s.template.toJSON().Resources[ids().connections];
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
  });

  test('assessments: point-in-time recovery, retained on stack deletion and replacement', () => {
    const table = s.template.toJSON().Resources[ids().assessments];
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  test('tests: point-in-time recovery, retained', () => {
    const table = s.template.toJSON().Resources[ids().tests];
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.DeletionPolicy).toBe('Retain');
  });
});

describe('Lambda functions', () => {
  const specs = [...ROUTES, ...SCHEDULED_JOBS];

  test('one function per route and scheduled job', () => {
    s.template.resourceCountIs('AWS::Lambda::Function', specs.length);
    expect(Object.keys(s.stack.backend.functions).sort()).toEqual(specs.map((x) => x.name).sort());
  });

  test.each(specs.map((x) => [x.name]))('%s: nodejs24.x on arm64, log group with retention', (name) => {
    const fn = s.template.toJSON().Resources[fnId(name)];
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.MemorySize).toBe(256);
    const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
    expect(s.template.toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(30);
  });

  test.each(ROUTES.map((r) => [r.name]))('%s: times out before the 29 s integration timeout', (name) => {
    const fn = s.template.toJSON().Resources[fnId(name)];
    expect(fn.Properties.Timeout).toBeLessThan(29);
  });

  test.each(specs.map((x) => [x.name]))('%s: environment carries the whole configuration', (name) => {
    const env = s.template.toJSON().Resources[fnId(name)].Properties.Environment.Variables;
    const t = s.stack.backend.tables;
    expect(env[ENV.connectionsTable]).toEqual({ Ref: logicalId(t.connections) });
    expect(env[ENV.assessmentsTable]).toEqual({ Ref: logicalId(t.assessments) });
    expect(env[ENV.testsTable]).toEqual({ Ref: logicalId(t.tests) });
    expect(env[ENV.callbackUrl]).toEqual(s.stack.resolve(s.stack.backend.stage.callbackUrl));
    expect(JSON.stringify(env[ENV.callbackUrl])).toMatch(/^\{"Fn::Join":\["",\["https:\/\//);
    expect(env[ENV.jwtSecretArn]).toEqual({ Ref: logicalId(secret()) });
    expect(env[ENV.userIdClaim]).toBe('sub');
    expect(env[ENV.authDeadlineSeconds]).toBe('30');
    expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe(METRICS_NAMESPACE);
    expect(env.POWERTOOLS_SERVICE_NAME).toBe('assessment-websocket');
    // Never a secret in plain text, never local-only settings.
    expect(env).not.toHaveProperty(ENV.jwtSecret);
    expect(env).not.toHaveProperty(ENV.jwksUrl);
    expect(env).not.toHaveProperty(ENV.dynamodbEndpoint);
    expect(env).not.toHaveProperty(ENV.allowedOrigins);
  });
});

describe('scheduled jobs', () => {
  test.each(SCHEDULED_JOBS.map((j) => [j.name, j.everyMinutes]))(
    '%s runs every %i minute(s) on EventBridge, without retries',
    (name, everyMinutes) => {
      const expression = everyMinutes === 1 ? 'rate(1 minute)' : `rate(${everyMinutes} minutes)`;
      s.template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: expression,
        State: 'ENABLED',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId(name), 'Arn'] } })],
      });
      s.template.hasResourceProperties('AWS::Lambda::Permission', {
        FunctionName: { 'Fn::GetAtt': [fnId(name), 'Arn'] },
        Principal: 'events.amazonaws.com',
      });
      s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId(name) },
        MaximumRetryAttempts: 0,
      });
      const fn = s.template.toJSON().Resources[fnId(name)];
      expect(fn.Properties.Timeout).toBeLessThan(everyMinutes * 60);
    },
  );
});

describe('outputs', () => {
  test.each([
    'WebSocketUrl',
    'CallbackUrl',
    'ConnectionsTableName',
    'AssessmentsTableName',
    'TestsTableName',
  ])('%s', (name) => {
    s.template.hasOutput(name, {});
  });

  test('WebSocketUrl is wss://, CallbackUrl https://', () => {
    const outputs = s.template.toJSON().Outputs;
    expect(JSON.stringify(outputs.WebSocketUrl.Value)).toContain('"wss://"');
    expect(JSON.stringify(outputs.CallbackUrl.Value)).toContain('"https://"');
  });

  test('the generated secret: 64 characters, ARN in an output', () => {
    s.template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    s.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
    const resource = s.template.toJSON().Resources[logicalId(secret())];
    // A generated value only: no template carries a known secret.
    expect(resource.Properties.SecretString).toBeUndefined();
    s.template.hasOutput('JwtSecretArn', { Value: { Ref: logicalId(secret()) } });
  });
});
