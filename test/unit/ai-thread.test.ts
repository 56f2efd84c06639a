/**
 * The AI service's thread on the in-memory twins: created once at start and saved with the
 * attempt, every stored answer sent once and in order with its thread id, missed turns sent by
 * the next answer, and a typed notice (never a failure) when the service is down.
 */
import type { SilentTelemetry } from '../../lambdas/adapters/memory';
import { InMemoryAiService } from '../../lambdas/adapters/memory/ai-service';
import type { ServerFrame } from '../../protocol';
import { twinCore } from '../support/twins';

const types = (frames: ServerFrame[]) => frames.map((f) => f.type);
const data = (frame: ServerFrame | undefined) => frame?.data as Record<string, unknown>;

async function student(ai?: InMemoryAiService, user = 'u1') {
  const twin = twinCore(ai ? { ai } : {});
  const conn = await twin.open('quiz-1');
  await conn.send({ action: 'auth', token: `user:${user}` });
  const answer = (questionId: string, option: string, requestId: string) =>
    conn.send({
      action: 'message',
      type: 'submit_answer',
      request_id: requestId,
      data: { question_id: questionId, selected_option: option },
    });
  const start = () => conn.send({ action: 'message', type: 'start_assessment', request_id: 'start' });
  return { ...twin, conn, answer, start, record: () => twin.deps.assessments.get(user, 'quiz-1') };
}

describe('without an AI service', () => {
  test('the thread is a local name and no frame changes', async () => {
    const s = await student();
    const started = await s.start();
    expect(types(started)).toEqual(['assessment_started', 'question']);
    expect(data(started[0]).thread_id).toMatch(/^thread_/);
    expect(types(await s.answer('q1', 'a', 'r1'))).toEqual(['answer_feedback', 'question']);
    expect((await s.record())?.aiTurnsDelivered).toBeUndefined();
  });
});

describe('with an AI service', () => {
  test('start creates one thread, saved with the attempt; starting again reuses it', async () => {
    const ai = new InMemoryAiService();
    const s = await student(ai);
    const started = await s.start();
    expect(types(started)).toEqual(['assessment_started', 'question']);
    const threadId = data(started[0]).thread_id;
    expect(threadId).toBe('ai-thread-1');
    expect(await s.record()).toMatchObject({ threadId, aiTurnsDelivered: 0 });
    expect([...ai.threads.values()]).toEqual([
      { threadId, assessmentId: (await s.record())?.assessmentId, testId: 'quiz-1', turns: [] },
    ]);

    const again = await s.start();
    expect(types(again)).toEqual(['assessment_recovered', 'question']);
    expect(data(again[0]).thread_id).toBe(threadId);
    expect(ai.calls).toEqual(['createThread']);
  });

  test('each stored answer is sent once, in order, with its thread id; feedback follows the question', async () => {
    const ai = new InMemoryAiService();
    const s = await student(ai);
    await s.start();
    const first = await s.answer('q1', 'a', 'r1');
    expect(types(first)).toEqual(['answer_feedback', 'question', 'ai_feedback']);
    expect(first[2]).toMatchObject({
      request_id: 'r1',
      data: {
        question_id: 'q1',
        thread_id: 'ai-thread-1',
        turn: 1,
        feedback: 'turn 1: a',
        next_question: { text: 'why a?' },
      },
    });
    // Resends and refused answers make no turn.
    expect(types(await s.answer('q1', 'a', 'r1'))).toEqual(['answer_feedback']);
    expect(types(await s.answer('q1', 'a', 'r1-again'))).toEqual(['answer_feedback']);
    expect(types(await s.answer('q1', 'b', 'r-change'))).toEqual(['error']);
    expect(types(await s.answer('q3', 'a', 'r-skip'))).toEqual(['error']);
    await s.answer('q2', 'b', 'r2');
    const last = await s.answer('q3', 'c', 'r3');
    expect(types(last)).toEqual(['answer_feedback', 'ai_feedback']);

    expect(ai.turnsOf('ai-thread-1')).toEqual(['q1', 'q2', 'q3']);
    const turns = ai.threads.get('ai-thread-1')?.turns ?? [];
    expect(turns.map((t) => t.idempotencyKey)).toEqual([
      'ai-thread-1:r1',
      'ai-thread-1:r2',
      'ai-thread-1:r3',
    ]);
    expect(turns[1]).toMatchObject({
      requestId: 'r2',
      questionIndex: 1,
      questionText: 'Two?',
      options: ['a', 'b', 'c'],
      selectedOption: 'b',
    });
    expect(JSON.stringify(turns)).not.toContain('correct');
    expect((await s.record())?.aiTurnsDelivered).toBe(3);
  });

  test('a failed send keeps the answer; the next answer sends the missed turn first', async () => {
    const ai = new InMemoryAiService();
    const s = await student(ai);
    await s.start();
    await s.answer('q1', 'a', 'r1');
    ai.failNext = 1;
    const missed = await s.answer('q2', 'b', 'r2');
    expect(types(missed)).toEqual(['answer_feedback', 'question', 'notice']);
    expect(missed[0]).toMatchObject({ data: { duplicate: false, progress: { answered: 2 } } });
    expect(missed[2]).toMatchObject({ request_id: 'r2', data: { code: 'ai_unavailable' } });
    expect(ai.turnsOf('ai-thread-1')).toEqual(['q1']);
    expect((s.deps.telemetry as SilentTelemetry).counts.get('ai_unavailable')).toBe(1);

    const next = await s.answer('q3', 'c', 'r3');
    expect(types(next)).toEqual(['answer_feedback', 'ai_feedback', 'ai_feedback']);
    expect(next.slice(1).map((f) => data(f).question_id)).toEqual(['q2', 'q3']);
    // Every frame answers the request that caused it, the missed turn's too.
    expect(next.map((f) => f.request_id)).toEqual(['r3', 'r3', 'r3']);
    const sent = ai.threads.get('ai-thread-1')?.turns ?? [];
    expect(sent.map((t) => [t.requestId, t.idempotencyKey])).toEqual([
      ['r1', 'ai-thread-1:r1'],
      ['r2', 'ai-thread-1:r2'],
      ['r3', 'ai-thread-1:r3'],
    ]);
    // Delivered turns no longer keep their request ids.
    expect((await s.record())?.pendingRequestIds).toBeUndefined();
    expect(ai.turnsOf('ai-thread-1')).toEqual(['q1', 'q2', 'q3']);
  });

  test('complete_assessment sends a last missed turn', async () => {
    const ai = new InMemoryAiService();
    const s = await student(ai);
    await s.start();
    await s.answer('q1', 'a', 'r1');
    await s.answer('q2', 'b', 'r2');
    ai.down = true;
    expect(types(await s.answer('q3', 'c', 'r3'))).toEqual(['answer_feedback', 'notice']);
    ai.down = false;
    const done = await s.conn.send({ action: 'message', type: 'complete_assessment', request_id: 'c' });
    expect(types(done)).toEqual(['assessment_completed', 'ai_feedback']);
    expect(done[0]).toMatchObject({ data: { score: 3, reason: 'submitted' } });
    expect(ai.turnsOf('ai-thread-1')).toEqual(['q1', 'q2', 'q3']);
    // Nothing is left to send: completing again makes no call.
    const calls = ai.calls.length;
    const again = await s.conn.send({ action: 'message', type: 'complete_assessment' });
    expect(types(again)).toEqual(['assessment_completed']);
    expect(ai.calls.length).toBe(calls);
  });

  test('a lost turn count only resends under the same key: no second turn', async () => {
    const ai = new InMemoryAiService();
    const s = await student(ai);
    await s.start();
    const store = s.deps.assessments;
    const original = store.recordAiTurns.bind(store);
    store.recordAiTurns = async () => {
      throw new Error('DynamoDB hiccup');
    };
    expect(types(await s.answer('q1', 'a', 'r1'))).toEqual(['answer_feedback', 'question', 'ai_feedback']);
    store.recordAiTurns = original;
    const next = await s.answer('q2', 'b', 'r2');
    expect(next.filter((f) => f.type === 'ai_feedback').map((f) => data(f).turn)).toEqual([1, 2]);
    expect(ai.calls.filter((c) => c === 'sendAnswer ai-thread-1:r1')).toHaveLength(2);
    expect(ai.turnsOf('ai-thread-1')).toEqual(['q1', 'q2']);
  });

  test('a socket gone before the turn: the turn is made, its frames go nowhere', async () => {
    const ai = new InMemoryAiService();
    const s = await student(ai);
    await s.start();
    s.deps.notifier.gone.add(s.conn.id);
    expect(await s.answer('q1', 'a', 'r1')).toEqual([]);
    expect(ai.turnsOf('ai-thread-1')).toEqual(['q1']);
    expect((await s.record())?.aiTurnsDelivered).toBe(1);
  });

  test('after a reconnect the same thread continues', async () => {
    const ai = new InMemoryAiService();
    const s = await student(ai);
    await s.start();
    await s.answer('q1', 'a', 'r1');
    const again = await s.open('quiz-1');
    const [auth] = await again.send({ action: 'auth', token: 'user:u1' });
    expect(auth).toMatchObject({
      type: 'auth_success',
      data: { recovered: true, recovered_assessment: { thread_id: 'ai-thread-1' } },
    });
    const frames = await again.send({
      action: 'message',
      type: 'submit_answer',
      request_id: 'r2',
      data: { question_id: 'q2', selected_option: 'b' },
    });
    expect(frames[2]).toMatchObject({ type: 'ai_feedback', data: { thread_id: 'ai-thread-1', turn: 2 } });
    expect(ai.threads.size).toBe(1);
    expect(ai.turnsOf('ai-thread-1')).toEqual(['q1', 'q2']);
  });

  test('service down at start: the attempt starts on a local thread, with a notice, and stays local', async () => {
    const ai = new InMemoryAiService();
    ai.down = true;
    const s = await student(ai);
    const started = await s.start();
    expect(types(started)).toEqual(['assessment_started', 'question', 'notice']);
    expect(started[2]).toMatchObject({ request_id: 'start', data: { code: 'ai_unavailable' } });
    expect(data(started[0]).thread_id).toMatch(/^thread_/);
    expect((await s.record())?.aiTurnsDelivered).toBeUndefined();

    ai.down = false;
    expect(types(await s.answer('q1', 'a', 'r1'))).toEqual(['answer_feedback', 'question']);
    expect(ai.calls).toEqual(['createThread']);
    expect(ai.threads.size).toBe(0);
  });
});

describe('two answers in quick succession (their AI turns overlap)', () => {
  /** Holds the AI service's answer to the first `sendAnswer` until released. */
  function gatedFirstCall(ai: InMemoryAiService) {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const real = ai.sendAnswer.bind(ai);
    let calls = 0;
    ai.sendAnswer = async (...args) => {
      if (++calls === 1) await gate;
      return real(...args);
    };
    return () => release();
  }
  // Both requests run on one socket at once: a frame belongs to the request whose id it carries.
  const aiTurns = (frames: ServerFrame[], requestId: string) =>
    frames
      .filter((f) => f.type === 'ai_feedback' && f.request_id === requestId)
      .map((f) => data(f).question_id);

  test('the earlier answer records its turn first: each turn reaches the client once', async () => {
    const ai = new InMemoryAiService();
    const s = await student(ai);
    await s.start();
    const release = gatedFirstCall(ai);
    const first = s.answer('q1', 'a', 'r1'); // its turn waits at the AI service
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const [one, two] = await Promise.all([first, s.answer('q2', 'b', 'r2')]);
    // The second request sent q1's turn too (the thread needs it first), but shows only its own.
    const all = [...new Set([...one, ...two])];
    expect(aiTurns(all, 'r1')).toEqual(['q1']);
    expect(aiTurns(all, 'r2')).toEqual(['q2']);
    expect(ai.turnsOf('ai-thread-1')).toEqual(['q1', 'q2']);
    expect((await s.record())?.aiTurnsDelivered).toBe(2);
  });

  test('the later answer records both turns first: the earlier one still answers with its turn', async () => {
    const ai = new InMemoryAiService();
    const s = await student(ai);
    await s.start();
    const release = gatedFirstCall(ai);
    const first = s.answer('q1', 'a', 'r1');
    await new Promise((resolve) => setImmediate(resolve));
    const two = await s.answer('q2', 'b', 'r2'); // records turns 1 and 2 while r1 still waits
    expect(aiTurns(two, 'r2')).toEqual(['q1', 'q2']);
    release();
    const one = await first;
    // Its reply needs a frame (the route response): it repeats turn 1, with the same turn number.
    expect(aiTurns(one, 'r1')).toEqual(['q1']);
    const turnOf = (frames: ServerFrame[], requestId: string) =>
      data(frames.find((f) => f.type === 'ai_feedback' && f.request_id === requestId)).turn;
    expect(turnOf(one, 'r1')).toBe(turnOf(two, 'r2'));
    expect(ai.turnsOf('ai-thread-1')).toEqual(['q1', 'q2']);
  });
});
