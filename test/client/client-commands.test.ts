import { AssessmentClientError } from '../../client/index';
import { createHarness } from './fakes';

describe('commands: frames and request matching', () => {
  it('sends every command as {action: "message", type, request_id, data} and resolves with the matching reply', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();

    const info = h.client.getTestInfo();
    const status = h.client.getStatus();
    const question = h.client.getQuestion();
    const started = h.client.startAssessment();
    const completed = h.client.completeAssessment();
    const pong = h.client.heartbeat();
    expect(ws.messages()).toEqual([
      { action: 'message', type: 'get_test_info', request_id: 'req-1', data: {} },
      { action: 'message', type: 'get_assessment_status', request_id: 'req-2', data: {} },
      { action: 'message', type: 'get_question', request_id: 'req-3', data: {} },
      { action: 'message', type: 'start_assessment', request_id: 'req-4', data: {} },
      { action: 'message', type: 'complete_assessment', request_id: 'req-5', data: {} },
      { action: 'message', type: 'heartbeat', request_id: 'req-6', data: {} },
    ]);

    // Replies arrive in any order and are matched by request_id, not by arrival.
    ws.receive({ type: 'pong', request_id: 'req-6', data: { server_time: 'now' } });
    ws.receive({ type: 'assessment_completed', request_id: 'req-5', data: { score: 2, total: 3 } });
    ws.receive({ type: 'assessment_recovered', request_id: 'req-4', data: { assessment_id: 'a1' } });
    ws.receive({ type: 'question', request_id: 'req-3', data: { question_id: 'q2' } });
    ws.receive({ type: 'assessment_status', request_id: 'req-2', data: { is_in_assessment: true } });
    ws.receive({ type: 'test_info', request_id: 'req-1', data: { title: 'Demo' } });
    await expect(info).resolves.toEqual({ title: 'Demo' });
    await expect(status).resolves.toEqual({ is_in_assessment: true });
    await expect(question).resolves.toEqual({ question_id: 'q2' });
    await expect(started).resolves.toEqual({ assessment_id: 'a1' });
    await expect(completed).resolves.toEqual({ score: 2, total: 3 });
    await expect(pong).resolves.toEqual({ server_time: 'now' });
    h.client.close();
  });

  it('emits typed events for server frames, including ones that answer a request', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();
    const seen: string[] = [];
    for (const type of ['question', 'assessment_started', 'test_info', 'assessment_completed'] as const) {
      h.client.on(type, (_data, meta) => seen.push(`${type}:${meta.request_id ?? '-'}`));
    }
    const started = h.client.startAssessment();
    ws.receive({ type: 'assessment_started', request_id: 'req-1', data: { assessment_id: 'a1' } });
    ws.receive({ type: 'question', request_id: 'req-1', data: { question_id: 'q1' } });
    ws.receive({ type: 'assessment_completed', data: { reason: 'time_up' } });
    await started;
    expect(seen).toEqual(['assessment_started:req-1', 'question:req-1', 'assessment_completed:-']);
    h.client.close();
  });

  it('ai_feedback: a turn a racing request repeats is emitted once', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();
    const turns: string[] = [];
    h.client.on('ai_feedback', (data, meta) => turns.push(`${data.turn}:${meta.request_id ?? '-'}`));
    const turn = (n: number, requestId: string, thread = 'th-1') => ({
      type: 'ai_feedback',
      request_id: requestId,
      data: { question_id: `q${n}`, thread_id: thread, turn: n, feedback: `f${n}` },
    });
    ws.receive(turn(1, 'r2'));
    ws.receive(turn(2, 'r2'));
    ws.receive(turn(1, 'r1')); // the overtaken request's repeat
    ws.receive(turn(1, 'r9', 'th-2')); // another thread's turn 1 is news
    expect(turns).toEqual(['1:r2', '2:r2', '1:r9']);
    h.client.close();
  });

  it('proctor extension: subscribe and unsubscribe carry the test id, live events arrive as events', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();
    const events: string[] = [];
    h.client.on('proctor_event', (data) => events.push(`${data.event}:${data.student.user_id}`));
    const snapshot = h.client.proctorSubscribe('exam-1');
    expect(ws.messages()).toEqual([
      { action: 'message', type: 'proctor_subscribe', request_id: 'req-1', data: { test_id: 'exam-1' } },
    ]);
    ws.receive({ type: 'proctor_snapshot', request_id: 'req-1', data: { test_id: 'exam-1', students: [] } });
    await expect(snapshot).resolves.toEqual({ test_id: 'exam-1', students: [] });
    ws.receive({
      type: 'proctor_event',
      data: { test_id: 'exam-1', event: 'dropped', student: { user_id: 'ana' } },
    });
    expect(events).toEqual(['dropped:ana']);

    const refused = h.client.proctorSubscribe('exam-2');
    ws.receive({ type: 'error', request_id: 'req-2', error: { code: 'forbidden', message: 'not yours' } });
    await expect(refused).rejects.toMatchObject({ code: 'forbidden', requestId: 'req-2' });

    const gone = h.client.proctorUnsubscribe('exam-1');
    expect(ws.messages().at(-1)).toEqual({
      action: 'message',
      type: 'proctor_unsubscribe',
      request_id: 'req-3',
      data: { test_id: 'exam-1' },
    });
    ws.receive({ type: 'proctor_unsubscribed', request_id: 'req-3', data: { test_id: 'exam-1' } });
    await expect(gone).resolves.toEqual({ test_id: 'exam-1' });
    h.client.close();
  });

  it('rejects with the server error code when an error carries the request_id, and emits it', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();
    const errors: unknown[] = [];
    h.client.on('error', (e) => errors.push(e));
    const question = h.client.getQuestion();
    ws.receive({
      type: 'error',
      request_id: 'req-1',
      error: { code: 'all_answered', message: 'every question is answered' },
    });
    const error = await question.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssessmentClientError);
    expect(error).toMatchObject({ code: 'all_answered', requestId: 'req-1', source: 'server' });
    expect(errors).toEqual([
      { code: 'all_answered', message: 'every question is answered', request_id: 'req-1', source: 'server' },
    ]);
    h.client.close();
  });

  it('rejects with timeout when no reply comes within requestTimeoutMs', async () => {
    const h = createHarness({ requestTimeoutMs: 2000 });
    void h.client.connect();
    await h.acceptNext();
    const info = h.client.getTestInfo();
    const settled = jest.fn();
    info.then(settled, settled);
    await h.timers.advance(1999);
    expect(settled).not.toHaveBeenCalled();
    await h.timers.advance(1);
    await expect(info).rejects.toMatchObject({ code: 'timeout', requestId: 'req-1' });
    h.client.close();
  });

  it('queues commands while reconnecting and sends them after the auth', async () => {
    const h = createHarness();
    void h.client.connect();
    const first = await h.acceptNext();
    first.drop();
    const info = h.client.getTestInfo();
    await h.timers.advance(500);
    const second = await h.acceptNext();
    expect(second.messages('get_test_info')).toEqual([
      { action: 'message', type: 'get_test_info', request_id: 'req-1', data: {} },
    ]);
    second.receive({ type: 'test_info', request_id: 'req-1', data: { title: 'Demo' } });
    await expect(info).resolves.toEqual({ title: 'Demo' });
    h.client.close();
  });

  it('resends a command that was in flight on a dropped connection, with the same request_id', async () => {
    const h = createHarness();
    void h.client.connect();
    const first = await h.acceptNext();
    const status = h.client.getStatus();
    expect(first.messages('get_assessment_status')).toHaveLength(1);
    first.drop();
    await h.timers.advance(500);
    const second = await h.acceptNext();
    expect(second.messages('get_assessment_status')).toEqual(first.messages('get_assessment_status'));
    second.receive({ type: 'assessment_status', request_id: 'req-1', data: { is_in_assessment: false } });
    await expect(status).resolves.toEqual({ is_in_assessment: false });
    h.client.close();
  });

  it('rejects pending commands with closed on close(), and refuses commands before connect()', async () => {
    const h = createHarness();
    await expect(h.client.getTestInfo()).rejects.toMatchObject({ code: 'not_connected' });
    void h.client.connect();
    await h.acceptNext();
    const info = h.client.getTestInfo();
    h.client.close();
    await expect(info).rejects.toMatchObject({ code: 'closed' });
    expect(h.timers.pending).toBe(0);
  });
});
