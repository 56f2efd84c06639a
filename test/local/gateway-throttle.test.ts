/**
 * What the gateway admits: stage throttling (local/gateway/throttle.ts, token buckets per route
 * from the stage's default and per-route settings) for messages and connection requests, and
 * AWS_IAM authorization on $connect (unsigned connection requests refused).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachGateway, type Gateway } from '../../local/gateway';
import {
  ACCOUNT_BURST_LIMIT,
  ACCOUNT_RATE_LIMIT,
  createStageThrottle,
  limitsFor,
  type StageThrottleSettings,
} from '../../local/gateway/throttle';
import { TestClient } from './helpers';

/** A gateway on a free port with these routes and stage throttling; `close` stops both. */
async function startThrottledGateway(
  routes: Parameters<typeof attachGateway>[0]['routes'],
  throttle: StageThrottleSettings,
  more: { connectRequiresSignature?: boolean } = {},
): Promise<{ wsUrl: string; close: () => Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const gateway: Gateway = attachGateway({ server, stage: 'local', routes, throttle, ...more });
  return {
    wsUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/local`,
    close: async () => {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Routes with a `$connect` that accepts and reports each call. */
const countingConnect = (onConnect: () => void): Parameters<typeof attachGateway>[0]['routes'] => ({
  $connect: {
    name: 'connect',
    handler: async () => {
      onConnect();
      return { statusCode: 200 };
    },
  },
});

/** The failed upgrade's status and body, or undefined when the connection opened. */
const refusedUpgrade = (url: string): Promise<{ status?: number; body?: string } | undefined> =>
  TestClient.open(url).then(
    async (client) => {
      await client.dispose();
      return undefined;
    },
    (error: { status?: number; body?: string }) => error,
  );

describe('token buckets', () => {
  it('takes a route setting over the stage default, field by field, and the account quota last', () => {
    const settings = {
      defaultRoute: { rateLimit: 10, burstLimit: 20 },
      routes: { echo: { rateLimit: 1 }, bulk: { burstLimit: 3 } },
    };
    expect(limitsFor(settings, 'echo')).toEqual({ rateLimit: 1, burstLimit: 20 });
    expect(limitsFor(settings, 'bulk')).toEqual({ rateLimit: 10, burstLimit: 3 });
    expect(limitsFor(settings, '$default')).toEqual({ rateLimit: 10, burstLimit: 20 });
    expect(limitsFor({}, 'echo')).toEqual({ rateLimit: ACCOUNT_RATE_LIMIT, burstLimit: ACCOUNT_BURST_LIMIT });
  });

  it('lets a burst through, then admits at the rate; each route has its own bucket', () => {
    let now = 0;
    const throttle = createStageThrottle({ routes: { echo: { rateLimit: 2, burstLimit: 3 } } }, () => now);
    const burst = [1, 2, 3, 4].map(() => throttle.admit('echo'));
    expect(burst).toEqual([true, true, true, false]);
    expect(throttle.admit('other')).toBe(true);
    now = 400; // 0.8 tokens: still nothing
    expect(throttle.admit('echo')).toBe(false);
    now = 500; // 1 token
    expect(throttle.admit('echo')).toBe(true);
    expect(throttle.admit('echo')).toBe(false);
    now = 60_000; // refills to the burst, not beyond
    expect([1, 2, 3, 4].map(() => throttle.admit('echo'))).toEqual([true, true, true, false]);
  });
});

describe('the gateway with stage throttling', () => {
  let wsUrl: string;
  let close: () => Promise<void>;
  const invoked: string[] = [];

  beforeAll(async () => {
    ({ wsUrl, close } = await startThrottledGateway(
      {
        echo: {
          name: 'echo',
          handler: async (event) => {
            invoked.push(String(event.body));
            return { statusCode: 200 };
          },
        },
      },
      // A rate this low refills nothing during the test: exactly the burst gets through.
      { defaultRoute: { rateLimit: 0.001, burstLimit: 2 } },
    ));
  });

  afterAll(() => close());

  it('does not invoke a message over the limit and answers it with Too Many Requests', async () => {
    const client = await TestClient.open(wsUrl);
    try {
      for (const n of [1, 2, 3]) client.send({ action: 'echo', n });
      const refused = await client.nextJson<{ message: string; connectionId: string; requestId: string }>();
      expect(refused.message).toBe('Too Many Requests');
      expect(refused.connectionId).toEqual(expect.any(String));
      expect(refused.requestId).toEqual(expect.any(String));
      // Messages are dispatched in arrival order, so the two admitted ones reached the handler
      // before the third was refused.
      expect(invoked.map((body) => JSON.parse(body).n)).toEqual([1, 2]);
    } finally {
      await client.dispose();
    }
  });
});

describe('the gateway with $connect throttling', () => {
  let wsUrl: string;
  let close: () => Promise<void>;
  let connects = 0;

  beforeAll(async () => {
    ({ wsUrl, close } = await startThrottledGateway(
      countingConnect(() => {
        connects++;
      }),
      // Messages are not limited here; connection requests are, to a burst of 2 that never refills.
      { routes: { $connect: { rateLimit: 0.001, burstLimit: 2 } } },
    ));
  });

  afterAll(() => close());

  it('fails the upgrade of a connection request over the limit with 429, without running $connect', async () => {
    const admitted = await Promise.all([TestClient.open(wsUrl), TestClient.open(wsUrl)]);
    try {
      const refused = await refusedUpgrade(wsUrl);
      expect(refused?.status).toBe(429);
      expect(JSON.parse(refused?.body ?? '{}')).toEqual({ message: 'Too Many Requests' });
      expect(connects).toBe(2);
    } finally {
      await Promise.all(admitted.map((client) => client.dispose()));
    }
  });
});

describe('the gateway with AWS_IAM authorization on $connect', () => {
  let wsUrl: string;
  let close: () => Promise<void>;
  let connects = 0;

  beforeAll(async () => {
    ({ wsUrl, close } = await startThrottledGateway(
      countingConnect(() => {
        connects++;
      }),
      {},
      { connectRequiresSignature: true },
    ));
  });

  afterAll(() => close());

  it('refuses an unsigned connection request with 403 before $connect runs; signed ones connect', async () => {
    const unsigned = await refusedUpgrade(wsUrl);
    expect(unsigned?.status).toBe(403);
    expect(JSON.parse(unsigned?.body ?? '{}')).toEqual({ message: 'Forbidden' });
    expect(connects).toBe(0);

    const scope = 'AKIDEXAMPLE/20261201/us-east-1/execute-api/aws4_request';
    const byHeader = await TestClient.open(wsUrl, {
      headers: {
        Authorization: `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host;x-amz-date, Signature=abc`,
        'X-Amz-Date': '20261201T000000Z',
      },
    });
    const presigned = await TestClient.open(
      `${wsUrl}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${encodeURIComponent(scope)}&X-Amz-Date=20261201T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=abc`,
    );
    expect(connects).toBe(2);
    await Promise.all([byHeader.dispose(), presigned.dispose()]);
  });
});
