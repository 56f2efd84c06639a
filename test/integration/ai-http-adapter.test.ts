/**
 * The HTTP adapter of the AI service against the local fake (a real HTTP server): idempotency
 * keys, retries with backoff, per-attempt timeouts, and errors translated into typed classes.
 */
import {
  AiServiceRejectedError,
  AiServiceResponseError,
  AiServiceUnavailableError,
  HttpAiService,
} from '../../lambdas/adapters/ai/http-ai-service';
import type { AiAnswer } from '../../lambdas/core/ports';
import { type FakeAiService, startFakeAiService } from '../../scripts/fake-ai-service';

let fake: FakeAiService;
beforeAll(async () => {
  fake = await startFakeAiService();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const adapter = (options: { timeoutMs?: number; maxAttempts?: number } = {}) =>
  new HttpAiService({ baseUrl: `${fake.url}/`, backoffMs: 10, random: () => 0.5, ...options });

const answer = (n: number, option = 'a'): AiAnswer => ({
  requestId: `r${n}`,
  questionId: `q${n}`,
  questionIndex: n - 1,
  questionText: `Question ${n}?`,
  options: ['a', 'b'],
  selectedOption: option,
});

async function newThread(ai = adapter()): Promise<string> {
  const { threadId } = await ai.createThread({ assessmentId: `a-${Math.random()}`, testId: 'quiz-1' }, 'k');
  return threadId;
}

test('creates a thread once per idempotency key', async () => {
  const ai = adapter();
  const first = await ai.createThread({ assessmentId: 'a-1', testId: 'quiz-1' }, 'a-1');
  const again = await ai.createThread({ assessmentId: 'a-1', testId: 'quiz-1' }, 'a-1');
  expect(again).toEqual(first);
  expect(fake.threads()).toEqual([
    { threadId: first.threadId, assessmentId: 'a-1', testId: 'quiz-1', turns: [] },
  ]);
});

test('sends an answer with its idempotency key and returns the reply', async () => {
  const ai = adapter();
  const threadId = await newThread(ai);
  const reply = await ai.sendAnswer(threadId, answer(1, 'b'), `${threadId}:r1`);
  expect(reply).toEqual({
    turn: 1,
    feedback: expect.stringContaining('"b"'),
    nextQuestion: { text: expect.any(String) },
  });
  expect(fake.thread(threadId)?.turns).toEqual([
    {
      turn: 1,
      requestId: 'r1',
      questionId: 'q1',
      questionIndex: 0,
      selectedOption: 'b',
      idempotencyKey: `${threadId}:r1`,
    },
  ]);
});

test('a 503 before processing is retried once and makes one turn', async () => {
  const ai = adapter();
  const threadId = await newThread(ai);
  fake.fail({ count: 1, status: 503 });
  const before = fake.requests.length;
  const reply = await ai.sendAnswer(threadId, answer(1), 'key-1');
  expect(reply.turn).toBe(1);
  expect(fake.requests.length - before).toBe(2);
  expect(fake.thread(threadId)?.turns).toHaveLength(1);
});

test('a response lost after processing is retried and replayed, never a second turn', async () => {
  const ai = adapter();
  const threadId = await newThread(ai);
  fake.fail({ count: 1, status: 502, when: 'after' });
  const reply = await ai.sendAnswer(threadId, answer(1), 'key-1');
  expect(reply.turn).toBe(1);
  // The same answer sent again later (a redelivery) is the same turn as well.
  expect(await ai.sendAnswer(threadId, answer(1), 'key-1')).toEqual(reply);
  expect(fake.thread(threadId)?.turns.map((t) => t.requestId)).toEqual(['r1']);
});

test('an attempt that outlives its timeout is abandoned and retried', async () => {
  const ai = adapter({ timeoutMs: 100 });
  const threadId = await newThread(ai);
  fake.fail({ count: 1, status: 503, delayMs: 1000 });
  const reply = await ai.sendAnswer(threadId, answer(1), 'key-1');
  expect(reply.turn).toBe(1);
  expect(fake.thread(threadId)?.turns).toHaveLength(1);
});

test('every attempt failing is AiServiceUnavailableError, with the last failure as cause', async () => {
  const ai = adapter({ timeoutMs: 100, maxAttempts: 2 });
  const threadId = await newThread(ai);
  fake.fail({ count: 2, status: 503, delayMs: 1000 });
  const error = await ai.sendAnswer(threadId, answer(1), 'key-1').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AiServiceUnavailableError);
  const cause = (error as Error).cause as Error;
  expect(cause).toBeInstanceOf(AiServiceUnavailableError);
  expect(cause.message).toMatch(/timed out after 100 ms/);
  expect((cause.cause as Error).name).toBe('TimeoutError');
  expect(fake.thread(threadId)?.turns).toEqual([]);

  fake.fail({ count: 3, status: 500 });
  const failed = await ai.sendAnswer(threadId, answer(1), 'key-1').catch((e: unknown) => e);
  expect(failed).toMatchObject({ name: 'AiServiceUnavailableError', status: 500 });
});

test('an unreachable service is AiServiceUnavailableError', async () => {
  const gone = await startFakeAiService();
  const url = gone.url;
  await gone.close();
  const ai = new HttpAiService({ baseUrl: url, backoffMs: 1, maxAttempts: 2 });
  await expect(ai.createThread({ assessmentId: 'a', testId: 't' }, 'k')).rejects.toBeInstanceOf(
    AiServiceUnavailableError,
  );
});

test('a 4xx is not retried: AiServiceRejectedError with the status', async () => {
  const ai = adapter();
  const before = fake.requests.length;
  const error = await ai.sendAnswer('no-such-thread', answer(1), 'key-1').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AiServiceRejectedError);
  expect(error).toMatchObject({ status: 404 });
  expect(fake.requests.length - before).toBe(1);

  const threadId = await newThread(ai);
  await ai.sendAnswer(threadId, answer(1, 'a'), 'key-1');
  // The same key with another body is refused, not turned into a second answer.
  await expect(ai.sendAnswer(threadId, answer(1, 'b'), 'key-1')).rejects.toMatchObject({
    name: 'AiServiceRejectedError',
    status: 422,
  });
  expect(fake.thread(threadId)?.turns).toHaveLength(1);
});

test("the caller's abort signal stops retries", async () => {
  const ai = adapter({ timeoutMs: 5000 });
  const threadId = await newThread(ai);
  fake.fail({ count: 5, status: 503, delayMs: 1000 });
  const before = fake.requests.length;
  const error = await ai
    .sendAnswer(threadId, answer(1), 'key-1', { signal: AbortSignal.timeout(50) })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AiServiceUnavailableError);
  expect((error as Error).message).toMatch(/time budget/);
  expect(fake.requests.length - before).toBe(1);
});

describe('bodies that break the API are AiServiceResponseError', () => {
  const respond = (status: number, body: string) =>
    new HttpAiService({
      baseUrl: 'http://ai.invalid',
      fetch: async () => new Response(body, { status, headers: { 'content-type': 'application/json' } }),
    });

  test.each([
    ['not JSON', '<html>'],
    ['a thread id with a slash', JSON.stringify({ thread_id: '../admin' })],
    ['no thread id', JSON.stringify({})],
  ])('createThread: %s', async (_name, body) => {
    await expect(
      respond(201, body).createThread({ assessmentId: 'a', testId: 't' }, 'k'),
    ).rejects.toBeInstanceOf(AiServiceResponseError);
  });

  test.each([
    ['feedback too long', JSON.stringify({ turn: 1, feedback: 'x'.repeat(4001) })],
    ['turn 0', JSON.stringify({ turn: 0, feedback: 'ok' })],
    ['feedback missing', JSON.stringify({ turn: 1 })],
  ])('sendAnswer: %s', async (_name, body) => {
    await expect(respond(200, body).sendAnswer('t-1', answer(1), 'k')).rejects.toBeInstanceOf(
      AiServiceResponseError,
    );
  });

  test('a reply without a generated question is feedback only', async () => {
    const reply = await respond(
      200,
      JSON.stringify({ turn: 2, feedback: 'ok', next_question: null }),
    ).sendAnswer('t-1', answer(1), 'k');
    expect(reply).toEqual({ turn: 2, feedback: 'ok' });
  });
});
