import { App } from 'aws-cdk-lib';
import { buildApp } from '../../lib/app';
import { ContextError, readStackContext } from '../../lib/stack-context';
import { NO_BUNDLING } from './synth';

const read = (context: Record<string, unknown>) => readStackContext(new App({ context }).node);
const build = (context: Record<string, unknown>) =>
  buildApp(new App({ context: { ...NO_BUNDLING, ...context } }));

describe('readStackContext', () => {
  test('defaults: HS256 with a generated secret and nothing else set', () => {
    expect(read({})).toEqual({ jwt: { kind: 'hs256' } });
  });

  test('reads strings from -c as well as JSON values from cdk.json', () => {
    expect(
      read({
        authDeadlineSeconds: '45',
        allowedOrigins: 'https://a.example.com, https://b.example.com:8443',
      }),
    ).toEqual({
      jwt: { kind: 'hs256' },
      authDeadlineSeconds: 45,
      allowedOrigins: ['https://a.example.com', 'https://b.example.com:8443'],
    });
    expect(read({ authDeadlineSeconds: 60, allowedOrigins: ['http://localhost:5173'] })).toEqual({
      jwt: { kind: 'hs256' },
      authDeadlineSeconds: 60,
      allowedOrigins: ['http://localhost:5173'],
    });
  });

  test('an empty value means not set', () => {
    expect(read({ jwtIssuer: '', jwtJwksUrl: ' ', allowedOrigins: '' })).toEqual({
      jwt: { kind: 'hs256' },
      allowedOrigins: [],
    });
  });

  test('JWKS and secret ARN modes', () => {
    expect(read({ jwtJwksUrl: 'https://id.example.com/jwks.json' }).jwt).toEqual({
      kind: 'jwks',
      jwksUrl: 'https://id.example.com/jwks.json',
    });
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-key-a1B2c3';
    expect(read({ jwtSecretArn: arn }).jwt).toEqual({ kind: 'hs256', secretArn: arn });
  });
});

describe('bad context stops synth with a message naming the key', () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    [
      'non-numeric deadline',
      { authDeadlineSeconds: 'soon' },
      /authDeadlineSeconds must be a whole number of seconds from 1 to 7200, got "soon"/,
    ],
    ['fractional deadline', { authDeadlineSeconds: '2.5' }, /authDeadlineSeconds/],
    ['deadline above 2 h', { authDeadlineSeconds: 7201 }, /authDeadlineSeconds/],
    ['negative deadline', { authDeadlineSeconds: '-1' }, /authDeadlineSeconds/],
    ['http JWKS URL', { jwtJwksUrl: 'http://id.example.com/jwks.json' }, /jwtJwksUrl must be an https URL/],
    ['JWKS URL that is not a URL', { jwtJwksUrl: 'jwks.json' }, /jwtJwksUrl must be an https URL/],
    [
      'both JWKS URL and secret ARN',
      {
        jwtJwksUrl: 'https://id.example.com/jwks.json',
        jwtSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-key-a1B2c3',
      },
      /set at most one of jwtJwksUrl .* and jwtSecretArn/,
    ],
    ['secret name instead of ARN', { jwtSecretArn: 'jwt-key' }, /jwtSecretArn must be the complete ARN/],
    [
      'partial secret ARN (no suffix)',
      { jwtSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-key' },
      /jwtSecretArn must be the complete ARN/,
    ],
    [
      'origin with a trailing slash',
      { allowedOrigins: 'https://quiz.example.com/' },
      /allowedOrigins: 'https:\/\/quiz.example.com\/' is not an origin/,
    ],
    ['origin without scheme', { allowedOrigins: 'quiz.example.com' }, /allowedOrigins/],
    [
      'origins as a number',
      { allowedOrigins: 42 },
      /allowedOrigins must be a comma-separated string or an array/,
    ],
    ['stage name with a slash', { stageName: 'prod/v1' }, /stageName must match/],
    ['issuer as a number', { jwtIssuer: 7 }, /jwtIssuer must be a string/],
  ])('%s', (_label, context, message) => {
    expect(() => build(context)).toThrow(ContextError);
    expect(() => build(context)).toThrow(message);
  });

  test('lists every problem at once', () => {
    expect(() => build({ authDeadlineSeconds: 'x', stageName: 'a b' })).toThrow(
      /authDeadlineSeconds[\s\S]*stageName|stageName[\s\S]*authDeadlineSeconds/,
    );
  });
});
