import { AssessmentClient, outboxStorageKey } from '../../client/index';
import { createHarness, flush } from './fakes';

const KEY = outboxStorageKey('ws://test.invalid/local', 'demo');
const stored = (h: ReturnType<typeof createHarness>) =>
  JSON.parse(h.storage.getItem(KEY) ?? '[]') as { request_id: string }[];
const feedback = (requestId: string, questionId: string, duplicate = false, answered = 1) => ({
  type: 'answer_feedback',
  request_id: requestId,
  data: {
    question_id: questionId,
    accepted: true,
    duplicate,
    progress: { answered, total: 3, current_question_index: answered },
  },
});

describe('answer outbox', () => {
  it('sends an answer at once when open, resolves on answer_feedback and forgets it', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();
    const answer = h.client.submitAnswer('q1', 'WebSocket');
    expect(ws.messages('submit_answer')).toEqual([
      {
        action: 'message',
        type: 'submit_answer',
        request_id: 'req-1',
        data: { question_id: 'q1', selected_option: 'WebSocket' },
      },
    ]);
    expect(stored(h).map((e) => e.request_id)).toEqual(['req-1']);
    ws.receive(feedback('req-1', 'q1'));
    await expect(answer).resolves.toMatchObject({ question_id: 'q1', duplicate: false });
    expect(h.storage.getItem(KEY)).toBeNull();
    expect(h.client.pendingAnswers).toEqual([]);
    h.client.close();
  });

  it('keeps an answer given while offline and sends it after the next auth', async () => {
    const h = createHarness();
    void h.client.connect();
    const first = await h.acceptNext();
    first.drop();
    const answer = h.client.submitAnswer('q1', 'WebSocket');
    expect(h.client.pendingAnswers.map((e) => e.request_id)).toEqual(['req-1']);
    await h.timers.advance(500);
    const second = await h.acceptNext();
    expect(second.messages('submit_answer').map((f) => f.request_id)).toEqual(['req-1']);
    second.receive(feedback('req-1', 'q1'));
    await expect(answer).resolves.toMatchObject({ question_id: 'q1' });
    h.client.close();
  });

  it('resends an unacknowledged answer with the SAME request_id after a reconnect; the duplicate ack clears it', async () => {
    const h = createHarness();
    void h.client.connect();
    const first = await h.acceptNext();
    const answer = h.client.submitAnswer('q1', 'WebSocket');
    const [sent] = first.messages('submit_answer');
    first.drop(); // dropped between the send and the acknowledgement
    await h.timers.advance(500);
    const second = await h.acceptNext();
    const [resent] = second.messages('submit_answer');
    expect(resent).toEqual(sent);
    second.receive(feedback('req-1', 'q1', true));
    await expect(answer).resolves.toMatchObject({ duplicate: true });
    expect(h.client.pendingAnswers).toEqual([]);
    // Acknowledged: not resent after a further reconnect.
    second.drop();
    await h.timers.advance(2000);
    const third = await h.acceptNext();
    expect(third.messages('submit_answer')).toEqual([]);
    h.client.close();
  });

  it('sends queued answers one at a time, in order', async () => {
    const h = createHarness();
    void h.client.connect();
    const first = await h.acceptNext();
    first.drop();
    void h.client.submitAnswer('q1', 'a');
    void h.client.submitAnswer('q2', 'b');
    await h.timers.advance(500);
    const ws = await h.acceptNext();
    expect(ws.messages('submit_answer').map((f) => f.data?.question_id)).toEqual(['q1']);
    ws.receive(feedback('req-1', 'q1'));
    expect(ws.messages('submit_answer').map((f) => f.data?.question_id)).toEqual(['q1', 'q2']);
    ws.receive(feedback('req-2', 'q2', false, 2));
    expect(h.client.pendingAnswers).toEqual([]);
    h.client.close();
  });

  it('deduplicates a double submit of the same answer into one request', async () => {
    const h = createHarness();
    void h.client.connect();
    const first = await h.acceptNext();
    first.drop();
    const a = h.client.submitAnswer('q1', 'a');
    const b = h.client.submitAnswer('q1', 'a');
    expect(h.client.pendingAnswers).toHaveLength(1);
    await h.timers.advance(500);
    const ws = await h.acceptNext();
    expect(ws.messages('submit_answer')).toHaveLength(1);
    ws.receive(feedback('req-1', 'q1'));
    await expect(a).resolves.toMatchObject({ question_id: 'q1' });
    await expect(b).resolves.toMatchObject({ question_id: 'q1' });
    h.client.close();
  });

  it.each(['already_answered', 'time_up', 'assessment_completed', 'request_id_reused', 'invalid_question'])(
    'drops the answer on the final error %s and rejects with that code',
    async (code) => {
      const h = createHarness();
      void h.client.connect();
      const ws = await h.acceptNext();
      const answer = h.client.submitAnswer('q1', 'a');
      ws.receive({ type: 'error', request_id: 'req-1', error: { code, message: code } });
      await expect(answer).rejects.toMatchObject({ code, requestId: 'req-1', source: 'server' });
      expect(h.client.pendingAnswers).toEqual([]);
      expect(h.storage.getItem(KEY)).toBeNull();
      ws.drop();
      await h.timers.advance(500);
      const next = await h.acceptNext();
      expect(next.messages('submit_answer')).toEqual([]);
      h.client.close();
    },
  );

  it('keeps the answer on internal_error and retries it with the same request_id', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();
    const answer = h.client.submitAnswer('q1', 'a');
    ws.receive({ type: 'error', request_id: 'req-1', error: { code: 'internal_error', message: 'oops' } });
    expect(h.client.pendingAnswers).toHaveLength(1);
    await h.timers.advance(500); // random 0.5 * base 1000
    expect(ws.messages('submit_answer').map((f) => f.request_id)).toEqual(['req-1', 'req-1']);
    ws.receive(feedback('req-1', 'q1'));
    await expect(answer).resolves.toMatchObject({ question_id: 'q1' });
    h.client.close();
  });

  it('survives a page reload: a new client with the same storage resends the stored answer', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();
    void h.client.submitAnswer('q1', 'a').catch(() => {});
    const [sent] = ws.messages('submit_answer');
    h.client.close(); // the page goes away before the ack
    expect(stored(h).map((e) => e.request_id)).toEqual(['req-1']);

    const reloaded = createHarness({ storage: h.storage, generateId: () => 'fresh-id' });
    const acks: string[] = [];
    reloaded.client.on('answer_feedback', (_d, meta) => acks.push(meta.request_id ?? ''));
    expect(reloaded.client.pendingAnswers.map((e) => e.request_id)).toEqual(['req-1']);
    void reloaded.client.connect();
    const ws2 = await reloaded.acceptNext();
    expect(ws2.messages('submit_answer')).toEqual([sent]);
    ws2.receive(feedback('req-1', 'q1', true));
    expect(acks).toEqual(['req-1']);
    expect(reloaded.storage.getItem(KEY)).toBeNull();
    reloaded.client.close();
  });

  it('never sends another user’s stored answers', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext('alice');
    void h.client.submitAnswer('q1', 'a').catch(() => {});
    expect(ws.messages('submit_answer')).toHaveLength(1);
    h.client.close();

    const other = createHarness({ storage: h.storage });
    void other.client.connect();
    const ws2 = await other.acceptNext('bob');
    expect(ws2.messages('submit_answer')).toEqual([]);
    expect(other.client.pendingAnswers).toEqual([]);
    other.client.close();
  });

  it('refuses answers beyond maxOutboxEntries with outbox_full', async () => {
    const h = createHarness({ maxOutboxEntries: 2 });
    void h.client.connect();
    await flush();
    void h.client.submitAnswer('q1', 'a').catch(() => {});
    void h.client.submitAnswer('q2', 'a').catch(() => {});
    await expect(h.client.submitAnswer('q3', 'a')).rejects.toMatchObject({ code: 'outbox_full' });
    expect(h.client.pendingAnswers).toHaveLength(2);
    h.client.close();
  });

  it('after session_replaced: never resends, leaves storage to the other tab, rejects the answer', async () => {
    const h = createHarness();
    void h.client.connect();
    const ws = await h.acceptNext();
    const answer = h.client.submitAnswer('q1', 'a');
    const storedBefore = h.storage.getItem(KEY);
    const outboxEvents: number[] = [];
    h.client.on('outbox', (entries) => outboxEvents.push(entries.length));
    ws.receive({ type: 'session_replaced', data: { connection_id: 'u1_demo' } });
    ws.drop(1000);
    await expect(answer).rejects.toMatchObject({ code: 'session_replaced' });
    expect(h.client.state).toBe('replaced');
    expect(h.client.pendingAnswers).toEqual([]);
    expect(outboxEvents).toEqual([0]);
    expect(h.storage.getItem(KEY)).toBe(storedBefore);
    await expect(h.client.submitAnswer('q1', 'a')).rejects.toMatchObject({ code: 'session_replaced' });
    await h.timers.advance(600_000);
    expect(h.sockets).toHaveLength(1);
    expect(ws.messages('submit_answer')).toHaveLength(1);
  });

  it('uses localStorage by default when present', () => {
    const h = createHarness();
    const fakeLocalStorage = h.storage;
    (globalThis as { localStorage?: unknown }).localStorage = fakeLocalStorage;
    try {
      const { storage: _default, ...withoutStorage } = h.options;
      const client = new AssessmentClient(withoutStorage);
      void client.connect();
      void client.submitAnswer('q1', 'a').catch(() => {});
      expect(fakeLocalStorage.getItem(KEY)).not.toBeNull();
      client.close();
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });
});
