import { createHarness, flush } from './fakes';

const AGE = 60 * 60_000;

describe('proactive reconnect before the 2 h connection limit (handover)', () => {
  it('opens and authenticates a new connection, then closes the old one, without the app noticing', async () => {
    const h = createHarness({ maxConnectionAgeMs: AGE, heartbeatIntervalMs: 10 * AGE });
    void h.client.connect();
    const old = await h.acceptNext();
    const replacedEvents = jest.fn();
    h.client.on('session_replaced', replacedEvents);
    const causes: string[] = [];
    h.client.on('auth_success', (_d, meta) => causes.push(meta.cause));
    const statesBefore = h.states.length;

    await h.timers.advance(AGE - 1);
    expect(h.sockets).toHaveLength(1);
    await h.timers.advance(1);
    await flush();
    expect(h.sockets).toHaveLength(2);
    const fresh = h.last();
    fresh.open();
    expect(fresh.authFrames).toEqual([{ action: 'auth', token: 'token-2', test_id: 'demo' }]);

    // The server tells the OLDER connection it was replaced as soon as the newer one authenticates.
    old.receive({ type: 'session_replaced', data: { connection_id: 'u1_demo' } });
    fresh.receive({
      type: 'auth_success',
      data: { user_id: 'u1', test_id: 'demo', connection_id: 'u1_demo', recovered: false },
    });
    await flush();
    expect(replacedEvents).not.toHaveBeenCalled();
    // The old connection drains until the server closes it; that close is not a drop.
    expect(old.closedByClient).toBeUndefined();
    old.drop(1000);
    await h.timers.advance(60_000);
    expect(h.sockets).toHaveLength(2);
    expect(h.client.state).toBe('open');
    expect(h.states.slice(statesBefore)).toEqual([]); // no visible state change
    expect(causes).toEqual(['handover']);

    // Commands now go over the new connection.
    void h.client.getTestInfo().catch(() => {});
    expect(fresh.messages('get_test_info')).toHaveLength(1);
    expect(old.messages('get_test_info')).toHaveLength(0);
    h.client.close();
  });

  it('delivers replies still in flight on the old connection, and closes it itself if the server does not', async () => {
    const h = createHarness({
      maxConnectionAgeMs: AGE,
      heartbeatIntervalMs: 10 * AGE,
      requestTimeoutMs: 5000,
    });
    void h.client.connect();
    const old = await h.acceptNext();
    await h.timers.advance(AGE - 1);
    const info = h.client.getTestInfo();
    const [sent] = old.messages('get_test_info');
    await h.timers.advance(1);
    await flush();
    const fresh = h.last();
    fresh.open();
    fresh.receive({
      type: 'auth_success',
      data: { user_id: 'u1', test_id: 'demo', connection_id: 'u1_demo', recovered: false },
    });
    expect(fresh.messages('get_test_info')).toEqual([sent]); // resent on the new connection too
    old.receive({ type: 'test_info', request_id: sent?.request_id, data: { title: 'from the old one' } });
    await expect(info).resolves.toEqual({ title: 'from the old one' });
    expect(old.closedByClient).toBeUndefined();
    await h.timers.advance(5000);
    expect(old.closedByClient).toEqual({ code: 1000, reason: 'replaced by a newer connection' });
    expect(h.client.state).toBe('open');
    expect(h.sockets).toHaveLength(2);
    h.client.close();
  });

  it('also works when the server closes the old connection before the new auth_success arrives', async () => {
    const h = createHarness({ maxConnectionAgeMs: AGE, heartbeatIntervalMs: 10 * AGE });
    void h.client.connect();
    const old = await h.acceptNext();
    await h.timers.advance(AGE);
    await flush();
    const fresh = h.last();
    fresh.open();
    old.receive({ type: 'session_replaced', data: { connection_id: 'u1_demo' } });
    old.drop(1000);
    expect(h.client.state).toBe('open');
    const info = h.client.getTestInfo(); // queued until the new connection is ready
    fresh.receive({
      type: 'auth_success',
      data: { user_id: 'u1', test_id: 'demo', connection_id: 'u1_demo', recovered: false },
    });
    expect(fresh.messages('get_test_info')).toHaveLength(1);
    fresh.receive({
      type: 'test_info',
      request_id: fresh.messages('get_test_info')[0]?.request_id,
      data: {},
    });
    await expect(info).resolves.toEqual({});
    expect(h.states).toEqual(['connecting', 'authenticating', 'open']);
    h.client.close();
  });

  it('resends an answer in flight on the old connection over the new one, with the same request_id', async () => {
    const h = createHarness({ maxConnectionAgeMs: AGE, heartbeatIntervalMs: 10 * AGE });
    void h.client.connect();
    const old = await h.acceptNext();
    await h.timers.advance(AGE - 10);
    const answer = h.client.submitAnswer('q1', 'a');
    await h.timers.advance(10);
    await flush();
    const fresh = h.last();
    fresh.open();
    old.receive({ type: 'session_replaced', data: { connection_id: 'u1_demo' } });
    fresh.receive({
      type: 'auth_success',
      data: { user_id: 'u1', test_id: 'demo', connection_id: 'u1_demo', recovered: false },
    });
    expect(fresh.messages('submit_answer')).toEqual(old.messages('submit_answer'));
    fresh.receive({
      type: 'answer_feedback',
      request_id: 'req-1',
      data: { question_id: 'q1', accepted: true, duplicate: true, progress: {} },
    });
    await expect(answer).resolves.toMatchObject({ duplicate: true });
    h.client.close();
  });

  it('keeps the old connection and retries later when the new one fails to authenticate', async () => {
    const h = createHarness({ maxConnectionAgeMs: AGE, heartbeatIntervalMs: 10 * AGE });
    void h.client.connect();
    const old = await h.acceptNext();
    await h.timers.advance(AGE);
    await flush();
    const fresh = h.last();
    fresh.open();
    fresh.receive({ type: 'auth_error', error: { code: 'invalid_token', message: 'nope' } });
    expect(h.client.state).toBe('open');
    expect(old.closedByClient).toBeUndefined();
    await h.timers.advance(60_000); // retry after capMs * (1 + random)
    await flush();
    expect(h.sockets).toHaveLength(3);
    h.client.close();
  });

  it('a session_replaced on the current connection outside a handover is another tab', async () => {
    const h = createHarness({ maxConnectionAgeMs: AGE, heartbeatIntervalMs: 10 * AGE });
    void h.client.connect();
    const ws = await h.acceptNext();
    await h.timers.advance(AGE / 2);
    ws.receive({ type: 'session_replaced', data: { connection_id: 'u1_demo' } });
    expect(h.client.state).toBe('replaced');
  });
});
