/**
 * Pieces of the gateway emulation that the assembly brings in: EventBridge schedule expressions,
 * the $connect REQUEST authorizer's decision, and route selection expressions.
 */
import type { WebSocketEvent } from '../../local/events';
import { policyAllows, runConnectAuthorizer } from '../../local/gateway/authorizer';
import { selectRoute } from '../../local/router';
import type { InvokeResult } from '../../local/runtime/contract';
import { parseSchedule, ScheduleExpressionError } from '../../local/schedule-expression';

describe('schedule expressions', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(5 minutes)', 300_000],
    ['rate(2 hours)', 7_200_000],
    ['rate(1 day)', 86_400_000],
  ])('%s runs every %d ms', (expression, intervalMs) => {
    expect(parseSchedule(expression)).toEqual({ kind: 'rate', intervalMs });
  });

  it.each([
    ['cron(0 3 * * ? *)', '2026-12-01T01:45:10Z', '2026-12-01T03:00:00.000Z'],
    ['cron(*/15 * * * ? *)', '2026-12-01T01:45:10Z', '2026-12-01T02:00:00.000Z'],
    ['cron(30 9 ? * MON-FRI *)', '2026-12-05T10:00:00Z', '2026-12-07T09:30:00.000Z'], // Saturday -> Monday
    ['cron(0 0 1 JAN ? 2027)', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['cron(0 12 ? * 1 *)', '2026-12-01T00:00:00Z', '2026-12-06T12:00:00.000Z'], // 1 = Sunday
  ])('%s after %s fires at %s', (expression, after, expected) => {
    const schedule = parseSchedule(expression);
    if (schedule.kind !== 'cron') throw new Error('expected a cron schedule');
    expect(new Date(schedule.next(Date.parse(after))).toISOString()).toBe(expected);
  });

  it.each(['rate(0 minutes)', 'rate(1 fortnight)', 'cron(0 3 * *)', 'cron(0 3 L * ? *)', 'every minute'])(
    'refuses %s',
    (expression) => {
      expect(() => parseSchedule(expression)).toThrow(ScheduleExpressionError);
    },
  );
});

describe('$connect REQUEST authorizer', () => {
  const methodArn = 'arn:aws:execute-api:us-east-1:000000000000:abc/dev/$connect';
  const event = (query: Record<string, string> | undefined, headers: Record<string, string> = {}) =>
    ({
      requestContext: { routeKey: '$connect', eventType: 'CONNECT', connectionId: 'c1' },
      isBase64Encoded: false,
      headers,
      ...(query ? { queryStringParameters: query } : {}),
    }) as unknown as WebSocketEvent;
  const allow = (effect: 'Allow' | 'Deny', resource = methodArn) => ({
    principalId: 'ada',
    policyDocument: { Statement: [{ Effect: effect, Action: 'execute-api:Invoke', Resource: resource }] },
    context: { userId: 'ada', admin: false, level: 3 } as Record<string, unknown>,
  });
  const returning = (result: InvokeResult) => {
    const calls: unknown[] = [];
    return {
      calls,
      authorizer: {
        name: 'auth',
        identitySources: ['route.request.querystring.token', 'route.request.header.X-Client'],
        invoke: async (e: unknown) => {
          calls.push(e);
          return result;
        },
      },
    };
  };
  const ok = (value: unknown): InvokeResult => ({ ok: true, value, durationMs: 1, coldStart: false });

  it('answers 401 without calling the function when an identity source is missing', async () => {
    const { calls, authorizer } = returning(ok(allow('Allow')));
    expect(await runConnectAuthorizer(authorizer, event({ token: 't' }), methodArn)).toMatchObject({
      allowed: false,
      status: 401,
    });
    expect(
      await runConnectAuthorizer(authorizer, event(undefined, { 'x-client': 'web' }), methodArn),
    ).toMatchObject({ allowed: false, status: 401 });
    expect(calls).toEqual([]);
  });

  it('allows on an Allow policy and passes context (stringified, as API Gateway does) and principalId on', async () => {
    const { calls, authorizer } = returning(
      ok(allow('Allow', 'arn:aws:execute-api:us-east-1:000000000000:abc/*')),
    );
    const decision = await runConnectAuthorizer(
      authorizer,
      event({ token: 't' }, { 'X-Client': 'web' }),
      methodArn,
    );
    expect(decision).toEqual({
      allowed: true,
      authorizer: { userId: 'ada', admin: 'false', level: '3', principalId: 'ada' },
    });
    expect(calls[0]).toMatchObject({ type: 'REQUEST', methodArn, queryStringParameters: { token: 't' } });
  });

  it('answers 500 when a context value is an object or an array (AuthorizerConfigurationException)', async () => {
    const present = event({ token: 't' }, { 'X-Client': 'web' });
    for (const value of [{ id: 3 }, ['admin']]) {
      const result = allow('Allow');
      result.context = { userId: 'ada', user: value };
      const decision = await runConnectAuthorizer(returning(ok(result)).authorizer, present, methodArn);
      expect(decision).toMatchObject({ allowed: false, status: 500 });
      expect(decision.allowed === false && decision.reason).toMatch(/^context\.user is an (object|array)/);
    }
  });

  it('answers 403 on Deny, 401 on an Unauthorized failure and 500 on other failures', async () => {
    const present = event({ token: 't' }, { 'X-Client': 'web' });
    expect(
      await runConnectAuthorizer(returning(ok(allow('Deny'))).authorizer, present, methodArn),
    ).toMatchObject({ status: 403 });
    const failed = (errorMessage: string): InvokeResult => ({
      ok: false,
      kind: 'error',
      errorType: 'Error',
      errorMessage,
      durationMs: 1,
      coldStart: false,
    });
    expect(
      await runConnectAuthorizer(returning(failed('Unauthorized')).authorizer, present, methodArn),
    ).toMatchObject({ status: 401 });
    expect(
      await runConnectAuthorizer(returning(failed('boom')).authorizer, present, methodArn),
    ).toMatchObject({ status: 500 });
    expect(
      await runConnectAuthorizer(returning(ok({ principalId: 'x' })).authorizer, present, methodArn),
    ).toMatchObject({ status: 500 });
  });

  it('an explicit Deny beats an Allow; a policy for another resource allows nothing', () => {
    const both = {
      Statement: [allow('Allow').policyDocument.Statement[0], allow('Deny', '*').policyDocument.Statement[0]],
    };
    expect(policyAllows(both, methodArn)).toBe(false);
    expect(
      policyAllows(
        allow('Allow', 'arn:aws:execute-api:us-east-1:000000000000:other/*').policyDocument,
        methodArn,
      ),
    ).toBe(false);
  });
});

describe('route selection expressions', () => {
  const keys = new Set(['join', 'leave']);
  it.each([
    ['$request.body.action', '{"action":"join"}', 'join'],
    ['$request.body.type', '{"type":"leave","action":"join"}', 'leave'],
    ['$request.body.meta.kind', '{"meta":{"kind":"join"}}', 'join'],
    ['$request.body.meta.kind', '{"meta":"join"}', '$default'],
    ['$request.body.action', 'not json', '$default'],
    ['join', '{"action":"leave"}', 'join'],
  ])('%s selects %s as %s', (expression, body, expected) => {
    expect(selectRoute(body, keys, expression)).toBe(expected);
  });
});
