/**
 * The AI service's thread end to end in one process: the real route handlers on dynalite, the
 * real HTTP adapter (configured through AI_SERVICE_URL, as a deployed function is), and the fake
 * AI service as a real HTTP server that records what it received.
 */
import type { ServerFrame } from '../../protocol';
import { type FakeAiService, startFakeAiService } from '../../scripts/fake-ai-service';
import { Backend, type TestConnection } from '../support/backend';

let fake: FakeAiService;
let backend: Backend;
beforeAll(async () => {
  fake = await startFakeAiService();
  backend = await Backend.start({ env: { AI_SERVICE_URL: fake.url, AI_SERVICE_TIMEOUT_MS: '300' } });
});
afterAll(async () => {
  await backend.stop();
  await fake.close();
});
beforeEach(() => fake.reset());

const types = (frames: ServerFrame[]) => frames.map((f) => f.type);
const data = (f: ServerFrame | undefined) => f?.data as Record<string, unknown>;

let userSeq = 0;
async function connect(user: string): Promise<{ conn: TestConnection; auth: ServerFrame[] }> {
  const conn = await backend.connect('?test_id=quiz-1');
  const auth = await conn.auth(await backend.token(user));
  return { conn, auth };
}
const answer = (conn: TestConnection, questionId: string, option: string, requestId: string) =>
  conn.message('submit_answer', {
    request_id: requestId,
    data: { question_id: questionId, selected_option: option },
  });

test('drop mid-assessment, recover: one thread receives every answer once, in order', async () => {
  const user = `ai-student-${++userSeq}`;
  const { conn } = await connect(user);
  const started = await conn.message('start_assessment', { request_id: 's' });
  expect(types(started)).toEqual(['assessment_started', 'question']);
  const threadId = data(started[0]).thread_id as string;
  expect(fake.threads().map((t) => t.threadId)).toEqual([threadId]);

  const first = await answer(conn, 'q1', 'a', 'r1');
  expect(types(first)).toEqual(['answer_feedback', 'question', 'ai_feedback']);
  expect(first[2]).toMatchObject({
    request_id: 'r1',
    data: { question_id: 'q1', thread_id: threadId, turn: 1 },
  });

  // The socket drops; the client reconnects and resends the answer whose reply it never saw.
  await conn.disconnect();
  const { conn: back, auth } = await connect(user);
  expect(auth[0]).toMatchObject({
    type: 'auth_success',
    data: { recovered: true, recovered_assessment: { thread_id: threadId, progress: { answered: 1 } } },
  });
  expect(types(await answer(back, 'q1', 'a', 'r1'))).toEqual(['answer_feedback']);
  expect(types(await back.message('start_assessment'))).toEqual(['assessment_recovered', 'question']);
  await answer(back, 'q2', 'b', 'r2');
  const last = await answer(back, 'q3', 'c', 'r3');
  expect(types(last)).toEqual(['answer_feedback', 'ai_feedback']);
  expect(data(last[1])).toMatchObject({ question_id: 'q3', turn: 3 });

  const [thread, ...others] = fake.threads();
  expect(others).toEqual([]);
  expect(thread?.turns.map((t) => [t.questionId, t.requestId, t.selectedOption])).toEqual([
    ['q1', 'r1', 'a'],
    ['q2', 'r2', 'b'],
    ['q3', 'r3', 'c'],
  ]);
  expect(thread?.turns.map((t) => t.idempotencyKey)).toEqual([
    `${threadId}:r1`,
    `${threadId}:r2`,
    `${threadId}:r3`,
  ]);
  // One thread and three turns: the resent answer made no request at all.
  expect(fake.requests).toHaveLength(4);
});

test('a 503 (before or after the service processed it) is retried and never makes a second turn', async () => {
  const { conn } = await connect(`ai-student-${++userSeq}`);
  fake.fail({ count: 1, status: 503 });
  const started = await conn.message('start_assessment');
  expect(types(started)).toEqual(['assessment_started', 'question']);
  const threadId = data(started[0]).thread_id as string;

  fake.fail({ count: 1, status: 503, when: 'after' });
  expect(types(await answer(conn, 'q1', 'a', 'r1'))).toEqual(['answer_feedback', 'question', 'ai_feedback']);
  fake.fail({ count: 1, status: 503 });
  expect(types(await answer(conn, 'q2', 'b', 'r2'))).toEqual(['answer_feedback', 'question', 'ai_feedback']);

  expect(fake.threads()).toHaveLength(1);
  expect(fake.thread(threadId)?.turns.map((t) => t.questionId)).toEqual(['q1', 'q2']);
  // Six requests reached the service for one thread and two turns: three firsts, three retries.
  expect(fake.requests).toHaveLength(6);
});

test('service down: the assessment continues and the notice arrives; a missed turn is sent later', async () => {
  const { conn } = await connect(`ai-student-${++userSeq}`);
  await conn.message('start_assessment');
  const threadId = fake.threads()[0]?.threadId;
  await answer(conn, 'q1', 'a', 'r1');

  fake.fail({ count: 100, status: 503 });
  const missed = await answer(conn, 'q2', 'b', 'r2');
  expect(types(missed)).toEqual(['answer_feedback', 'question', 'notice']);
  expect(missed[2]).toMatchObject({ request_id: 'r2', data: { code: 'ai_unavailable' } });

  fake.fail({ count: 0 });
  const next = await answer(conn, 'q3', 'c', 'r3');
  expect(types(next)).toEqual(['answer_feedback', 'ai_feedback', 'ai_feedback']);
  expect(fake.thread(threadId ?? '')?.turns.map((t) => t.questionId)).toEqual(['q1', 'q2', 'q3']);
  const [done] = await conn.message('complete_assessment');
  expect(done).toMatchObject({ type: 'assessment_completed', data: { score: 3 } });
});

test('service down at start: a local thread, the notice, and a normal assessment', async () => {
  const { conn } = await connect(`ai-student-${++userSeq}`);
  fake.fail({ count: 100, status: 503 });
  const started = await conn.message('start_assessment', { request_id: 's' });
  expect(types(started)).toEqual(['assessment_started', 'question', 'notice']);
  expect(data(started[0]).thread_id).toMatch(/^thread_/);
  expect(started[2]).toMatchObject({ request_id: 's', data: { code: 'ai_unavailable' } });

  fake.fail({ count: 0 });
  expect(types(await answer(conn, 'q1', 'a', 'r1'))).toEqual(['answer_feedback', 'question']);
  expect(fake.threads()).toEqual([]);
});
