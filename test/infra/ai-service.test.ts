/**
 * The AI service's configuration in the template: AI_SERVICE_URL (and its timeout) reach the
 * functions only when `aiServiceUrl` is configured, and bad values stop synth.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { ENV } from '../../lambdas/config';
import { AssessmentWebSocketBackend } from '../../lib/assessment-websocket-backend';
import { ContextError, readStackContext } from '../../lib/stack-context';
import { NO_BUNDLING, type Synthesized, synthesize } from './synth';

const environments = (s: Synthesized): Record<string, Record<string, unknown>> =>
  Object.fromEntries(
    Object.entries(s.template.findResources('AWS::Lambda::Function')).map(([id, fn]) => [
      id,
      fn.Properties.Environment.Variables as Record<string, unknown>,
    ]),
  );

test('without aiServiceUrl no function has the AI variables', () => {
  const envs = Object.values(environments(synthesize()));
  expect(envs.length).toBeGreaterThan(0);
  for (const env of envs) {
    expect(env).not.toHaveProperty(ENV.aiServiceUrl);
    expect(env).not.toHaveProperty(ENV.aiServiceTimeoutMs);
  }
});

test('with aiServiceUrl every function gets it, and the timeout when set', () => {
  const envs = Object.values(
    environments(synthesize({ aiServiceUrl: 'https://ai.example.com/v1', aiServiceTimeoutMs: '1500' })),
  );
  expect(envs.length).toBeGreaterThan(0);
  for (const env of envs) {
    expect(env[ENV.aiServiceUrl]).toBe('https://ai.example.com/v1');
    expect(env[ENV.aiServiceTimeoutMs]).toBe('1500');
  }
});

describe('context', () => {
  const read = (context: Record<string, unknown>) => readStackContext(new App({ context }).node);

  test('reads the URL and the timeout', () => {
    expect(read({ aiServiceUrl: ' https://ai.example.com ' }).aiService).toEqual({
      url: 'https://ai.example.com',
    });
    expect(read({ aiServiceUrl: 'https://ai.example.com', aiServiceTimeoutMs: 800 }).aiService).toEqual({
      url: 'https://ai.example.com',
      timeoutMs: 800,
    });
    expect(read({ aiServiceUrl: '' }).aiService).toBeUndefined();
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['http URL', { aiServiceUrl: 'http://ai.example.com' }, /aiServiceUrl must be an https URL/],
    ['not a URL', { aiServiceUrl: 'ai.example.com' }, /aiServiceUrl must be an https URL/],
    [
      'timeout without URL',
      { aiServiceTimeoutMs: '1000' },
      /aiServiceTimeoutMs is set but aiServiceUrl is not/,
    ],
    [
      'timeout too long',
      { aiServiceUrl: 'https://ai.example.com', aiServiceTimeoutMs: '9000' },
      /aiServiceTimeoutMs must be a whole number of milliseconds from 100 to 5000/,
    ],
    [
      'timeout not a number',
      { aiServiceUrl: 'https://ai.example.com', aiServiceTimeoutMs: 'fast' },
      /aiServiceTimeoutMs/,
    ],
  ])('%s stops synth', (_label, context, message) => {
    expect(() => read(context)).toThrow(ContextError);
    expect(() => read(context)).toThrow(message);
  });
});

test('the construct refuses a bad aiService prop', () => {
  const stack = () => new Stack(new App({ context: NO_BUNDLING }), 'S');
  expect(
    () => new AssessmentWebSocketBackend(stack(), 'B', { aiService: { url: 'http://ai.example.com' } }),
  ).toThrow(/aiService.url must be an https URL/);
  expect(
    () =>
      new AssessmentWebSocketBackend(stack(), 'B', {
        aiService: { url: 'https://ai.example.com', timeout: Duration.seconds(30) },
      }),
  ).toThrow(/aiService.timeout must be from 100 ms to 5000 ms/);
});
