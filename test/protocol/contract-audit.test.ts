/**
 * Black-box checks of /work/shared/protocol-v1.md on a running local stack, for the rules no
 * other suite checks over a real socket: the client knows only the contract and the README.
 */
import { MAX_FRAME_BYTES, MAX_USER_ID_BYTES } from '../../protocol';
import { TestClient } from '../local/helpers';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';

interface Frame {
  type: string;
  data?: Record<string, unknown>;
  error?: { code: string; message: string };
  request_id?: string;
}

let stack: LocalStackProcess;
const clients: TestClient[] = [];

beforeAll(async () => {
  stack = await startLocalStackProcess();
}, 60_000);

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});

afterAll(async () => {
  await stack?.stop();
});

async function open(query = '?test_id=demo'): Promise<TestClient> {
  const client = await TestClient.open(`${stack.wsUrl}${query}`);
  clients.push(client);
  return client;
}

async function authenticated(userId: string, query = '?test_id=demo'): Promise<TestClient> {
  const client = await open(query);
  client.send({ action: 'auth', token: await stack.token(userId) });
  expect(await client.nextJson<Frame>()).toMatchObject({ type: 'auth_success' });
  return client;
}

/** Frames that arrive within `ms` (nothing is expected to arrive after them). */
async function framesWithin(client: TestClient, ms: number): Promise<Frame[]> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  const frames: Frame[] = [];
  for (;;) {
    const raw = await client.next(1).catch(() => undefined);
    if (raw === undefined) return frames;
    frames.push(JSON.parse(raw) as Frame);
  }
}

let users = 0;
const newUser = () => `audit-${process.pid}-${++users}`;

/** A heartbeat frame of exactly `bytes` UTF-8 bytes (ASCII padding). */
function heartbeatOf(bytes: number, requestId: string): string {
  const base = JSON.stringify({ action: 'message', type: 'heartbeat', request_id: requestId, pad: '' });
  return base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - Buffer.byteLength(base))}"`);
}

describe('section 1: test_id rules at the upgrade', () => {
  it.each([
    ['general', 400],
    ['GENERAL', 400],
    ['GeNeRaL', 400],
    ['%67eneral', 400],
    ['a_b', 400],
    ['d%C3%A9mo', 400],
    ['%EF%BC%91%EF%BC%92', 400], // full-width digits are not [0-9]
    ['', 400],
    ['x'.repeat(65), 400],
    ['x'.repeat(64), 101],
    ['Demo-1', 101], // valid, unknown: the upgrade does not look the test up
  ])('test_id=%s -> %i', async (testId, status) => {
    const upgrade = open(`?test_id=${testId}`);
    if (status === 101) await expect(upgrade).resolves.toBeInstanceOf(TestClient);
    else await expect(upgrade).rejects.toMatchObject({ status });
  });
});

describe('sections 3 and 8: the dev token covers every user id the contract accepts', () => {
  it.each([
    ['200 ASCII characters', 'a'.repeat(200)],
    ['64 four-byte characters (256 bytes)', '\u{1F600}'.repeat(64)],
  ])('%s: a token, and auth_success with that user id', async (_, userId) => {
    expect(Buffer.byteLength(userId)).toBeLessThanOrEqual(MAX_USER_ID_BYTES);
    const response = await fetch(`${stack.httpUrl}/dev/token?user_id=${encodeURIComponent(userId)}`);
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const client = await open('');
    client.send({ action: 'auth', token });
    expect(await client.nextJson<Frame>()).toMatchObject({
      type: 'auth_success',
      data: { user_id: userId, connection_id: `${userId}_general` },
    });
  });

  it('refuses a user id over 256 bytes, as auth would', async () => {
    const response = await fetch(`${stack.httpUrl}/dev/token?user_id=${'a'.repeat(MAX_USER_ID_BYTES + 1)}`);
    expect(response.status).toBe(400);
  });
});

describe('section 6: sizes', () => {
  it('a single frame of exactly 32 KB is answered', async () => {
    const client = await authenticated(newUser());
    client.send(heartbeatOf(MAX_FRAME_BYTES, 'edge'));
    expect(await client.nextJson<Frame>()).toMatchObject({ type: 'pong', request_id: 'edge' });
  });

  it('a 40 KB message in two frames gets message_too_large with its request_id; the socket stays open', async () => {
    const client = await authenticated(newUser());
    const message = Buffer.from(heartbeatOf(40 * 1024, 'big'));
    const half = message.length / 2;
    client.ws.send(message.subarray(0, half), { binary: false, fin: false });
    client.ws.send(message.subarray(half), { binary: false, fin: true });
    expect(await client.nextJson<Frame>()).toMatchObject({
      type: 'error',
      error: { code: 'message_too_large' },
      request_id: 'big',
    });
    client.send({ action: 'message', type: 'heartbeat', request_id: 'after' });
    expect(await client.nextJson<Frame>()).toMatchObject({ type: 'pong', request_id: 'after' });
  });
});

describe('section 5: exactly once under concurrency', () => {
  it('eight answers with different options sent at once: one is stored, the rest are duplicates of it or already_answered', async () => {
    const client = await authenticated(newUser());
    client.send({ action: 'message', type: 'start_assessment', request_id: 'start' });
    await client.nextOfType('question');
    const options = ['WebSocket', 'FTP', 'SMTP', 'DNS'];
    for (let i = 0; i < 8; i++) {
      client.send({
        action: 'message',
        type: 'submit_answer',
        request_id: `r${i}`,
        data: { question_id: 'q1', selected_option: options[i % options.length] },
      });
    }
    const replies = (await framesWithin(client, 2500)).filter((f) => f.request_id?.startsWith('r'));
    const feedback = replies.filter((f) => f.type === 'answer_feedback');
    const stored = feedback.filter((f) => f.data?.duplicate === false);
    expect(stored).toHaveLength(1);
    const storedIndex = Number(stored[0]?.request_id?.slice(1));
    const storedOption = options[storedIndex % options.length];
    for (const reply of replies.filter((f) => f !== stored[0])) {
      const option = options[Number(reply.request_id?.slice(1)) % options.length];
      if (reply.type === 'answer_feedback') {
        expect(reply.data?.duplicate).toBe(true);
        expect(option).toBe(storedOption);
      } else if (reply.type === 'question') {
        expect(reply.request_id).toBe(stored[0]?.request_id);
      } else {
        expect(reply.error?.code).toBe('already_answered');
        expect(option).not.toBe(storedOption);
      }
    }
    expect(replies.filter((f) => f.type === 'question')).toHaveLength(1);
    client.send({ action: 'message', type: 'get_assessment_status', request_id: 'status' });
    const status = await client.nextOfType<Frame>('assessment_status');
    expect(status.data?.assessment).toMatchObject({
      answers: [{ question_id: 'q1', selected_option: storedOption }],
    });
  });
});
