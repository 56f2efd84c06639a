/**
 * `return` delivery (the two-way message and $default routes) on the in-memory twins: the last
 * frame of a reply is handed back for the route response, everything before it is posted first
 * and in order, a fault never loses a frame, and frames sent before a slow AI turn leave at once.
 */
import { InMemoryAiService } from '../../lambdas/adapters/memory/ai-service';
import { createCore } from '../../lambdas/core';
import { badReply, sampleFrames } from '../support/fuzz-frames';
import { twinCore } from '../support/twins';

const types = (frames: readonly { type: string }[]) => frames.map((f) => f.type);

async function authenticated(overrides: Parameters<typeof twinCore>[0] = {}) {
  const twin = twinCore(overrides);
  const conn = await twin.open('quiz-1');
  await conn.send({ action: 'auth', token: 'user:rr' });
  // A core of the same deps, called directly, to see what is posted and what is returned apart.
  const core = createCore(twin.deps);
  const posted = () => twin.deps.notifier.framesFor(conn.id);
  const message = (fields: object, delivery: 'post' | 'return' = 'return') =>
    core.message(conn.id, JSON.stringify({ action: 'message', ...fields }), delivery);
  return { ...twin, conn, core, posted, message };
}

describe('return delivery', () => {
  test('a heartbeat posts nothing: the pong is returned', async () => {
    const s = await authenticated();
    const before = s.posted().length;
    const answer = await s.message({ type: 'heartbeat', request_id: 'h1' });
    expect(answer).toMatchObject({ type: 'pong', request_id: 'h1' });
    expect(s.posted()).toHaveLength(before);
  });

  test('post delivery (one-way) posts the pong and returns nothing', async () => {
    const s = await authenticated();
    const before = s.posted().length;
    expect(await s.message({ type: 'heartbeat' }, 'post')).toBeUndefined();
    expect(types(s.posted().slice(before))).toEqual(['pong']);
  });

  test('a two-frame reply posts the first and returns the last', async () => {
    const s = await authenticated();
    const before = s.posted().length;
    const answer = await s.message({ type: 'start_assessment', request_id: 's1' });
    expect(types(s.posted().slice(before))).toEqual(['assessment_started']);
    expect(answer).toMatchObject({ type: 'question', request_id: 's1', data: { index: 0 } });

    const next = await s.message({
      type: 'submit_answer',
      request_id: 'r1',
      data: { question_id: 'q1', selected_option: 'a' },
    });
    expect(types(s.posted().slice(before))).toEqual(['assessment_started', 'answer_feedback']);
    expect(next).toMatchObject({ type: 'question', request_id: 'r1', data: { index: 1 } });
  });

  test('$default answers with its one error frame and posts nothing', async () => {
    const s = await authenticated();
    const before = s.posted().length;
    const answer = await s.core.unrouted(s.conn.id, JSON.stringify({ action: 'dance' }), 'return');
    expect(answer).toMatchObject({ type: 'error', error: { code: 'unknown_action' } });
    expect(await s.core.unrouted(s.conn.id, 'not json', 'return')).toMatchObject({
      error: { code: 'invalid_json' },
    });
    expect(s.posted()).toHaveLength(before);
  });

  test('a fault after a frame was held posts that frame, then returns internal_error', async () => {
    const s = await authenticated();
    const before = s.posted().length;
    // The first post (assessment_started) fails once; the held question must not be lost.
    const realSend = s.deps.notifier.send.bind(s.deps.notifier);
    let failures = 1;
    s.deps.notifier.send = async (id, frame) => {
      if (failures-- > 0) throw new Error('@connections is throttling');
      return realSend(id, frame);
    };
    const answer = await s.message({ type: 'start_assessment', request_id: 's2' });
    expect(types(s.posted().slice(before))).toEqual(['question']);
    expect(answer).toMatchObject({ type: 'error', error: { code: 'internal_error' }, request_id: 's2' });
    // The retry the error invites recovers the attempt that was started.
    s.deps.notifier.send = realSend;
    expect(await s.message({ type: 'start_assessment', request_id: 's2' })).toMatchObject({
      type: 'question',
    });
    expect(types(s.posted().slice(-1))).toEqual(['assessment_recovered']);
  });

  test('when @connections keeps failing, the route still answers with internal_error (not a thrown invocation)', async () => {
    const s = await authenticated();
    s.deps.notifier.send = async () => {
      throw new Error('@connections is down');
    };
    // start_assessment posts assessment_started and holds the question; every post fails, and so
    // does posting the held question in the fault path. A thrown invocation would reach the client
    // as API Gateway's own "Internal server error" message, without the request_id.
    const answer = await s.message({ type: 'start_assessment', request_id: 's3' });
    expect(answer).toMatchObject({ type: 'error', error: { code: 'internal_error' }, request_id: 's3' });
  });

  test('post delivery still fails the invocation when even internal_error cannot be posted', async () => {
    const s = await authenticated();
    s.deps.notifier.send = async () => {
      throw new Error('@connections is down');
    };
    await expect(s.message({ type: 'heartbeat' }, 'post')).rejects.toThrow('@connections is down');
  });

  test('frames before an AI turn are posted before the AI service is called; its feedback is returned', async () => {
    const ai = new InMemoryAiService();
    const s = await authenticated({ ai });
    await s.message({ type: 'start_assessment' });
    // The turn of the first answer fails, so the next answer carries a backlog.
    ai.failNext = 1;
    await s.message({
      type: 'submit_answer',
      request_id: 'r1',
      data: { question_id: 'q1', selected_option: 'a' },
    });
    const seenAtCall: string[][] = [];
    const realSendAnswer = ai.sendAnswer.bind(ai);
    ai.sendAnswer = async (...args) => {
      seenAtCall.push(types(s.posted().slice(-2)));
      return realSendAnswer(...args);
    };
    const answer = await s.message({
      type: 'submit_answer',
      request_id: 'r2',
      data: { question_id: 'q2', selected_option: 'b' },
    });
    expect(seenAtCall[0]).toEqual(['answer_feedback', 'question']);
    expect(answer).toMatchObject({ type: 'ai_feedback', request_id: 'r2' });
  });

  test('every frame a live connection sends to a two-way route is answered with a protocol frame', async () => {
    // API Gateway would send an empty message for an invocation that answers nothing.
    const s = await authenticated();
    await s.message({ type: 'start_assessment' });
    const problems: string[] = [];
    const answered = { message: 0, unrouted: 0 };
    for (const body of sampleFrames(400, 20261201)) {
      s.clock.advance(250); // stays within the frame budget
      let action: unknown;
      try {
        action = (JSON.parse(body) as { action?: unknown }).action;
      } catch {
        action = undefined;
      }
      if (action === 'auth') continue; // one-way
      const answer =
        action === 'message'
          ? await s.core.message(s.conn.id, body, 'return')
          : await s.core.unrouted(s.conn.id, body, 'return');
      answered[action === 'message' ? 'message' : 'unrouted']++;
      const problem = answer === undefined ? 'no answer' : badReply(answer);
      if (problem) problems.push(`${body.slice(0, 80)}: ${problem}`);
    }
    expect(problems).toEqual([]);
    // The sample reaches both routes in earnest.
    expect(answered.message).toBeGreaterThan(100);
    expect(answered.unrouted).toBeGreaterThan(50);
  });
});
