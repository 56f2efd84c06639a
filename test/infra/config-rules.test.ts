/**
 * The JWT settings and the auth deadline are checked by one set of rules (lambdas/config-rules.ts):
 * the stack's context, the construct's props and the runtime's environment refuse the same bad
 * value with the same words, each under its own name for the setting.
 */
import { App, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { type AppConfig, ENV, environmentOf, loadConfig } from '../../lambdas/config';
import {
  AssessmentWebSocketBackend,
  type AssessmentWebSocketBackendProps,
} from '../../lib/assessment-websocket-backend';
import { CONTEXT_KEYS, readStackContext } from '../../lib/stack-context';
import { NO_BUNDLING } from './synth';

const RUNTIME_BASE = {
  [ENV.connectionsTable]: 'c',
  [ENV.assessmentsTable]: 'a',
  [ENV.testsTable]: 't',
  [ENV.callbackUrl]: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
};
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf';

function messageOf(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the value to be refused');
}

/** The words that follow `name` in a list of problems, up to the end of that problem. */
function ruleText(message: string, name: string): string | undefined {
  const at = message.indexOf(`${name} `);
  if (at < 0) return undefined;
  return message.slice(at + name.length + 1).split(/;|\n/)[0];
}

const inContext = (key: string, value: unknown) =>
  messageOf(() => readStackContext(new App({ context: { [key]: value } }).node));
const atRuntime = (env: Record<string, string>) =>
  messageOf(() => loadConfig({ ...RUNTIME_BASE, [ENV.jwtSecretArn]: SECRET_ARN, ...env }));

const build = (props: AssessmentWebSocketBackendProps) =>
  new AssessmentWebSocketBackend(new Stack(new App({ context: NO_BUNDLING }), 'S'), 'B', props);
const inConstruct = (props: AssessmentWebSocketBackendProps) => messageOf(() => build(props));
const envOf = (backend: AssessmentWebSocketBackend) => {
  const fn = Object.values(backend.functions)[0];
  if (!fn) throw new Error('no function');
  const cfn = Stack.of(backend).resolve((fn.node.defaultChild as CfnFunction).environment) as {
    variables: Record<string, unknown>;
  };
  return cfn.variables;
};

type Case = {
  setting: string;
  value: string;
  expected: string;
  context: string;
  construct: [AssessmentWebSocketBackendProps, string];
  runtime: [Record<string, string>, string];
};

const CASES: Case[] = [
  {
    setting: 'an http JWKS URL',
    value: 'http://id.example.com/jwks.json',
    expected: "must be an https URL, got 'http://id.example.com/jwks.json'",
    context: CONTEXT_KEYS.jwtJwksUrl,
    construct: [{ jwt: { kind: 'jwks', jwksUrl: 'http://id.example.com/jwks.json' } }, 'jwt.jwksUrl'],
    runtime: [{ [ENV.jwtSecretArn]: '', [ENV.jwksUrl]: 'http://id.example.com/jwks.json' }, ENV.jwksUrl],
  },
  {
    setting: 'a JWKS URL that is a path',
    value: 'jwks.json',
    expected: "must be an https URL, got 'jwks.json'",
    context: CONTEXT_KEYS.jwtJwksUrl,
    construct: [{ jwt: { kind: 'jwks', jwksUrl: 'jwks.json' } }, 'jwt.jwksUrl'],
    runtime: [{ [ENV.jwtSecretArn]: '', [ENV.jwksUrl]: 'jwks.json' }, ENV.jwksUrl],
  },
  {
    setting: 'an issuer with a colon that is no URI',
    value: 'https://id example.com',
    expected: "contains ':' so must be a URI, got 'https://id example.com'",
    context: CONTEXT_KEYS.jwtIssuer,
    construct: [{ jwt: { kind: 'hs256', issuer: 'https://id example.com' } }, 'jwt.issuer'],
    runtime: [{ [ENV.jwtIssuer]: 'https://id example.com' }, ENV.jwtIssuer],
  },
  {
    setting: 'an audience with a colon that is no URI',
    value: 'quiz app:v1',
    expected: "contains ':' so must be a URI, got 'quiz app:v1'",
    context: CONTEXT_KEYS.jwtAudience,
    construct: [{ jwt: { kind: 'hs256', audience: 'quiz app:v1' } }, 'jwt.audience'],
    runtime: [{ [ENV.jwtAudience]: 'quiz app:v1' }, ENV.jwtAudience],
  },
  {
    setting: 'a user id claim that is the expiry',
    value: 'exp',
    expected: "must name the claim that identifies the user, not 'exp' (one of iss, aud, exp, nbf, iat, jti)",
    context: CONTEXT_KEYS.userIdClaim,
    construct: [{ jwt: { kind: 'hs256', userIdClaim: 'exp' } }, 'jwt.userIdClaim'],
    runtime: [{ [ENV.userIdClaim]: 'exp' }, ENV.userIdClaim],
  },
  {
    setting: 'a fractional auth deadline',
    value: '2.5',
    expected: 'must be a whole number of seconds from 1 to 7200, got "2.5"',
    context: CONTEXT_KEYS.authDeadlineSeconds,
    // The construct takes a number, so its message shows the number.
    construct: [{ authDeadlineSeconds: 2.5 }, 'authDeadlineSeconds'],
    runtime: [{ [ENV.authDeadlineSeconds]: '2.5' }, ENV.authDeadlineSeconds],
  },
];

describe('the context, the construct and the runtime refuse the same values with the same words', () => {
  test.each(CASES)('$setting', ({ value, expected, context, construct, runtime }) => {
    const fromContext = ruleText(inContext(context, value), context);
    const fromConstruct = ruleText(inConstruct(construct[0]), construct[1]);
    const fromRuntime = ruleText(atRuntime(runtime[0]), runtime[1]);
    expect(fromContext).toBe(expected);
    expect(fromRuntime).toBe(expected);
    expect(fromConstruct).toBe(expected.replace('"2.5"', '2.5'));
  });

  test('blank values: the construct and the runtime refuse a blank user id claim; the context reads it as unset', () => {
    expect(ruleText(inConstruct({ jwt: { kind: 'hs256', userIdClaim: ' ' } }), 'jwt.userIdClaim')).toBe(
      'must not be empty',
    );
    expect(ruleText(atRuntime({ [ENV.userIdClaim]: ' ' }), ENV.userIdClaim)).toBe('must not be empty');
    expect(readStackContext(new App({ context: { userIdClaim: ' ' } }).node).jwt).toEqual({ kind: 'hs256' });
  });

  test('a blank issuer or audience means not checked in every layer', () => {
    expect(readStackContext(new App({ context: { jwtIssuer: ' ', jwtAudience: '' } }).node).jwt).toEqual({
      kind: 'hs256',
    });
    expect(
      loadConfig({ ...RUNTIME_BASE, [ENV.jwtSecretArn]: SECRET_ARN, [ENV.jwtIssuer]: ' ' }).jwt,
    ).not.toHaveProperty('issuer');
    const env = envOf(build({ jwt: { kind: 'hs256', issuer: ' ' }, jwtAudience: '' }));
    expect(env).not.toHaveProperty(ENV.jwtIssuer);
    expect(env).not.toHaveProperty(ENV.jwtAudience);
  });

  test('a short HS256 secret is refused at cold start, before any token is verified', () => {
    expect(ruleText(atRuntime({ [ENV.jwtSecretArn]: '', [ENV.jwtSecret]: 'short' }), ENV.jwtSecret)).toBe(
      'must be at least 16 characters, got 5',
    );
  });
});

describe("the construct's earlier top-level claim props", () => {
  test('still reach the functions, and are checked under their own names', () => {
    const env = envOf(
      build({ jwtIssuer: 'https://id.example.com/', jwtAudience: 'quiz', userIdClaim: 'uid' }),
    );
    expect(env).toMatchObject({
      [ENV.jwtIssuer]: 'https://id.example.com/',
      [ENV.jwtAudience]: 'quiz',
      [ENV.userIdClaim]: 'uid',
    });
    expect(ruleText(inConstruct({ userIdClaim: 'iat' }), 'userIdClaim')).toMatch(/^must name the claim/);
  });

  test('the same claim set two ways, differently, is refused', () => {
    expect(inConstruct({ jwtIssuer: 'a', jwt: { kind: 'hs256', issuer: 'b' } })).toContain(
      'set jwt.issuer or the deprecated jwtIssuer, not both',
    );
    const env = envOf(build({ jwtAudience: 'quiz', jwt: { kind: 'hs256', audience: 'quiz' } }));
    expect(env[ENV.jwtAudience]).toBe('quiz');
  });
});

describe('environmentOf', () => {
  test.each<[string, Parameters<typeof environmentOf>[0]]>([
    [
      'HS256 by value, every optional setting',
      {
        tables: { connections: 'c', assessments: 'a', tests: 't' },
        callbackUrl: 'http://127.0.0.1:3001/local',
        jwt: {
          kind: 'hs256',
          secret: 'a-secret-of-enough-length',
          issuer: 'iss',
          audience: 'aud',
          userIdClaim: 'uid',
        },
        allowedOrigins: ['https://a.example.com', 'http://localhost:5173'],
        authDeadlineSeconds: 45,
        deploymentName: 'Stack',
        dynamodbEndpoint: 'http://127.0.0.1:4567',
        aiService: { url: 'https://ai.example.com/v1', timeoutMs: 1500 },
        proctor: { claim: 'roles', role: 'staff', testsClaim: 'tests' },
      },
    ],
    [
      'JWKS, defaults elsewhere',
      {
        tables: { connections: 'c', assessments: 'a', tests: 't' },
        callbackUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
        jwt: { kind: 'jwks', jwksUrl: 'https://id.example.com/jwks.json' },
      },
    ],
    [
      'HS256 by ARN',
      {
        tables: { connections: 'c', assessments: 'a', tests: 't' },
        callbackUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
        jwt: { kind: 'hs256', secretArn: SECRET_ARN },
      },
    ],
  ])('loadConfig reads back what it writes: %s', (_label, settings) => {
    const config: AppConfig = loadConfig(environmentOf(settings));
    expect(config.tables).toEqual(settings.tables);
    expect(config.callbackUrl).toBe(settings.callbackUrl);
    expect(config.jwt).toEqual({ userIdClaim: 'sub', ...settings.jwt });
    expect(config.allowedOrigins).toEqual(settings.allowedOrigins ?? []);
    expect(config.authDeadlineSeconds).toBe(settings.authDeadlineSeconds ?? 30);
    expect(config.deploymentName).toBe(settings.deploymentName);
    expect(config.dynamodbEndpoint).toBe(settings.dynamodbEndpoint);
    expect(config.aiService).toEqual(
      settings.aiService ? { timeoutMs: 2000, ...settings.aiService } : undefined,
    );
    expect(config.proctor).toEqual({
      claim: 'role',
      role: 'proctor',
      testsClaim: 'proctor_tests',
      ...settings.proctor,
    });
  });
});
