/**
 * The assessment lifecycle (protocol section 5) through the real handlers, against dynalite,
 * with a manual clock for the deadline.
 */
import { MESSAGE_TYPES, type ServerFrame } from '../../protocol';
import { Backend, sweepEvent, type TestConnection } from '../support/backend';

let backend: Backend;
beforeAll(async () => {
  backend = await Backend.start();
});
afterAll(() => backend.stop());

let userSeq = 0;
async function student(): Promise<{ user: string; conn: TestConnection }> {
  const user = `student-${++userSeq}`;
  const conn = await backend.connect('?test_id=quiz-1');
  await conn.auth(await backend.token(user));
  return { user, conn };
}
async function reconnect(user: string): Promise<{ conn: TestConnection; frames: ServerFrame[] }> {
  const conn = await backend.connect('?test_id=quiz-1');
  const frames = await conn.auth(await backend.token(user));
  return { conn, frames };
}
const data = (f: ServerFrame | undefined) => f?.data as Record<string, unknown>;
const types = (frames: ServerFrame[]) => frames.map((f) => f.type);
const answer = (conn: TestConnection, questionId: string, option: string, requestId: string) =>
  conn.message('submit_answer', {
    request_id: requestId,
    data: { question_id: questionId, selected_option: option },
  });

describe('start_assessment', () => {
  it('starts once, then returns the same attempt', async () => {
    const { conn } = await student();
    const started = await conn.message('start_assessment', { request_id: 's1' });
    expect(types(started)).toEqual(['assessment_started', 'question']);
    const snapshot = data(started[0]);
    expect(snapshot).toMatchObject({
      test_id: 'quiz-1',
      is_in_assessment: true,
      status: 'in_progress',
      remaining_seconds: 300,
      progress: { answered: 0, total: 3, current_question_index: 0 },
      answers: [],
    });
    expect(snapshot.thread_id).toEqual(expect.stringMatching(/^thread_/));
    expect(started[1]).toMatchObject({
      request_id: 's1',
      data: {
        question_id: 'q1',
        index: 0,
        total: 3,
        text: 'One?',
        options: ['a', 'b', 'c'],
        remaining_seconds: 300,
      },
    });
    expect(JSON.stringify(started)).not.toContain('correct_option');

    const again = await conn.message('start_assessment');
    expect(types(again)).toEqual(['assessment_recovered', 'question']);
    expect(data(again[0])).toMatchObject({
      assessment_id: snapshot.assessment_id,
      thread_id: snapshot.thread_id,
    });
  });
});

describe('answers', () => {
  it('stores answers in order and serves the next question with the same request_id', async () => {
    const { conn } = await student();
    await conn.message('start_assessment');
    const frames = await answer(conn, 'q1', 'a', 'r1');
    expect(frames).toMatchObject([
      {
        type: 'answer_feedback',
        request_id: 'r1',
        data: {
          question_id: 'q1',
          accepted: true,
          duplicate: false,
          progress: { answered: 1, total: 3, current_question_index: 1 },
        },
      },
      { type: 'question', request_id: 'r1', data: { question_id: 'q2', index: 1 } },
    ]);
    expect(JSON.stringify(frames)).not.toContain('correct');
    expect(await conn.message('get_question', { request_id: 'g' })).toMatchObject([
      { type: 'question', request_id: 'g', data: { question_id: 'q2' } },
    ]);
  });

  it('treats resends as duplicates and changes nothing', async () => {
    const { conn } = await student();
    await conn.message('start_assessment');
    await answer(conn, 'q1', 'b', 'r1');
    // Same request_id again: duplicate, and the next question is not sent again.
    expect(await answer(conn, 'q1', 'b', 'r1')).toMatchObject([
      { type: 'answer_feedback', data: { duplicate: true, progress: { answered: 1 } } },
    ]);
    // Same option, new request_id: also a duplicate.
    expect(await answer(conn, 'q1', 'b', 'r1-again')).toMatchObject([
      { type: 'answer_feedback', data: { duplicate: true, progress: { answered: 1 } } },
    ]);
    expect(await answer(conn, 'q1', 'c', 'r-change')).toMatchObject([
      { error: { code: 'already_answered' }, request_id: 'r-change' },
    ]);
    expect(await answer(conn, 'q2', 'a', 'r1')).toMatchObject([{ error: { code: 'request_id_reused' } }]);
    expect(await answer(conn, 'q3', 'a', 'r-skip')).toMatchObject([{ error: { code: 'invalid_question' } }]);
    expect(await answer(conn, 'q9', 'a', 'r-unknown')).toMatchObject([
      { error: { code: 'invalid_question' } },
    ]);
    expect(await answer(conn, 'q2', 'zzz', 'r-bad-option')).toMatchObject([
      { error: { code: 'invalid_message' } },
    ]);
    const [status] = await conn.message('get_assessment_status');
    expect(data(status)).toMatchObject({
      is_in_assessment: true,
      assessment: { progress: { answered: 1 }, answers: [{ question_id: 'q1', selected_option: 'b' }] },
    });
  });

  it('answers no_active_assessment before start', async () => {
    const { conn } = await student();
    expect(await answer(conn, 'q1', 'a', 'r')).toMatchObject([{ error: { code: 'no_active_assessment' } }]);
    expect(await conn.message('get_question')).toMatchObject([{ error: { code: 'no_active_assessment' } }]);
    expect(await conn.message('complete_assessment')).toMatchObject([
      { error: { code: 'no_active_assessment' } },
    ]);
  });

  it('rejects hostile submit_answer frames with typed errors and stores nothing', async () => {
    const { conn } = await student();
    await conn.message('start_assessment');
    const hostile: [object, RegExp][] = [
      [{ data: { question_id: 'q1', selected_option: 'a' } }, /request_id/],
      [{ request_id: 7, data: { question_id: 'q1', selected_option: 'a' } }, /request_id/],
      [{ request_id: 'h1' }, /data/],
      [{ request_id: 'h2', data: { selected_option: 'a' } }, /question_id/],
      [{ request_id: 'h3', data: { question_id: 'q1' } }, /selected_option/],
      [{ request_id: 'h4', data: { question_id: ['q1'], selected_option: 'a' } }, /question_id/],
      [{ request_id: 'h5', data: { question_id: 'q1', selected_option: 42 } }, /selected_option/],
      [{ request_id: 'h6', data: { question_id: 'q'.repeat(100), selected_option: 'a' } }, /question_id/],
      [
        { request_id: 'h7', data: { question_id: 'q1', selected_option: 'a'.repeat(1000) } },
        /selected_option/,
      ],
      [{ request_id: 'h8', data: null }, /data/],
    ];
    for (const [fields, mentions] of hostile) {
      const frames = await conn.message('submit_answer', fields);
      expect(frames).toHaveLength(1);
      expect(frames[0]).toMatchObject({ type: 'error', error: { code: 'invalid_message' } });
      expect(frames[0]?.error?.message).toMatch(mentions);
    }
    const [status] = await conn.message('get_assessment_status');
    expect(data(status)).toMatchObject({ assessment: { progress: { answered: 0 }, answers: [] } });
  });

  it('stores one answer for 10 concurrent submissions with one request_id', async () => {
    const { conn } = await student();
    await conn.message('start_assessment');
    await Promise.all(
      Array.from({ length: 10 }, () =>
        conn.send({
          action: 'message',
          type: 'submit_answer',
          request_id: 'same',
          data: { question_id: 'q1', selected_option: 'a' },
        }),
      ),
    );
    const feedback = conn.take().filter((f) => f.type === 'answer_feedback');
    expect(feedback).toHaveLength(10);
    expect(feedback.filter((f) => data(f).duplicate === false)).toHaveLength(1);
    for (const f of feedback) {
      expect(f).toMatchObject({
        request_id: 'same',
        data: { question_id: 'q1', accepted: true, progress: { answered: 1 } },
      });
    }
    const [status] = await conn.message('get_assessment_status');
    expect(data(status)).toMatchObject({ assessment: { progress: { answered: 1 } } });
  });

  it('stores exactly one of concurrent different options for one question', async () => {
    const { conn } = await student();
    await conn.message('start_assessment');
    await Promise.all(
      ['a', 'b', 'c', 'a', 'b', 'c'].map((option, i) =>
        conn.send({
          action: 'message',
          type: 'submit_answer',
          request_id: `c${i}`,
          data: { question_id: 'q1', selected_option: option },
        }),
      ),
    );
    const replies = conn.take().filter((f) => f.type !== 'question');
    const accepted = replies.filter((f) => f.type === 'answer_feedback' && data(f).duplicate === false);
    expect(accepted).toHaveLength(1);
    const [status] = await conn.message('get_assessment_status');
    const stored = (data(status).assessment as { answers: { selected_option: string }[] }).answers;
    expect(stored).toHaveLength(1);
    const optionOf = new Map(['a', 'b', 'c', 'a', 'b', 'c'].map((option, i) => [`c${i}`, option]));
    for (const reply of replies) {
      const sentOption = optionOf.get(String(reply.request_id));
      if (sentOption === stored[0]?.selected_option) {
        expect(reply).toMatchObject({ type: 'answer_feedback', data: { accepted: true } });
      } else {
        expect(reply).toMatchObject({ type: 'error', error: { code: 'already_answered' } });
      }
    }
  });
});

describe('client-chosen ids', () => {
  it('treats request ids named like Object properties as plain ids', async () => {
    const { conn } = await student();
    await conn.message('start_assessment');
    expect(await answer(conn, 'q1', 'a', 'toString')).toMatchObject([
      { type: 'answer_feedback', data: { duplicate: false } },
      { type: 'question' },
    ]);
    expect(await answer(conn, 'q1', 'a', 'constructor')).toMatchObject([
      { type: 'answer_feedback', data: { duplicate: true } },
    ]);
    expect(await answer(conn, 'q2', 'b', '__proto__')).toMatchObject([
      { type: 'answer_feedback', data: { duplicate: false } },
      { type: 'question' },
    ]);
    expect(await answer(conn, 'q2', 'b', '__proto__')).toMatchObject([
      { type: 'answer_feedback', data: { duplicate: true } },
    ]);
    expect(await answer(conn, 'q3', 'c', '__proto__')).toMatchObject([
      { error: { code: 'request_id_reused' } },
    ]);
  });
});

describe('recovery after partial progress', () => {
  it('restores assessment, thread, question, answers and remaining time on reconnect', async () => {
    const { user, conn } = await student();
    const [started] = await conn.message('start_assessment');
    await answer(conn, 'q1', 'a', 'r1');
    backend.clock.advance(100_000);
    await conn.disconnect();
    backend.clock.advance(20_000); // offline time counts
    const { frames } = await reconnect(user);
    expect(types(frames)).toEqual(['auth_success']);
    expect(data(frames[0])).toMatchObject({
      recovered: true,
      connection_id: `${user}_quiz-1`,
      recovered_assessment: {
        assessment_id: data(started).assessment_id,
        thread_id: data(started).thread_id,
        remaining_seconds: 180,
        progress: { answered: 1, total: 3, current_question_index: 1 },
        current_question: { question_id: 'q2', index: 1, remaining_seconds: 180 },
        answers: [{ question_id: 'q1', selected_option: 'a' }],
      },
    });
    expect(data(frames[0]).recovery_error).toBeUndefined();
  });

  it('omits current_question when every question is answered', async () => {
    const { user, conn } = await student();
    await conn.message('start_assessment');
    await answer(conn, 'q1', 'a', 'r1');
    await answer(conn, 'q2', 'a', 'r2');
    expect(types(await answer(conn, 'q3', 'a', 'r3'))).toEqual(['answer_feedback']);
    expect(await conn.message('get_question')).toMatchObject([{ error: { code: 'all_answered' } }]);
    const { frames } = await reconnect(user);
    const recovered = data(frames[0]).recovered_assessment as Record<string, unknown>;
    expect(recovered.progress).toEqual({ answered: 3, total: 3, current_question_index: 3 });
    expect(recovered.current_question).toBeUndefined();
  });
});

describe('completion', () => {
  it('scores stored answers and is idempotent', async () => {
    const { user, conn } = await student();
    await conn.message('start_assessment');
    await answer(conn, 'q1', 'a', 'r1'); // correct
    await answer(conn, 'q2', 'c', 'r2'); // wrong
    const [first] = await conn.message('complete_assessment', { request_id: 'done' });
    expect(first).toMatchObject({
      type: 'assessment_completed',
      request_id: 'done',
      data: { test_id: 'quiz-1', score: 1, total: 3, answered: 2, reason: 'submitted' },
    });
    backend.clock.advance(5_000);
    const [second] = await conn.message('complete_assessment');
    expect(second?.data).toEqual(first?.data);
    expect(await conn.message('start_assessment')).toMatchObject([
      { error: { code: 'assessment_completed' } },
    ]);
    expect(await answer(conn, 'q3', 'c', 'r3')).toMatchObject([{ error: { code: 'assessment_completed' } }]);
    // A reconnect learns the outcome.
    const { frames } = await reconnect(user);
    expect(types(frames)).toEqual(['auth_success', 'assessment_completed']);
    expect(data(frames[0]).recovered).toBe(false);
    expect(frames[1]?.data).toEqual(first?.data);
  });
});

describe('deadline', () => {
  it('accepts an answer just before the deadline and refuses one at it', async () => {
    const { conn } = await student();
    await conn.message('start_assessment');
    backend.clock.advance(300_000 - 1);
    expect(types(await answer(conn, 'q1', 'a', 'r1'))).toEqual(['answer_feedback', 'question']);
    backend.clock.advance(1);
    // The answer that finds the deadline passed finishes the attempt and says how it ended.
    expect(await answer(conn, 'q2', 'b', 'r2')).toMatchObject([
      { type: 'error', error: { code: 'time_up' }, request_id: 'r2' },
      {
        type: 'assessment_completed',
        data: { reason: 'time_up', score: 1, answered: 1 },
        request_id: 'r2',
      },
    ]);
    const [status] = await conn.message('get_assessment_status');
    expect(data(status)).toMatchObject({
      is_in_assessment: false,
      assessment: { score: 1, answered: 1, reason: 'time_up' },
    });
  });

  it('finishes overdue assessments in the sweep and tells a connected student', async () => {
    const { conn } = await student();
    await conn.message('start_assessment');
    await answer(conn, 'q1', 'a', 'r1');
    backend.clock.advance(301_000);
    const report = await backend.handlers.sweep(sweepEvent(backend.clock.now()));
    expect(report.finishedOverdue).toBeGreaterThanOrEqual(1);
    const pushed = conn.take();
    expect(pushed).toMatchObject([
      { type: 'assessment_completed', data: { reason: 'time_up', score: 1, answered: 1 } },
    ]);
    expect(data(pushed[0]).completed_at).toBe(
      new Date(backend.clock.now() - 1_000).toISOString(), // completed at the deadline
    );
    // Nothing is left for the next sweep.
    expect((await backend.handlers.sweep(sweepEvent(backend.clock.now()))).finishedOverdue).toBe(0);
  });

  it('a student who reconnects after the deadline sees the result at once', async () => {
    const { user, conn } = await student();
    await conn.message('start_assessment');
    await answer(conn, 'q1', 'b', 'r1');
    await conn.disconnect();
    backend.clock.advance(400_000);
    const { frames } = await reconnect(user);
    expect(types(frames)).toEqual(['auth_success', 'assessment_completed']);
    expect(data(frames[0])).toMatchObject({ recovered: false });
    expect(data(frames[1])).toMatchObject({ reason: 'time_up', score: 0, answered: 1 });
  });
});

describe('hostile frames for every type', () => {
  const hostile: [string, object][] = [
    ['data that is not an object', { data: 'x' }],
    ['data that is an array', { data: [1, 2] }],
    ['a numeric request_id', { request_id: 12 }],
    ['an empty request_id', { request_id: '' }],
    ['an oversized request_id', { request_id: 'r'.repeat(65) }],
  ];

  it.each([...MESSAGE_TYPES])('%s: typed invalid_message errors, and nothing stored', async (type) => {
    const { conn } = await student();
    await conn.message('start_assessment');
    await answer(conn, 'q1', 'a', 'first');
    for (const [, fields] of hostile) {
      const frames = await conn.message(type, fields);
      expect(frames).toHaveLength(1);
      expect(frames[0]).toMatchObject({ type: 'error', error: { code: 'invalid_message' } });
    }
    await conn.send({ action: 'message', type: 42 });
    expect(conn.take()).toMatchObject([
      { error: { code: 'invalid_message', message: expect.stringContaining('type') } },
    ]);
    const [status] = await conn.message('get_assessment_status');
    expect(data(status)).toMatchObject({ is_in_assessment: true, assessment: { progress: { answered: 1 } } });
  });
});

describe('DynamoDB round trips', () => {
  it('stays within the targets: auth with recovery 4 (+1 beside the reply), submit_answer 2', async () => {
    const { user, conn } = await student();
    await conn.message('get_test_info'); // warms the test cache, as any live container has
    await conn.message('start_assessment');
    const counter = backend.dynamo.counter;

    counter.reset();
    await answer(conn, 'q1', 'a', 'r1');
    // The frame count (which returns the connection), then the conditional answer write, with
    // the read of the test's proctor subscriptions beside it.
    expect(counter.roundTrips).toBe(2);
    expect(counter.operations.sort()).toEqual(['GetItem', 'UpdateItem', 'UpdateItem']);

    // Auth with recovery after a drop: the connection read, then claim + save + recovery read.
    await conn.disconnect();
    const fresh = await backend.connect('?test_id=quiz-1');
    counter.reset();
    const frames = await fresh.auth(await backend.token(user));
    expect(data(frames[0]).recovered).toBe(true);
    // The connection read beside the frame count, the identity binding, the key claim (with
    // the proctor subscriptions read beside it), then the connection update and the attempt's
    // holder binding (which returns it for recovery); then, beside the reply, the new event in
    // the key's connection history.
    expect(counter.roundTrips).toBe(5);
    expect(counter.operations.sort()).toEqual([
      'GetItem',
      'GetItem',
      'UpdateItem',
      'UpdateItem',
      'UpdateItem',
      'UpdateItem',
      'UpdateItem',
      'UpdateItem',
    ]);

    // Replacing a live older connection: removing the older record goes beside the history write.
    const second = await backend.connect('?test_id=quiz-1');
    counter.reset();
    await second.auth(await backend.token(user));
    expect(counter.roundTrips).toBe(5);
    expect(counter.operations.filter((o) => o === 'DeleteItem')).toHaveLength(1);

    // The rest of docs/architecture.md's table.
    const measure = async (run: () => Promise<unknown>) => {
      counter.reset();
      await run();
      return { roundTrips: counter.roundTrips, requests: counter.requests };
    };
    // A heartbeat is one request: the frame count returns the connection record.
    expect(await measure(() => second.message('heartbeat'))).toEqual({ roundTrips: 1, requests: 1 });
    expect(await measure(() => second.message('get_question'))).toEqual({ roundTrips: 2, requests: 2 });
    expect(await measure(() => second.message('get_assessment_status'))).toEqual({
      roundTrips: 2,
      requests: 2,
    });
    expect(await measure(() => answer(second, 'q1', 'a', 'r1'))).toEqual({ roundTrips: 3, requests: 4 }); // duplicate
    expect(await measure(() => second.message('complete_assessment'))).toEqual({
      roundTrips: 3,
      requests: 4,
    });
    // The record's delete, then the key release (recording the end) with the subscriptions read.
    expect(await measure(() => second.disconnect())).toEqual({ roundTrips: 2, requests: 3 });
    expect(await measure(() => backend.connect('?test_id=quiz-1'))).toEqual({ roundTrips: 1, requests: 1 });
    const other = await student();
    expect(await measure(() => other.conn.message('start_assessment'))).toEqual({
      roundTrips: 2,
      requests: 3,
    });
    expect(await measure(() => other.conn.message('start_assessment'))).toEqual({
      roundTrips: 3,
      requests: 4,
    });
    // Unrouted frames are rate-limited too: one count on the connection record.
    expect(await measure(() => other.conn.sendRaw('not json'))).toEqual({ roundTrips: 1, requests: 1 });
  });
});
