/**
 * Apps nobody here wrote, in the styles AWS samples use, run through `--assembly` end to end:
 * an L1 broadcast chat with plain ESM handlers that build their @connections endpoint from the
 * event, and an L2 app with a $connect REQUEST authorizer, a two-way route and a GSI.
 */
import { foreignAppAssembly } from '../support/foreign-apps';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';
import { TestClient } from './helpers';

const clients: TestClient[] = [];

async function open(url: string): Promise<TestClient> {
  const client = await TestClient.open(url);
  clients.push(client);
  return client;
}

async function upgradeStatus(url: string): Promise<number | undefined> {
  try {
    await open(url);
    return 101;
  } catch (error) {
    return (error as { status?: number }).status;
  }
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

describe('foreign app: L1 Cfn* resources, ESM handlers, broadcast through the endpoint built from the event', () => {
  let stack: LocalStackProcess;

  beforeAll(async () => {
    stack = await startLocalStackProcess({ assembly: await foreignAppAssembly('l1-broadcast') });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the template stage and broadcasts to every connection with a Scan and PostToConnection', async () => {
    expect(stack.wsUrl).toMatch(/\/dev$/);
    expect(stack.apis.map((a) => a.routes)).toEqual([['$connect', '$disconnect', 'sendmessage']]);
    const alice = await open(stack.wsUrl);
    const bob = await open(stack.wsUrl);
    alice.send({ action: 'sendmessage', data: 'hello from alice' });
    expect(await alice.next(10_000)).toBe('hello from alice');
    expect(await bob.next(10_000)).toBe('hello from alice');
  });
});

describe('foreign app: L2 WebSocketApi with a $connect REQUEST authorizer, two-way route, GSI and TTL', () => {
  let stack: LocalStackProcess;

  beforeAll(async () => {
    stack = await startLocalStackProcess({ assembly: await foreignAppAssembly('l2-authorized') });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers a missing identity source with 401, an Unauthorized failure with 401 and a Deny with 403', async () => {
    expect(await upgradeStatus(stack.wsUrl)).toBe(401);
    expect(await upgradeStatus(`${stack.wsUrl}?token=nobody-knows-me`)).toBe(401);
    expect(await upgradeStatus(`${stack.wsUrl}?token=deny-me`)).toBe(403);
  });

  it('lets an allowed caller in, passes the authorizer context on, and sends the two-way route result back', async () => {
    const first = await open(`${stack.wsUrl}?token=allow-ada`);
    await open(`${stack.wsUrl}?token=allow-ada`);
    first.send({ action: 'whoami' });
    // Both records were written by $connect with the authorizer's userId, and found through the GSI.
    expect(JSON.parse(await first.next(10_000))).toEqual({ userId: 'ada', connections: 2 });
  });
});
