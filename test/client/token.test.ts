import { tokenExpiryMs } from '../../client/token';
import { createHarness, flush } from './fakes';

const b64url = (value: unknown) =>
  Buffer.from(JSON.stringify(value))
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
/** An unsigned JWT-shaped token: the client only reads `exp`, the server verifies. */
const jwt = (expSeconds: number, extra: Record<string, unknown> = {}) =>
  `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'u1', exp: expSeconds, ...extra })}.sig`;

describe('tokenExpiryMs', () => {
  it('reads exp (seconds) as epoch milliseconds, including base64url and non-ASCII payloads', () => {
    expect(tokenExpiryMs(jwt(1_700_000_000))).toBe(1_700_000_000_000);
    expect(tokenExpiryMs(jwt(1_700_000_000, { name: 'Zoë ✓ ~~~???' }))).toBe(1_700_000_000_000);
  });

  it('returns undefined for anything that is not a JWT with a numeric exp', () => {
    for (const token of [
      '',
      'opaque-token',
      'a..c',
      'a.!!!.c',
      `x.${b64url({ exp: 'soon' })}.y`,
      `x.${b64url([1])}.y`,
    ]) {
      expect(tokenExpiryMs(token)).toBeUndefined();
    }
  });
});

describe('token refresh on the open connection', () => {
  function harnessWithJwts() {
    const h = createHarness({ heartbeatIntervalMs: 24 * 3600_000, maxConnectionAgeMs: 24 * 3600_000 });
    let n = 0;
    // Each token lives 10 minutes from the (fake) time it is issued.
    h.getToken.mockImplementation(async () => jwt(Math.floor(h.timers.now / 1000) + 600, { n: ++n }));
    return h;
  }

  it('sends auth with a fresh token 60 s before exp, on the same socket, unnoticed', async () => {
    const h = harnessWithJwts();
    const causes: string[] = [];
    h.client.on('auth_success', (_d, meta) => causes.push(meta.cause));
    void h.client.connect();
    const ws = await h.acceptNext();
    await h.timers.advance(539_000);
    expect(ws.authFrames).toHaveLength(1);
    await h.timers.advance(1000);
    expect(ws.authFrames).toHaveLength(2);
    expect(ws.authFrames[1]?.token).not.toBe(ws.authFrames[0]?.token);
    expect(ws.authFrames[1]?.test_id).toBe('demo');
    ws.receive({
      type: 'auth_success',
      data: { user_id: 'u1', test_id: 'demo', connection_id: 'u1_demo', recovered: false },
    });
    expect(causes).toEqual(['connect', 'refresh']);
    expect(h.sockets).toHaveLength(1);
    expect(h.states).toEqual(['connecting', 'authenticating', 'open']);
    // And again before the new token expires.
    await h.timers.advance(540_000);
    expect(ws.authFrames).toHaveLength(3);
    h.client.close();
  });

  it('on not_authenticated (token expired): refreshes, then resends the refused command with the same request_id', async () => {
    const h = harnessWithJwts();
    void h.client.connect();
    const ws = await h.acceptNext();
    const info = h.client.getTestInfo();
    const answer = h.client.submitAnswer('q1', 'a');
    ws.receive({
      type: 'error',
      request_id: 'req-1',
      error: { code: 'not_authenticated', message: 'token expired' },
    });
    ws.receive({
      type: 'error',
      request_id: 'req-2',
      error: { code: 'not_authenticated', message: 'token expired' },
    });
    await flush();
    expect(ws.authFrames).toHaveLength(2);
    ws.receive({
      type: 'auth_success',
      data: { user_id: 'u1', test_id: 'demo', connection_id: 'u1_demo', recovered: false },
    });
    expect(ws.messages('get_test_info').map((f) => f.request_id)).toEqual(['req-1', 'req-1']);
    expect(ws.messages('submit_answer').map((f) => f.request_id)).toEqual(['req-2', 'req-2']);
    ws.receive({ type: 'test_info', request_id: 'req-1', data: { title: 'Demo' } });
    ws.receive({
      type: 'answer_feedback',
      request_id: 'req-2',
      data: { question_id: 'q1', accepted: true, duplicate: false, progress: {} },
    });
    await expect(info).resolves.toEqual({ title: 'Demo' });
    await expect(answer).resolves.toMatchObject({ question_id: 'q1' });
    expect(h.sockets).toHaveLength(1);
    h.client.close();
  });

  it('when getToken() keeps returning the refused token, reconnects (and the server has the last word)', async () => {
    const h = createHarness({ heartbeatIntervalMs: 24 * 3600_000 });
    h.getToken.mockImplementation(async () => 'the-same-token');
    void h.client.connect();
    const ws = await h.acceptNext();
    void h.client.getTestInfo().catch(() => {});
    ws.receive({
      type: 'error',
      request_id: 'req-1',
      error: { code: 'not_authenticated', message: 'expired' },
    });
    await flush();
    expect(ws.authFrames).toHaveLength(1);
    expect(ws.closedByClient).toBeDefined();
    expect(h.client.state).toBe('reconnecting');
    h.client.close();
  });
});
