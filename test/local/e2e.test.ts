/**
 * End to end through the real handlers (lambdas/handlers/*), on the local stack in a child
 * process: real WebSocket clients, dynalite, the @connections API and the scheduled sweep.
 * Frame shapes follow docs/protocol.md (and the protocol/ module).
 */
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';
import { TestClient } from './helpers';

interface Frame<D = Record<string, unknown>> {
  type: string;
  data?: D;
  error?: { code: string; message: string };
  request_id?: string;
  timestamp: string;
}

interface Progress {
  answered: number;
  total: number;
  current_question_index: number;
}

interface AssessmentView {
  assessment_id: string;
  test_id: string;
  thread_id: string;
  is_in_assessment: boolean;
  status: string;
  started_at: string;
  deadline: string;
  remaining_seconds: number;
  progress: Progress;
  current_question?: { question_id: string; index: number };
  answers: { question_id: string; selected_option: string }[];
}

interface AuthSuccess {
  user_id: string;
  test_id: string | null;
  connection_id: string;
  recovered: boolean;
  recovered_assessment?: AssessmentView;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const clients: TestClient[] = [];

async function open(stack: LocalStackProcess, query = '?test_id=demo'): Promise<TestClient> {
  const client = await TestClient.open(`${stack.wsUrl}${query}`);
  clients.push(client);
  return client;
}

async function authenticate(stack: LocalStackProcess, userId: string, query = '?test_id=demo') {
  const token = await stack.token(userId);
  const client = await open(stack, query);
  client.send({ action: 'auth', token });
  const frame = await client.nextJson<Frame<AuthSuccess>>();
  return { client, frame };
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

describe('local stack end to end (real handlers, default settings)', () => {
  let stack: LocalStackProcess;

  beforeAll(async () => {
    stack = await startLocalStackProcess();
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('auth, start, answer, drop, reconnect and recover', async () => {
    const first = await authenticate(stack, 'alice');
    expect(first.frame).toEqual({
      type: 'auth_success',
      data: { user_id: 'alice', test_id: 'demo', connection_id: 'alice_demo', recovered: false },
      timestamp: expect.stringMatching(ISO),
    });

    first.client.send({ action: 'message', type: 'start_assessment' });
    const started = await first.client.nextJson<Frame<AssessmentView>>();
    expect(started.type).toBe('assessment_started');
    expect(started.data).toMatchObject({
      test_id: 'demo',
      is_in_assessment: true,
      status: 'in_progress',
      progress: { answered: 0, total: 5, current_question_index: 0 },
      answers: [],
    });
    const question = await first.client.nextJson<Frame>();
    expect(question.type).toBe('question');
    expect(question.data).toEqual({
      question_id: 'q1',
      index: 0,
      total: 5,
      text: expect.any(String),
      options: ['WebSocket', 'FTP', 'SMTP', 'DNS'],
      remaining_seconds: expect.any(Number),
    });
    expect(JSON.stringify(question)).not.toContain('correct_option');

    first.client.send({
      action: 'message',
      type: 'submit_answer',
      request_id: 'r-1',
      data: { question_id: 'q1', selected_option: 'WebSocket' },
    });
    const feedback = await first.client.nextJson<Frame>();
    expect(feedback).toEqual({
      type: 'answer_feedback',
      data: {
        question_id: 'q1',
        accepted: true,
        duplicate: false,
        progress: { answered: 1, total: 5, current_question_index: 1 },
      },
      request_id: 'r-1',
      timestamp: expect.stringMatching(ISO),
    });
    const next = await first.client.nextJson<Frame<{ question_id: string; index: number }>>();
    expect(next).toMatchObject({
      type: 'question',
      request_id: 'r-1',
      data: { question_id: 'q2', index: 1 },
    });

    // Abrupt drop: no close frame, the TCP connection just goes.
    first.client.ws.terminate();
    await first.client.waitClosed();

    const second = await authenticate(stack, 'alice');
    expect(second.frame.type).toBe('auth_success');
    expect(second.frame.data).toMatchObject({ connection_id: 'alice_demo', recovered: true });
    expect(second.frame.data?.recovered_assessment).toMatchObject({
      assessment_id: started.data?.assessment_id,
      thread_id: started.data?.thread_id,
      test_id: 'demo',
      status: 'in_progress',
      progress: { answered: 1, total: 5, current_question_index: 1 },
      current_question: { question_id: 'q2', index: 1 },
      answers: [{ question_id: 'q1', selected_option: 'WebSocket' }],
    });

    // The same request again after the reconnect is a duplicate, not a second answer.
    second.client.send({
      action: 'message',
      type: 'submit_answer',
      request_id: 'r-1',
      data: { question_id: 'q1', selected_option: 'WebSocket' },
    });
    const duplicate = await second.client.nextJson<Frame>();
    expect(duplicate).toMatchObject({
      type: 'answer_feedback',
      request_id: 'r-1',
      data: { question_id: 'q1', duplicate: true, progress: { answered: 1 } },
    });
  });

  it('a second connection for the same user and test replaces the first', async () => {
    const first = await authenticate(stack, 'bob');
    expect(first.frame.data?.connection_id).toBe('bob_demo');

    const second = await authenticate(stack, 'bob');
    expect(second.frame).toMatchObject({ type: 'auth_success', data: { connection_id: 'bob_demo' } });

    const replaced = await first.client.nextOfType<Frame>('session_replaced');
    expect(replaced.data).toEqual({ connection_id: 'bob_demo' });
    await first.client.waitClosed();

    second.client.send({ action: 'message', type: 'heartbeat' });
    const pong = await second.client.nextOfType<Frame<{ server_time: string }>>('pong');
    expect(pong.data?.server_time).toMatch(ISO);
  });

  it('hostile frames before auth get invalid_json, unknown_action and not_authenticated', async () => {
    const client = await open(stack);
    client.send('this is not json');
    expect(await client.nextJson<Frame>()).toMatchObject({ type: 'error', error: { code: 'invalid_json' } });
    client.send({ action: 'dance' });
    expect(await client.nextJson<Frame>()).toMatchObject({
      type: 'error',
      error: { code: 'unknown_action' },
    });
    client.send({ action: 'message', type: 'start_assessment', request_id: 'q-9' });
    expect(await client.nextJson<Frame>()).toMatchObject({
      type: 'error',
      error: { code: 'not_authenticated' },
      request_id: 'q-9',
    });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('a bad test_id fails the upgrade with HTTP 400', async () => {
    await expect(TestClient.open(`${stack.wsUrl}?test_id=general`)).rejects.toMatchObject({ status: 400 });
    await expect(TestClient.open(`${stack.wsUrl}?test_id=bad_id`)).rejects.toMatchObject({ status: 400 });
  });

  it('the dev token endpoint refuses a missing user id', async () => {
    const response = await fetch(`${stack.httpUrl.replace('localhost', '127.0.0.1')}/dev/token`);
    expect(response.status).toBe(400);
  });
});

describe('local stack end to end (auth deadline 3 s, idle timeout 3 s, allowed origins)', () => {
  let stack: LocalStackProcess;

  beforeAll(async () => {
    stack = await startLocalStackProcess({
      // The auth function's cold start (its own process, as on Lambda; about 1 s on a loaded
      // test machine) must fit inside the deadline.
      authDeadlineSeconds: 3,
      sweepIntervalMs: 200,
      idleTimeoutSeconds: 3,
      allowedOrigins: ['http://allowed.test'],
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('an Origin outside the allow-list fails the upgrade with 403; an allowed or absent Origin connects', async () => {
    await expect(
      TestClient.open(`${stack.wsUrl}?test_id=demo`, { origin: 'http://evil.test' }),
    ).rejects.toMatchObject({
      status: 403,
    });
    clients.push(await TestClient.open(`${stack.wsUrl}?test_id=demo`, { origin: 'http://allowed.test' }));
    clients.push(await TestClient.open(`${stack.wsUrl}?test_id=demo`));
  });

  it('closes a socket that never authenticates, and leaves an authenticated one open', async () => {
    const token = await stack.token('carol');
    const silent = await open(stack);
    const authed = await open(stack);
    authed.send({ action: 'auth', token });
    expect((await authed.nextJson<Frame>()).type).toBe('auth_success');

    // Heartbeats keep the authenticated socket inside its 3 s idle timeout however late the
    // deadline sweep runs on a loaded machine.
    const keepAlive = setInterval(() => authed.send({ action: 'message', type: 'heartbeat' }), 1000);
    try {
      await silent.waitClosed(8000);
    } finally {
      clearInterval(keepAlive);
    }
    // The sweep ran after the deadline and spared the authenticated connection.
    authed.send({ action: 'message', type: 'heartbeat', request_id: 'after-sweep' });
    const pong = JSON.parse(
      await authed.nextMatching((message) => (JSON.parse(message) as Frame).request_id === 'after-sweep'),
    ) as Frame;
    expect(pong.type).toBe('pong');
  });

  it('closes an authenticated connection that stays idle past the idle timeout with 1001', async () => {
    const { client, frame } = await authenticate(stack, 'dave');
    expect(frame.type).toBe('auth_success');
    const closed = await client.waitClosed(10_000);
    expect(closed).toEqual({ code: 1001, reason: 'Going away' });
  });
});
