/**
 * `npm start -- --ai-service fake` end to end: the local stack starts the fake AI service and
 * points the functions' AI_SERVICE_URL at it. A student drops mid-assessment and recovers over
 * real sockets; the fake sees one thread with every answer once, in order; when it fails, the
 * assessment goes on and the notice arrives.
 */
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';
import { TestClient } from './helpers';

interface Frame {
  type: string;
  data?: Record<string, unknown>;
  request_id?: string;
}

interface FakeThread {
  threadId: string;
  turns: { questionId: string; requestId: string; selectedOption: string; idempotencyKey: string }[];
}

let stack: LocalStackProcess;
let aiUrl: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  stack = await startLocalStackProcess({ extraArgs: ['--ai-service', 'fake'] });
  const ready = stack
    .output()
    .split('\n')
    .find((line) => line.startsWith('{"localStackReady":true'));
  aiUrl = (JSON.parse(ready ?? '{}') as { aiServiceUrl?: string }).aiServiceUrl ?? '';
}, 120_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await stack?.stop();
});

async function connect(user: string): Promise<{ client: TestClient; auth: Frame }> {
  const client = await TestClient.open(`${stack.wsUrl}?test_id=demo`);
  clients.push(client);
  client.send({ action: 'auth', token: await stack.token(user) });
  return { client, auth: await client.nextOfType<Frame>('auth_success') };
}

const answer = async (client: TestClient, questionId: string, option: string, requestId: string) => {
  client.send({
    action: 'message',
    type: 'submit_answer',
    request_id: requestId,
    data: { question_id: questionId, selected_option: option },
  });
  await client.nextOfType<Frame>('answer_feedback');
};

async function threads(): Promise<FakeThread[]> {
  const response = await fetch(`${aiUrl}/_fake/threads`);
  return ((await response.json()) as { threads: FakeThread[] }).threads;
}

test('the ready line names the fake AI service', () => {
  expect(aiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

test('drop and recover: one thread, every answer once, in order, with its feedback', async () => {
  const { client } = await connect('ai-e2e-1');
  client.send({ action: 'message', type: 'start_assessment', request_id: 'start' });
  const started = await client.nextOfType<Frame>('assessment_started');
  const threadId = started.data?.thread_id as string;
  const known = await threads();
  expect(known.map((t) => t.threadId)).toContain(threadId);

  await answer(client, 'q1', 'WebSocket', 'r1');
  const feedback = await client.nextOfType<Frame>('ai_feedback', 10_000);
  expect(feedback).toMatchObject({
    request_id: 'r1',
    data: { question_id: 'q1', thread_id: threadId, turn: 1 },
  });
  await answer(client, 'q2', '2 hours', 'r2');
  await client.nextOfType<Frame>('ai_feedback', 10_000);

  // The network drops; the student comes back on a new socket and carries on.
  client.ws.terminate();
  await client.waitClosed();
  const { client: back, auth } = await connect('ai-e2e-1');
  expect(auth.data).toMatchObject({ recovered: true, recovered_assessment: { thread_id: threadId } });
  await answer(back, 'q2', '2 hours', 'r2'); // a resend of the answer in flight at the drop
  await answer(back, 'q3', 'A scan', 'r3');
  const third = await back.nextOfType<Frame>('ai_feedback', 10_000);
  expect(third.data).toMatchObject({ question_id: 'q3', turn: 3 });

  const thread = (await threads()).find((t) => t.threadId === threadId);
  expect(thread?.turns.map((t) => [t.questionId, t.requestId])).toEqual([
    ['q1', 'r1'],
    ['q2', 'r2'],
    ['q3', 'r3'],
  ]);
});

test('the service down: the answer is stored, the notice arrives, the turn follows later', async () => {
  const { client } = await connect('ai-e2e-2');
  client.send({ action: 'message', type: 'start_assessment' });
  const threadId = (await client.nextOfType<Frame>('assessment_started')).data?.thread_id as string;

  await fetch(`${aiUrl}/_fake/fail`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ count: 100, status: 503 }),
  });
  await answer(client, 'q1', 'WebSocket', 'r1');
  expect(await client.nextOfType<Frame>('notice', 15_000)).toMatchObject({
    request_id: 'r1',
    data: { code: 'ai_unavailable' },
  });

  await fetch(`${aiUrl}/_fake/fail`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ count: 0 }),
  });
  await answer(client, 'q2', '2 hours', 'r2');
  const late = await client.nextOfType<Frame>('ai_feedback', 10_000);
  expect(late.data).toMatchObject({ question_id: 'q1', turn: 1 });
  const thread = (await threads()).find((t) => t.threadId === threadId);
  expect(thread?.turns.map((t) => t.questionId)).toEqual(['q1', 'q2']);
});
