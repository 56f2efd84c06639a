import { loadConfig } from '../../lambdas/config';
import { parseTestDefinition } from '../../lambdas/core/test-definition';
import demo from '../../test-definitions/demo.json';

const base = {
  CONNECTIONS_TABLE: 'c',
  ASSESSMENTS_TABLE: 'a',
  TESTS_TABLE: 't',
  CALLBACK_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
  JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt',
};

describe('configuration', () => {
  it('applies defaults', () => {
    expect(loadConfig(base)).toMatchObject({
      jwt: { kind: 'hs256', secretArn: base.JWT_SECRET_ARN, userIdClaim: 'sub' },
      allowedOrigins: [],
      authDeadlineSeconds: 30,
    });
  });

  it('parses origins, issuer, audience and the deadline', () => {
    const config = loadConfig({
      ...base,
      ALLOWED_ORIGINS: 'https://a.example.com, https://b.example.com',
      JWT_ISSUER: 'iss',
      JWT_AUDIENCE: 'aud',
      AUTH_DEADLINE_SECONDS: '45',
    });
    expect(config.allowedOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(config.jwt).toMatchObject({ issuer: 'iss', audience: 'aud' });
    expect(config.authDeadlineSeconds).toBe(45);
  });

  it.each([
    ['a missing table', { ...base, TESTS_TABLE: undefined }, /TESTS_TABLE/],
    ['a bad callback URL', { ...base, CALLBACK_URL: 'not a url' }, /CALLBACK_URL/],
    ['two JWT sources', { ...base, JWT_SECRET: 'x' }, /exactly one/],
    ['no JWT source', { ...base, JWT_SECRET_ARN: undefined }, /exactly one/],
    ['a bad deadline', { ...base, AUTH_DEADLINE_SECONDS: 'soon' }, /AUTH_DEADLINE_SECONDS/],
  ])('refuses %s with a clear error', (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('test definitions', () => {
  it('accepts the demo test', () => {
    const test = parseTestDefinition(demo);
    expect(test.test_id).toBe('demo');
    expect(test.duration_seconds).toBe(600);
    expect(test.questions.length).toBeGreaterThanOrEqual(3);
  });

  const mutate = (change: (t: Record<string, unknown>) => void) => {
    const copy = structuredClone(demo) as unknown as Record<string, unknown>;
    change(copy);
    return copy;
  };

  it.each<[string, (t: Record<string, unknown>) => void, RegExp]>([
    ['a bad test_id', (t) => (t.test_id = 'general'), /test_id/],
    ['a missing title', (t) => delete t.title, /title/],
    ['a negative duration', (t) => (t.duration_seconds = -1), /duration_seconds/],
    ['no questions', (t) => (t.questions = []), /questions/],
    [
      'a correct option not among the options',
      (t) => Object.assign((t.questions as object[])[0] ?? {}, { correct_option: 'nope' }),
      /questions\.0/,
    ],
    [
      'duplicate question ids',
      (t) => Object.assign((t.questions as object[])[1] ?? {}, { question_id: 'q1' }),
      /unique/,
    ],
    ['an unknown field', (t) => (t.extra = true), /extra/],
  ])('refuses %s, naming the field', (_name, change, field) => {
    expect(() => parseTestDefinition(mutate(change), 'demo.json')).toThrow(field);
  });
});
