import { createHarness, flush } from './fakes';

describe('AssessmentClient connection lifecycle', () => {
  it('connects, authenticates with a token and test_id, and reports the states', async () => {
    const h = createHarness();
    const connected = h.client.connect();
    expect(h.client.state).toBe('connecting');
    await flush();
    const ws = h.last();
    expect(ws.url).toBe('ws://test.invalid/local?test_id=demo');
    ws.open();
    expect(h.client.state).toBe('authenticating');
    expect(ws.authFrames).toEqual([{ action: 'auth', token: 'token-1', test_id: 'demo' }]);
    ws.receive({
      type: 'auth_success',
      data: { user_id: 'u1', test_id: 'demo', connection_id: 'u1_demo', recovered: false },
    });
    await expect(connected).resolves.toMatchObject({ user_id: 'u1', connection_id: 'u1_demo' });
    expect(h.states).toEqual(['connecting', 'authenticating', 'open']);
    h.client.close();
    expect(h.client.state).toBe('closed');
    expect(h.timers.pending).toBe(0);
    expect(h.win.count('online')).toBe(0);
  });

  it('opens a general connection without test_id', async () => {
    const h = createHarness({ testId: undefined });
    void h.client.connect();
    await flush();
    h.last().open();
    expect(h.last().url).toBe('ws://test.invalid/local');
    expect(h.last().authFrames).toEqual([{ action: 'auth', token: 'token-1' }]);
    h.client.close();
  });

  it('reconnects after a drop with a fresh token, re-authenticates, and emits auth_success with cause reconnect', async () => {
    const h = createHarness();
    void h.client.connect();
    const first = await h.acceptNext();
    const causes: string[] = [];
    const recovered: unknown[] = [];
    h.client.on('auth_success', (data, meta) => {
      causes.push(meta.cause);
      recovered.push(data.recovered_assessment?.progress);
    });

    first.drop();
    expect(h.client.state).toBe('reconnecting');
    // random() = 0.5 and attempt 0: the first retry waits 0.5 * 1000 ms.
    await h.timers.advance(499);
    expect(h.sockets).toHaveLength(1);
    await h.timers.advance(1);
    expect(h.sockets).toHaveLength(2);

    const second = await h.acceptNext('u1', {
      recovered: true,
      recovered_assessment: {
        progress: { answered: 1, total: 3, current_question_index: 1 },
      },
    });
    expect(second.authFrames).toEqual([{ action: 'auth', token: 'token-2', test_id: 'demo' }]);
    expect(h.getToken).toHaveBeenCalledTimes(2);
    expect(causes).toEqual(['reconnect']);
    expect(recovered).toEqual([{ answered: 1, total: 3, current_question_index: 1 }]);
    expect(h.states).toEqual([
      'connecting',
      'authenticating',
      'open',
      'reconnecting',
      'authenticating',
      'open',
    ]);
    h.client.close();
  });

  it('backs off with growing delays while the server stays unreachable, and never gives up by default', async () => {
    const h = createHarness({ random: () => 0.999_999 });
    const retries: number[] = [];
    h.client.on('state', (_s, change) => {
      if (change.retryInMs !== undefined) retries.push(change.retryInMs);
    });
    void h.client.connect();
    await flush();
    for (let i = 0; i < 25; i++) {
      h.last().drop(); // connection refused
      await h.timers.advance(retries[retries.length - 1] ?? 0);
    }
    expect(retries.slice(0, 7)).toEqual([999, 1999, 3999, 7999, 15_999, 29_999, 29_999]);
    expect(Math.max(...retries)).toBeLessThan(30_000);
    expect(h.sockets).toHaveLength(26);
    expect(h.client.state).toBe('connecting'); // never authenticated yet, still trying
    h.client.close();
  });

  it('gives up after maxReconnectAttempts when one is configured', async () => {
    const h = createHarness({ maxReconnectAttempts: 2 });
    const closed = h.client.connect().catch((e: unknown) => e);
    await flush();
    for (let i = 0; i < 3; i++) {
      h.last().drop();
      await h.timers.advance(30_000);
    }
    expect(h.client.state).toBe('closed');
    await expect(closed).resolves.toMatchObject({ code: 'reconnect_attempts_exhausted' });
  });

  it('resets the backoff only after a connection stayed up for stableAfterMs', async () => {
    const h = createHarness({ random: () => 0.999_999 });
    const retries: number[] = [];
    h.client.on('state', (_s, change) => {
      if (change.retryInMs !== undefined) retries.push(change.retryInMs);
    });
    void h.client.connect();
    await h.acceptNext();
    h.last().drop();
    await h.timers.advance(1000);
    await h.acceptNext();
    await h.timers.advance(5000); // up 5 s: not stable
    h.last().drop();
    await h.timers.advance(2000);
    await h.acceptNext();
    await h.timers.advance(10_000); // up 10 s: stable
    h.last().drop();
    expect(retries).toEqual([999, 1999, 999]);
    h.client.close();
  });

  it('reconnects at once when the browser comes back online or the page becomes visible', async () => {
    const h = createHarness({ random: () => 0.999_999, backoff: { baseMs: 20_000 } });
    void h.client.connect();
    await h.acceptNext();
    h.last().drop();
    await flush();
    expect(h.sockets).toHaveLength(1);
    h.win.dispatch('online');
    await flush();
    expect(h.sockets).toHaveLength(2);
    await h.acceptNext();

    h.last().drop();
    await flush();
    h.doc.visibilityState = 'hidden';
    h.doc.dispatch('visibilitychange');
    await flush();
    expect(h.sockets).toHaveLength(2);
    h.doc.visibilityState = 'visible';
    h.doc.dispatch('visibilitychange');
    await flush();
    expect(h.sockets).toHaveLength(3);
    h.client.close();
  });

  it('gives up a socket that does not authenticate within requestTimeoutMs', async () => {
    const h = createHarness({ requestTimeoutMs: 5000 });
    void h.client.connect();
    await flush();
    h.last().open(); // the server never answers the auth
    await h.timers.advance(5000);
    expect(h.sockets[0]?.closedByClient).toBeDefined();
    await h.timers.advance(500);
    expect(h.sockets).toHaveLength(2);
    h.client.close();
  });

  it('retries with the next backoff delay when getToken fails, and reports it', async () => {
    const h = createHarness();
    let calls = 0;
    h.getToken.mockImplementation(async () => {
      calls++;
      if (calls === 1) throw new Error('token endpoint down');
      return 'good-token';
    });
    const errors: string[] = [];
    h.client.on('error', (e) => errors.push(`${e.source}:${e.code}`));
    void h.client.connect();
    await flush();
    expect(h.sockets).toHaveLength(0);
    expect(errors).toEqual(['client:token_unavailable']);
    await h.timers.advance(500);
    expect(h.sockets).toHaveLength(1);
    h.last().open();
    expect(h.last().authFrames[0]?.token).toBe('good-token');
    h.client.close();
  });
});

describe('auth errors', () => {
  it('expired_token: fetches a fresh token and retries once, at once', async () => {
    const h = createHarness();
    const authErrors: unknown[] = [];
    h.client.on('auth_error', (e) => authErrors.push(e));
    const connected = h.client.connect();
    await flush();
    h.last().open();
    h.last().receive({ type: 'auth_error', error: { code: 'expired_token', message: 'token expired' } });
    h.last().drop(1000); // the server closes after every auth_error
    await flush();
    expect(h.sockets).toHaveLength(2);
    h.last().open();
    expect(h.last().authFrames[0]?.token).toBe('token-2');
    h.last().receive({
      type: 'auth_success',
      data: { user_id: 'u1', test_id: 'demo', connection_id: 'u1_demo', recovered: false },
    });
    await expect(connected).resolves.toMatchObject({ user_id: 'u1' });
    expect(authErrors).toEqual([{ code: 'expired_token', message: 'token expired', willRetry: true }]);
    h.client.close();
  });

  it('expired_token twice in a row: stops in state closed', async () => {
    const h = createHarness();
    const connected = h.client.connect().catch((e: unknown) => e);
    for (let i = 0; i < 2; i++) {
      await flush();
      h.last().open();
      h.last().receive({ type: 'auth_error', error: { code: 'expired_token', message: 'expired' } });
    }
    await expect(connected).resolves.toMatchObject({ code: 'expired_token' });
    expect(h.client.state).toBe('closed');
    await h.timers.advance(120_000);
    expect(h.sockets).toHaveLength(2);
  });

  it('any other auth error: surfaces it, stops (closed) and rejects queued commands', async () => {
    const h = createHarness();
    const authErrors: unknown[] = [];
    h.client.on('auth_error', (e) => authErrors.push(e));
    void h.client.connect().catch(() => {});
    const info = h.client.getTestInfo();
    await flush();
    h.last().open();
    h.last().receive({ type: 'auth_error', error: { code: 'invalid_token', message: 'bad signature' } });
    await expect(info).rejects.toMatchObject({ code: 'invalid_token' });
    expect(authErrors).toEqual([{ code: 'invalid_token', message: 'bad signature', willRetry: false }]);
    expect(h.client.state).toBe('closed');
    await h.timers.advance(120_000);
    expect(h.sockets).toHaveLength(1);
    expect(h.timers.pending).toBe(0);
  });
});

describe('session_replaced by another tab', () => {
  it('stops in state replaced, emits the event, rejects commands and never reconnects', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();
    const replaced = jest.fn();
    h.client.on('session_replaced', replaced);
    const status = h.client.getStatus();
    ws.receive({ type: 'session_replaced', data: { connection_id: 'u1_demo' } });
    ws.drop(1000);
    expect(replaced).toHaveBeenCalledWith({ connection_id: 'u1_demo' }, expect.anything());
    expect(h.client.state).toBe('replaced');
    await expect(status).rejects.toMatchObject({ code: 'session_replaced' });
    await expect(h.client.getQuestion()).rejects.toMatchObject({ code: 'session_replaced' });
    h.win.dispatch('online');
    await h.timers.advance(600_000);
    expect(h.sockets).toHaveLength(1);
    expect(h.timers.pending).toBe(0);
  });
});

describe('liveness', () => {
  it('sends a heartbeat every heartbeatIntervalMs and keeps a connection that answers', async () => {
    const h = createHarness({ heartbeatIntervalMs: 60_000, pongTimeoutMs: 5000 });
    void h.client.connect();
    const ws = await h.acceptNext();
    await h.timers.advance(60_000);
    const [hb] = ws.messages('heartbeat');
    expect(hb).toEqual({ action: 'message', type: 'heartbeat', request_id: expect.any(String), data: {} });
    ws.receive({ type: 'pong', request_id: hb?.request_id, data: { server_time: 'x' } });
    await h.timers.advance(59_000);
    expect(ws.closedByClient).toBeUndefined();
    expect(h.client.state).toBe('open');
    await h.timers.advance(1000);
    expect(ws.messages('heartbeat')).toHaveLength(2);
    h.client.close();
  });

  it('treats a connection whose pongs stop as dead: closes it and reconnects', async () => {
    const h = createHarness({ heartbeatIntervalMs: 60_000, pongTimeoutMs: 5000 });
    void h.client.connect();
    const ws = await h.acceptNext();
    await h.timers.advance(60_000);
    expect(ws.messages('heartbeat')).toHaveLength(1);
    await h.timers.advance(4999);
    expect(h.client.state).toBe('open');
    await h.timers.advance(1);
    expect(ws.closedByClient).toBeDefined();
    expect(h.client.state).toBe('reconnecting');
    await h.timers.advance(1000);
    expect(h.sockets).toHaveLength(2);
    h.client.close();
  });

  it('probes the connection when the browser reports going offline', async () => {
    const h = createHarness({ pongTimeoutMs: 3000 });
    void h.client.connect();
    const ws = await h.acceptNext();
    h.win.dispatch('offline');
    expect(ws.messages('heartbeat')).toHaveLength(1);
    await h.timers.advance(3000);
    expect(h.client.state).toBe('reconnecting');
    h.client.close();
  });
});
