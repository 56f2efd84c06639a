/**
 * Every route through the real handlers, against dynalite and the local @connections server.
 */
import { DynamoConnectionRegistry } from '../../lambdas/adapters/dynamodb/connection-registry';
import { Backend, QUIZ, sweepEvent } from '../support/backend';

let backend: Backend;
beforeAll(async () => {
  backend = await Backend.start({ env: { ALLOWED_ORIGINS: 'https://quiz.example.com' } });
});
afterAll(() => backend.stop());

const types = (frames: { type: string }[]) => frames.map((f) => f.type);

describe('$connect', () => {
  it('admits a connection without test_id and one with a valid test_id', async () => {
    expect((await backend.connect()).connectStatus).toBe(200);
    expect((await backend.connect('?test_id=quiz-1')).connectStatus).toBe(200);
  });

  it.each(['general', 'GENERAL', 'has_underscore', 'a'.repeat(65), '', 'sp%20ace'])(
    'refuses test_id %j with 400',
    async (testId) => {
      expect((await backend.connect(`?test_id=${testId}`)).connectStatus).toBe(400);
    },
  );

  it('refuses a disallowed Origin with 403, and allows listed or absent origins', async () => {
    expect((await backend.connect('', { Origin: 'https://evil.example.com' })).connectStatus).toBe(403);
    expect((await backend.connect('', { Origin: 'https://quiz.example.com' })).connectStatus).toBe(200);
    expect((await backend.connect('', { 'User-Agent': 'cli' })).connectStatus).toBe(200);
  });
});

describe('auth', () => {
  it('authenticates an assessment connection and names its key', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    const frames = await conn.auth(await backend.token('u-1'), { request_id: 'r-auth' });
    expect(frames).toEqual([
      {
        type: 'auth_success',
        data: { user_id: 'u-1', test_id: 'quiz-1', connection_id: 'u-1_quiz-1', recovered: false },
        request_id: 'r-auth',
        timestamp: expect.any(String),
      },
    ]);
  });

  it('makes a general connection an assessment connection when auth carries test_id', async () => {
    const conn = await backend.connect();
    const [success] = await conn.auth(await backend.token('u-2'), { test_id: 'quiz-1' });
    expect(success?.data).toMatchObject({ test_id: 'quiz-1', connection_id: 'u-2_quiz-1' });
  });

  it('keys a general connection <user>_general', async () => {
    const conn = await backend.connect();
    const [success] = await conn.auth(await backend.token('u-3'));
    expect(success?.data).toMatchObject({ test_id: null, connection_id: 'u-3_general' });
  });

  it.each([
    ['missing_token', {}],
    ['missing_token', { token: '' }],
    ['missing_token', { token: null }],
    ['invalid_token', { token: 'garbage' }],
    // A token that is there but not a string is invalid, not missing.
    ['invalid_token', { token: 12345 }],
    ['invalid_token', { token: { jwt: 'x' } }],
    ['invalid_token', { token: ['x'] }],
    ['invalid_test_id', { token: 'x', test_id: 'bad_id' }],
    ['invalid_test_id', { token: 'x', test_id: true }],
    ['invalid_test_id', { token: 'x', test_id: 5 }],
  ])('answers auth_error %s and closes the connection', async (code, fields) => {
    const conn = await backend.connect('?test_id=quiz-1');
    await conn.send({ action: 'auth', ...fields });
    expect(conn.take()).toMatchObject([{ type: 'auth_error', error: { code } }]);
    expect(conn.closed).toBe(true);
  });

  it('checks the token before the test: test_mismatch needs a valid token', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    expect(await conn.auth(await backend.token('u-4b'), { test_id: 'other' })).toMatchObject([
      { type: 'auth_error', error: { code: 'test_mismatch' } },
    ]);
    expect(conn.closed).toBe(true);
  });

  it('answers expired_token for an expired token', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    const token = await backend.token('u-4', { expiresInSeconds: -120 });
    expect(await conn.auth(token)).toMatchObject([{ type: 'auth_error', error: { code: 'expired_token' } }]);
    expect(conn.closed).toBe(true);
  });

  it('refreshes on a second auth by the same user and refuses another user with forbidden', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    await conn.auth(await backend.token('u-5'));
    expect(types(await conn.auth(await backend.token('u-5')))).toEqual(['auth_success']);
    expect(await conn.auth(await backend.token('someone-else'))).toMatchObject([
      { type: 'auth_error', error: { code: 'forbidden' } },
    ]);
    expect(conn.closed).toBe(true);
  });

  it('replaces the older connection holding the same key', async () => {
    const first = await backend.connect('?test_id=quiz-1');
    await first.auth(await backend.token('u-6'));
    const second = await backend.connect('?test_id=quiz-1');
    expect(types(await second.auth(await backend.token('u-6')))).toEqual(['auth_success']);
    expect(first.take()).toMatchObject([{ type: 'session_replaced', data: { connection_id: 'u-6_quiz-1' } }]);
    expect(first.closed).toBe(true);
    // The replaced connection's record is gone, so a frame it sends before the close lands is
    // not_authenticated; the newer one carries on.
    expect(await registry().get(first.id)).toBeNull();
    expect(await holderOf('u-6_quiz-1')).toBe(second.id);
    expect(types(await second.message('heartbeat'))).toEqual(['pong']);
  });
});

describe('races on one key', () => {
  it('a late $disconnect of the old connection leaves the newer mapping alone', async () => {
    const old = await backend.connect('?test_id=quiz-1');
    await old.auth(await backend.token('u-7'));
    const newer = await backend.connect('?test_id=quiz-1');
    await newer.auth(await backend.token('u-7'));
    await old.disconnect();
    const holder = await holderOf('u-7_quiz-1');
    expect(holder).toBe(newer.id);
    expect(types(await newer.message('heartbeat'))).toEqual(['pong']);
  });

  it('two auths at once: exactly one mapping survives and the other connection is told', async () => {
    for (let round = 0; round < 5; round++) {
      const user = `racer-${round}`;
      const a = await backend.connect('?test_id=quiz-1');
      const b = await backend.connect('?test_id=quiz-1');
      const [ta, tb] = [await backend.token(user), await backend.token(user)];
      await Promise.all([a.send({ action: 'auth', token: ta }), b.send({ action: 'auth', token: tb })]);
      const holder = await holderOf(`${user}_quiz-1`);
      expect([a.id, b.id]).toContain(holder);
      const loser = holder === a.id ? b : a;
      expect(types(loser.all())).toContain('session_replaced');
      expect(loser.closed).toBe(true);
      const winner = holder === a.id ? a : b;
      expect(types(winner.all())).not.toContain('session_replaced');
    }
  });

  it('$disconnect drops the connection record and its own key mapping', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    await conn.auth(await backend.token('u-8'));
    await conn.disconnect();
    expect(await holderOf('u-8_quiz-1')).toBeNull();
  });
});

describe('message and $default', () => {
  it('requires auth first', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    expect(await conn.message('heartbeat', { request_id: 'r1' })).toMatchObject([
      { type: 'error', error: { code: 'not_authenticated' }, request_id: 'r1' },
    ]);
  });

  it('answers invalid_json and unknown_action before and after auth', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    for (let i = 0; i < 2; i++) {
      await conn.sendRaw('not json');
      await conn.send({ action: 'dance' });
      expect(conn.take()).toMatchObject([
        { type: 'error', error: { code: 'invalid_json' } },
        { type: 'error', error: { code: 'unknown_action' } },
      ]);
      await conn.auth(await backend.token('u-9'));
    }
  });

  it('validates the frame: missing type, unknown type, bad request_id', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    await conn.auth(await backend.token('u-10'));
    expect(await conn.message('', {})).toMatchObject([{ error: { code: 'invalid_message' } }]);
    await conn.send({ action: 'message' });
    expect(conn.take()).toMatchObject([{ error: { code: 'invalid_message', message: 'type is required' } }]);
    expect(await conn.message('dance', { request_id: 'r2' })).toMatchObject([
      { error: { code: 'unknown_type' }, request_id: 'r2' },
    ]);
    // A malformed request_id is refused, and still echoed so the client can match the error.
    expect(await conn.message('heartbeat', { request_id: 'x'.repeat(65) })).toMatchObject([
      {
        error: { code: 'invalid_message', message: expect.stringContaining('request_id') },
        request_id: 'x'.repeat(65),
      },
    ]);
    expect(await conn.message('heartbeat', { data: 'nope' })).toMatchObject([
      { error: { code: 'invalid_message', message: expect.stringContaining('data') } },
    ]);
  });

  it('answers heartbeat, get_test_info and get_assessment_status', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    await conn.auth(await backend.token('u-11'));
    expect(await conn.message('heartbeat', { request_id: 'h' })).toMatchObject([
      { type: 'pong', data: { server_time: expect.any(String) }, request_id: 'h' },
    ]);
    expect(await conn.message('get_test_info')).toMatchObject([
      {
        type: 'test_info',
        data: { test_id: 'quiz-1', title: QUIZ.title, duration_seconds: 300, total_questions: 3 },
      },
    ]);
    expect(await conn.message('get_assessment_status')).toMatchObject([
      { type: 'assessment_status', data: { is_in_assessment: false } },
    ]);
  });

  it('answers no_test_selected on a general connection, test_not_found for an unknown test', async () => {
    const general = await backend.connect();
    await general.auth(await backend.token('u-12'));
    expect(types(await general.message('heartbeat'))).toEqual(['pong']);
    expect(await general.message('get_test_info')).toMatchObject([{ error: { code: 'no_test_selected' } }]);
    const unknown = await backend.connect('?test_id=nope');
    expect(types(await unknown.auth(await backend.token('u-12')))).toEqual(['auth_success']);
    expect(await unknown.message('start_assessment')).toMatchObject([{ error: { code: 'test_not_found' } }]);
  });

  it('answers message_too_large for a frame over 32 KB', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    await conn.auth(await backend.token('u-13'));
    await conn.send({
      action: 'message',
      type: 'heartbeat',
      request_id: 'big',
      data: { pad: 'x'.repeat(33 * 1024) },
    });
    expect(conn.take()).toMatchObject([{ error: { code: 'message_too_large' }, request_id: 'big' }]);
  });

  it('rate-limits a connection that floods, allowing a burst of 20', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    await conn.auth(await backend.token('u-14'));
    const codes: string[] = [];
    for (let i = 0; i < 60; i++) {
      const [reply] = await conn.message('heartbeat');
      codes.push(reply?.type === 'pong' ? 'pong' : String(reply?.error?.code));
    }
    expect(codes.slice(0, 20).every((c) => c === 'pong')).toBe(true);
    expect(codes).toContain('rate_limited');
    backend.clock.advance(10_000);
    expect(types(await conn.message('heartbeat'))).toEqual(['pong']);
  });
});

describe('410 from @connections', () => {
  it('cleans up the records of the gone connection, not the sender', async () => {
    const conn = await backend.connect('?test_id=quiz-1');
    await conn.auth(await backend.token('u-15'));
    conn.drop(); // gone without a $disconnect
    // assessment_started is posted (the question after it is the route response) and meets the 410.
    await conn.send({ action: 'message', type: 'start_assessment' });
    expect(await holderOf('u-15_quiz-1')).toBeNull();
  });
});

describe('410 on another connection', () => {
  it('replacing a connection that is already gone removes its records and keeps the new mapping', async () => {
    const old = await backend.connect('?test_id=quiz-1');
    await old.auth(await backend.token('u-17'));
    old.drop(); // its $disconnect never came
    const fresh = await backend.connect('?test_id=quiz-1');
    expect((await fresh.auth(await backend.token('u-17')))[0]?.type).toBe('auth_success');
    expect(await registry().get(old.id)).toBeNull();
    expect(await holderOf('u-17_quiz-1')).toBe(fresh.id);
    expect((await registry().get(fresh.id))?.auth?.key).toBe('u-17_quiz-1');
  });
});

describe('auth deadline sweep', () => {
  it('closes connections that never authenticated, and only those', async () => {
    const lazy = await backend.connect('?test_id=quiz-1');
    const active = await backend.connect('?test_id=quiz-1');
    await active.auth(await backend.token('u-16'));
    backend.clock.advance(29_000);
    await backend.handlers.sweep(sweepEvent(backend.clock.now()));
    expect(lazy.closed).toBe(false);
    backend.clock.advance(2_000);
    const report = await backend.handlers.sweep(sweepEvent(backend.clock.now()));
    expect(report.closedUnauthenticated).toBeGreaterThanOrEqual(1);
    expect(lazy.closed).toBe(true);
    expect(active.closed).toBe(false);
  });
});

function registry() {
  return new DynamoConnectionRegistry(backend.dynamo.doc, backend.dynamo.tables.connections);
}

function holderOf(key: string): Promise<string | null> {
  return registry().holderOf(key);
}
