import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { ENV } from '../../lambdas/config';
import { ROUTES, SCHEDULED_JOBS } from '../../lambdas/routes';
import {
  AssessmentWebSocketBackend,
  type AssessmentWebSocketBackendProps,
} from '../../lib/assessment-websocket-backend';
import { iamPolicies, NO_BUNDLING, type Synthesized, synthesize } from './synth';

const SPECS = [...ROUTES, ...SCHEDULED_JOBS];
const envOf = (template: Template): Record<string, unknown>[] =>
  Object.values(template.findResources('AWS::Lambda::Function')).map(
    (fn) => fn.Properties.Environment.Variables,
  );
const secretActions = (template: Template) =>
  iamPolicies(template)
    .flatMap((p) => p.statements)
    .filter((st) => [st.Action].flat().some((a) => a.startsWith('secretsmanager:')));

describe('JWKS mode', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({
      jwtJwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
      jwtIssuer: 'https://issuer.example.com/',
      jwtAudience: 'quiz',
      userIdClaim: 'uid',
      allowedOrigins: 'https://quiz.example.com, https://admin.example.com',
      authDeadlineSeconds: '45',
      stageName: 'v1',
    });
  });

  test('creates no secret, grants no secret access and has no secret output', () => {
    s.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(secretActions(s.template)).toEqual([]);
    expect(Object.keys(s.template.toJSON().Outputs)).not.toContain('JwtSecretArn');
    expect(s.stack.backend.jwtSecret).toBeUndefined();
  });

  test('every function gets JWKS_URL and the claim settings, and no secret variables', () => {
    const envs = envOf(s.template);
    expect(envs).toHaveLength(SPECS.length);
    for (const env of envs) {
      expect(env[ENV.jwksUrl]).toBe('https://issuer.example.com/.well-known/jwks.json');
      expect(env[ENV.jwtIssuer]).toBe('https://issuer.example.com/');
      expect(env[ENV.jwtAudience]).toBe('quiz');
      expect(env[ENV.userIdClaim]).toBe('uid');
      expect(env[ENV.allowedOrigins]).toBe('https://quiz.example.com,https://admin.example.com');
      expect(env[ENV.authDeadlineSeconds]).toBe('45');
      expect(env).not.toHaveProperty(ENV.jwtSecretArn);
      expect(env).not.toHaveProperty(ENV.jwtSecret);
    }
  });

  test('the stage name reaches the stage, the URLs and the grants', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'v1' });
    expect(JSON.stringify(s.template.toJSON().Outputs.WebSocketUrl.Value)).toContain('/v1');
    const api = iamPolicies(s.template)
      .flatMap((p) => p.statements)
      .filter((st) => [st.Action].flat().includes('execute-api:ManageConnections'));
    expect(api.length).toBeGreaterThan(0);
    for (const st of api) expect(JSON.stringify(st.Resource)).toContain('/v1/*/@connections/*');
  });
});

describe('HS256 with an existing secret', () => {
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:assessment/jwt-AbCdEf';
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({ jwtSecretArn: arn });
  });

  test('imports the secret instead of creating one', () => {
    s.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(Object.keys(s.template.toJSON().Outputs)).not.toContain('JwtSecretArn');
  });

  test('functions get its ARN, never the secret itself', () => {
    for (const env of envOf(s.template)) {
      expect(env[ENV.jwtSecretArn]).toBe(arn);
      expect(env).not.toHaveProperty(ENV.jwtSecret);
      expect(env).not.toHaveProperty(ENV.jwksUrl);
    }
  });

  test('only the functions that verify tokens may read it, and only it', () => {
    const readers = SPECS.filter((x) => x.readsJwtSecret).length;
    const statements = secretActions(s.template);
    expect(statements).toHaveLength(readers);
    for (const st of statements) expect(st.Resource).toBe(arn);
  });
});

describe('HS256 with a generated secret', () => {
  test('never puts JWT_SECRET into any function', () => {
    const s = synthesize();
    for (const env of envOf(s.template)) {
      expect(env).not.toHaveProperty(ENV.jwtSecret);
      expect(env).toHaveProperty(ENV.jwtSecretArn);
    }
  });
});

describe('construct props validation', () => {
  const build = (props: AssessmentWebSocketBackendProps) => {
    const app = new App({ context: NO_BUNDLING });
    return new AssessmentWebSocketBackend(new Stack(app, 'S'), 'B', props);
  };

  test.each<[string, AssessmentWebSocketBackendProps, RegExp]>([
    [
      'plain http JWKS URL',
      { jwt: { kind: 'jwks', jwksUrl: 'http://x.example.com/jwks' } },
      /jwksUrl must be an https URL/,
    ],
    ['fractional deadline', { authDeadlineSeconds: 1.5 }, /authDeadlineSeconds/],
    ['zero deadline', { authDeadlineSeconds: 0 }, /authDeadlineSeconds/],
    ['origin with a path', { allowedOrigins: ['https://quiz.example.com/app'] }, /allowedOrigins/],
    ['stage name with a space', { stageName: 'my stage' }, /stageName/],
    ['empty user id claim', { userIdClaim: ' ' }, /userIdClaim/],
  ])('rejects %s', (_label, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
