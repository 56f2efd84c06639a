/** Fault paths of the core, on in-memory twins: nothing crashes, every client gets a typed answer. */
import { InMemoryAssessmentStore, InMemoryConnectionRegistry } from '../../lambdas/adapters/memory';
import { twinCore } from '../support/twins';

describe('faults', () => {
  it('a failing recovery lookup still authenticates, with recovery_error', async () => {
    const assessments = new InMemoryAssessmentStore();
    assessments.bindHolder = async () => {
      throw new Error('DynamoDB is down');
    };
    const { open } = twinCore({ assessments });
    const conn = await open('quiz-1');
    const frames = await conn.send({ action: 'auth', token: 'user:alice' });
    expect(frames).toMatchObject([
      { type: 'auth_success', data: { user_id: 'alice', recovered: false, recovery_error: true } },
    ]);
    expect((await conn.send({ action: 'message', type: 'heartbeat' }))[0]?.type).toBe('pong');
  });

  it('a store fault answers internal_error with the request_id, and a retry succeeds', async () => {
    const assessments = new InMemoryAssessmentStore();
    const { open } = twinCore({ assessments });
    const conn = await open('quiz-1');
    await conn.send({ action: 'auth', token: 'user:bob' });
    await conn.send({ action: 'message', type: 'start_assessment' });
    const realRecord = assessments.recordAnswer.bind(assessments);
    assessments.recordAnswer = async () => {
      throw new Error('throttled');
    };
    const submit = {
      action: 'message',
      type: 'submit_answer',
      request_id: 'r1',
      data: { question_id: 'q1', selected_option: 'a' },
    };
    expect(await conn.send(submit)).toMatchObject([
      { type: 'error', error: { code: 'internal_error' }, request_id: 'r1' },
    ]);
    assessments.recordAnswer = realRecord;
    expect(await conn.send(submit)).toMatchObject([
      { type: 'answer_feedback', data: { duplicate: false, progress: { answered: 1 } } },
      { type: 'question' },
    ]);
  });

  it('a message after the token expired is not_authenticated until a fresh auth', async () => {
    const { open, clock } = twinCore();
    const conn = await open('quiz-1');
    const expiresAt = clock.now() + 60_000;
    await conn.send({ action: 'auth', token: `user:carol:${expiresAt}` });
    clock.advance(60_000 + 31_000);
    expect(await conn.send({ action: 'message', type: 'heartbeat', request_id: 'h' })).toMatchObject([
      { type: 'error', error: { code: 'not_authenticated' }, request_id: 'h' },
    ]);
    await conn.send({ action: 'auth', token: 'user:carol' });
    expect((await conn.send({ action: 'message', type: 'heartbeat' }))[0]?.type).toBe('pong');
  });

  it('a 410 on send forgets that connection and its key, not others', async () => {
    const { open, deps } = twinCore();
    const a = await open('quiz-1');
    await a.send({ action: 'auth', token: 'user:dave' });
    const other = await open('quiz-1');
    await other.send({ action: 'auth', token: 'user:erin' });
    deps.notifier.gone.add(a.id);
    // assessment_started is posted (the question after it is the route response) and meets the 410.
    await a.send({ action: 'message', type: 'start_assessment' });
    expect(deps.connections.connections.has(a.id)).toBe(false);
    expect(deps.connections.keys.has('dave_quiz-1')).toBe(false);
    expect(deps.connections.keys.get('erin_quiz-1')).toBe(other.id);
  });

  it('an assessment whose test disappeared recovers with recovery_error', async () => {
    const { open, deps } = twinCore();
    const conn = await open('quiz-1');
    await conn.send({ action: 'auth', token: 'user:frank' });
    await conn.send({ action: 'message', type: 'start_assessment' });
    deps.tests.tests.delete('quiz-1');
    const again = await open('quiz-1');
    expect(await again.send({ action: 'auth', token: 'user:frank' })).toMatchObject([
      { type: 'auth_success', data: { recovered: false, recovery_error: true } },
    ]);
  });

  it.each([
    ['not JSON', '{'],
    ['a JSON array', '[]'],
    ['a JSON string', '"hi"'],
    ['null', 'null'],
  ])('answers invalid_json to %s on every route', async (_name, body) => {
    const { core, deps } = twinCore();
    await core.connect({ connectionId: 'x', testId: undefined, origin: undefined, connectedAtMs: 0 });
    await core.auth('x', body);
    await core.message('x', body);
    await core.unrouted('x', body);
    expect(deps.notifier.framesFor('x').map((f) => f.error?.code)).toEqual([
      'invalid_json',
      'invalid_json',
      'invalid_json',
    ]);
  });

  it('a failed auth write still replaces the older connection, and the retry succeeds', async () => {
    const connections = new InMemoryConnectionRegistry();
    const { open, deps } = twinCore({ connections });
    const old = await open('quiz-1');
    await old.send({ action: 'auth', token: 'user:gina' });
    const realMark = connections.markAuthenticated.bind(connections);
    connections.markAuthenticated = async () => {
      throw new Error('throttled');
    };
    const fresh = await open('quiz-1');
    expect(await fresh.send({ action: 'auth', token: 'user:gina', request_id: 'a1' })).toMatchObject([
      { type: 'error', error: { code: 'internal_error' }, request_id: 'a1' },
    ]);
    expect(deps.notifier.framesFor(old.id).map((f) => f.type)).toEqual(['auth_success', 'session_replaced']);
    expect(deps.notifier.closed).toContain(old.id);
    connections.markAuthenticated = realMark;
    expect((await fresh.send({ action: 'auth', token: 'user:gina' }))[0]?.type).toBe('auth_success');
    expect(connections.keys.get('gina_quiz-1')).toBe(fresh.id);
  });

  it('a 410 from the replaced connection removes its records and keeps the new mapping', async () => {
    const { open, deps } = twinCore();
    const old = await open('quiz-1');
    await old.send({ action: 'auth', token: 'user:hank' });
    deps.notifier.gone.add(old.id); // gone without a $disconnect
    const fresh = await open('quiz-1');
    expect((await fresh.send({ action: 'auth', token: 'user:hank' }))[0]?.type).toBe('auth_success');
    expect(deps.connections.connections.has(old.id)).toBe(false);
    expect(deps.connections.keys.get('hank_quiz-1')).toBe(fresh.id);
    expect(deps.connections.connections.get(fresh.id)?.auth?.key).toBe('hank_quiz-1');
  });

  it('the sweep finishes an overdue assessment whose test was deleted, so it leaves the index', async () => {
    const { open, deps, core, clock } = twinCore();
    const conn = await open('quiz-1');
    await conn.send({ action: 'auth', token: 'user:ivy' });
    await conn.send({ action: 'message', type: 'start_assessment' });
    deps.tests.tests.delete('quiz-1');
    clock.advance(301_000);
    const report = await core.sweep();
    expect(report).toMatchObject({ finishedOverdue: 1, failures: 0 });
    expect(await deps.assessments.findOverdue(clock.now(), 10)).toEqual([]);
    expect((await deps.assessments.get('ivy', 'quiz-1'))?.completion).toMatchObject({
      reason: 'time_up',
      score: 0,
    });
  });

  it('a token verifier fault (key set unreachable) is internal_error, and the socket stays open', async () => {
    const { open, deps } = twinCore({
      tokens: {
        verify: async () => {
          throw new Error('JWKS unreachable');
        },
      },
    });
    const conn = await open('quiz-1');
    expect(await conn.send({ action: 'auth', token: 'user:jo', request_id: 'a' })).toMatchObject([
      { type: 'error', error: { code: 'internal_error' }, request_id: 'a' },
    ]);
    expect(deps.notifier.closed).not.toContain(conn.id);
  });
});
