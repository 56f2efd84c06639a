/**
 * Parity suite: one test per API Gateway WebSocket behaviour the local gateway emulates, run
 * against the gateway with small test handlers (not the project's handlers), real `ws` clients
 * and the real ApiGatewayManagementApiClient.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import WebSocket from 'ws';
import type { WebSocketEvent } from '../../local/events';
import { attachGateway, type Gateway, type GatewayOptions, type RouteTarget } from '../../local/gateway';
import type { LambdaHandler } from '../../local/lambda-context';
import { handleManagementRequest } from '../../local/management-api';
import { Recorder, TestClient, withTimeout } from './helpers';

interface Harness {
  wsUrl: string;
  sdk: ApiGatewayManagementApiClient;
  events: Recorder<WebSocketEvent>;
  gateway: Gateway;
  /** Opens a client and returns it with its connection id (from the CONNECT event). */
  connect(query?: string, headers?: Record<string, string>): Promise<{ client: TestClient; id: string }>;
  disconnectOf(id: string, timeoutMs?: number): Promise<WebSocketEvent>;
}

const clients: TestClient[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Handlers = Partial<Record<string, LambdaHandler>>;

async function harness(
  handlers: Handlers = {},
  options: Partial<Omit<GatewayOptions, 'server' | 'routes'>> & {
    withoutDefault?: boolean;
    /** The `echo` route has a route response. */
    twoWayEcho?: boolean;
  } = {},
): Promise<Harness> {
  const events = new Recorder<WebSocketEvent>();
  const recording =
    (routeKey: string, fallback: LambdaHandler): LambdaHandler =>
    (event: WebSocketEvent, context) => {
      events.push(event);
      return (handlers[routeKey] ?? fallback)(event, context);
    };
  const ok = async () => ({ statusCode: 200 });
  const routes: Record<string, RouteTarget> = {
    $connect: { name: 'test-connect', handler: recording('$connect', ok) },
    $disconnect: { name: 'test-disconnect', handler: recording('$disconnect', ok) },
    echo: { name: 'test-echo', handler: recording('echo', ok), twoWay: options.twoWayEcho === true },
    boom: { name: 'test-boom', handler: recording('boom', ok) },
  };
  if (!options.withoutDefault) routes.$default = { name: 'test-default', handler: recording('$default', ok) };

  let gateway: Gateway | undefined;
  const server: Server = createServer((req, res) => {
    if (gateway && handleManagementRequest(req, res, gateway.pool, { stage: 'local' })) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  gateway = attachGateway({ server, stage: 'local', routes, ...options });
  const sdk = new ApiGatewayManagementApiClient({
    endpoint: `http://127.0.0.1:${port}/local`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const g = gateway;
  cleanups.push(async () => {
    sdk.destroy();
    await g.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const wsUrl = `ws://127.0.0.1:${port}/local`;
  return {
    wsUrl,
    sdk,
    events,
    gateway,
    async connect(query = '', headers = {}) {
      const before = new Set(events.items);
      const client = await TestClient.open(`${wsUrl}${query}`, { headers });
      clients.push(client);
      const connectEvent = await events.waitFor(
        (e) => e.requestContext.eventType === 'CONNECT' && !before.has(e),
        2000,
        'the CONNECT event',
      );
      return { client, id: connectEvent.requestContext.connectionId };
    },
    disconnectOf(id, timeoutMs = 5000) {
      return events.waitFor(
        (e) => e.requestContext.eventType === 'DISCONNECT' && e.requestContext.connectionId === id,
        timeoutMs,
        `the DISCONNECT event of ${id}`,
      );
    },
  };
}

const messagesOf = (events: Recorder<WebSocketEvent>, id: string) =>
  events.items.filter(
    (e) => e.requestContext.eventType === 'MESSAGE' && e.requestContext.connectionId === id,
  );

describe('event shapes', () => {
  it('CONNECT carries mixed-case headers, query parameters and the request context', async () => {
    const h = await harness();
    const { id } = await h.connect('?test_id=demo&tag=a&tag=b', {
      'X-Custom-Header': 'yes',
      'User-Agent': 'parity/1',
    });
    const event = h.events.items.find((e) => e.requestContext.connectionId === id) as WebSocketEvent;
    expect(event.headers).toEqual(
      expect.objectContaining({
        Host: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        'X-Custom-Header': 'yes',
        'User-Agent': 'parity/1',
        'Sec-WebSocket-Version': '13',
        'X-Forwarded-For': '127.0.0.1',
      }),
    );
    expect(event.multiValueHeaders?.['X-Custom-Header']).toEqual(['yes']);
    expect(event.queryStringParameters).toEqual({ test_id: 'demo', tag: 'b' });
    expect(event.multiValueQueryStringParameters).toEqual({ test_id: ['demo'], tag: ['a', 'b'] });
    expect(event).not.toHaveProperty('body');
    expect(event.requestContext).toEqual({
      routeKey: '$connect',
      eventType: 'CONNECT',
      extendedRequestId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
      requestTime: expect.stringMatching(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/),
      messageDirection: 'IN',
      stage: 'local',
      connectedAt: expect.any(Number),
      requestTimeEpoch: expect.any(Number),
      identity: { sourceIp: '127.0.0.1', userAgent: 'parity/1' },
      requestId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
      domainName: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      connectionId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
      apiId: 'localwsapi',
    });
  });

  it('CONNECT without a query has no queryStringParameters', async () => {
    const h = await harness();
    const { id } = await h.connect();
    const event = h.events.items.find((e) => e.requestContext.connectionId === id) as WebSocketEvent;
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('multiValueQueryStringParameters');
  });

  it('MESSAGE carries body, isBase64Encoded false and messageId, and no headers or query', async () => {
    const h = await harness();
    const { client, id } = await h.connect('?test_id=demo');
    client.send({ action: 'echo', n: 1 });
    const event = await h.events.waitFor((e) => e.requestContext.eventType === 'MESSAGE');
    const connect = h.events.items[0] as WebSocketEvent;
    expect(event.body).toBe('{"action":"echo","n":1}');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext.messageId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(event.requestContext.routeKey).toBe('echo');
    expect(event.requestContext.connectionId).toBe(id);
    expect(event.requestContext.connectedAt).toBe(connect.requestContext.connectedAt);
    expect(event.requestContext.requestId).not.toBe(connect.requestContext.requestId);
    for (const key of ['headers', 'multiValueHeaders', 'queryStringParameters'])
      expect(event).not.toHaveProperty(key);
    expect(event.requestContext).not.toHaveProperty('disconnectStatusCode');
  });

  it('DISCONNECT carries disconnectStatusCode and disconnectReason, and no body, headers or messageId', async () => {
    const h = await harness();
    const { client, id } = await h.connect('?test_id=demo');
    client.ws.close(4000, 'bye now');
    const event = await h.disconnectOf(id);
    expect(event.requestContext).toEqual(
      expect.objectContaining({
        routeKey: '$disconnect',
        eventType: 'DISCONNECT',
        disconnectStatusCode: 4000,
        disconnectReason: 'bye now',
        connectionId: id,
      }),
    );
    expect(event.requestContext).not.toHaveProperty('messageId');
    for (const key of ['body', 'headers', 'queryStringParameters']) expect(event).not.toHaveProperty(key);
  });
});

describe('route selection ($request.body.action)', () => {
  it.each([
    ['{"action":"echo"}', 'echo'],
    ['{"action":"unknown"}', '$default'],
    ['{"no_action":true}', '$default'],
    ['{"action":42}', '$default'],
    ['not json at all', '$default'],
  ])('%s goes to %s', async (body, routeKey) => {
    const h = await harness();
    const { client } = await h.connect();
    client.send(body);
    const event = await h.events.waitFor((e) => e.requestContext.eventType === 'MESSAGE');
    expect(event.requestContext.routeKey).toBe(routeKey);
    expect(event.body).toBe(body);
  });

  it('with no $default route, an unmatched message gets {"message":"Forbidden"} from the gateway', async () => {
    const h = await harness({}, { withoutDefault: true });
    const { client, id } = await h.connect();
    client.send('nothing routes this');
    expect(await client.nextJson()).toEqual({
      message: 'Forbidden',
      connectionId: id,
      requestId: expect.any(String),
    });
  });
});

describe('two-way routes', () => {
  it('send the result body back, an empty message for a proxy result without one, nothing for no result', async () => {
    const h = await harness(
      {
        echo: async (event) => {
          const reply = (JSON.parse(event.body ?? '{}') as { reply?: string }).reply;
          if (reply === 'none') return undefined;
          return reply === 'empty' ? { statusCode: 200 } : { statusCode: 200, body: reply };
        },
      },
      { twoWayEcho: true },
    );
    const { client } = await h.connect();
    client.send({ action: 'echo', reply: 'none' });
    client.send({ action: 'echo', reply: 'empty' });
    expect(await client.next()).toBe('');
    client.send({ action: 'echo', reply: 'last' });
    expect(await client.next()).toBe('last');
    expect(client.messages).toEqual(['', 'last']);
  });
});

describe('$connect', () => {
  it.each([401, 403, 400, 429])('a %i result fails the upgrade with that HTTP status', async (status) => {
    const h = await harness({ $connect: async () => ({ statusCode: status, body: 'no' }) });
    const error = await TestClient.open(`${h.wsUrl}?x=1`).catch((e: unknown) => e);
    expect(error).toMatchObject({ status, body: 'no' });
    expect(h.events.items.map((e) => e.requestContext.eventType)).toEqual(['CONNECT']);
  });

  it('a handler that throws fails the upgrade with 500, and no $disconnect follows', async () => {
    const h = await harness({
      $connect: async () => {
        throw new Error('connect failed');
      },
    });
    await expect(TestClient.open(h.wsUrl)).rejects.toMatchObject({ status: 500 });
    expect(h.events.items.map((e) => e.requestContext.eventType)).toEqual(['CONNECT']);
  });

  it('a result without a numeric statusCode fails the upgrade with 502', async () => {
    const h = await harness({ $connect: async () => undefined });
    await expect(TestClient.open(h.wsUrl)).rejects.toMatchObject({ status: 502 });
  });

  it('posts during $connect are Gone and never reach the client (the upgrade is pending)', async () => {
    let postResult: unknown;
    const h = await harness({
      $connect: async (event: WebSocketEvent) => {
        postResult = await h.sdk
          .send(
            new PostToConnectionCommand({ ConnectionId: event.requestContext.connectionId, Data: 'early' }),
          )
          .catch((e: unknown) => e);
        return { statusCode: 200 };
      },
    });
    const { client } = await h.connect();
    expect(postResult).toBeInstanceOf(GoneException);
    client.send({ action: 'echo' });
    await h.events.waitFor((e) => e.requestContext.eventType === 'MESSAGE');
    expect(client.messages).toEqual([]);
  });

  it('a client that leaves while $connect runs still gets its $disconnect (1006) once $connect returns', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const h = await harness({
      $connect: async () => {
        await gate;
        return { statusCode: 200 };
      },
    });
    const ws = new WebSocket(h.wsUrl);
    const gone = new Promise((resolve) => ws.once('close', resolve));
    ws.on('error', () => {}); // aborting a pending handshake reports an error; expected here
    const connect = await h.events.waitFor((e) => e.requestContext.eventType === 'CONNECT');
    ws.terminate(); // leave while the upgrade is still pending
    await gone;
    release();
    const event = await h.disconnectOf(connect.requestContext.connectionId);
    expect(event.requestContext.disconnectStatusCode).toBe(1006);
  });

  it('a subprotocol is agreed only when the $connect result names it', async () => {
    const h = await harness({
      $connect: async () => ({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'assessment.v1' } }),
    });
    const client = await TestClient.open(h.wsUrl, {}, ['assessment.v1', 'other']);
    clients.push(client);
    expect(client.ws.protocol).toBe('assessment.v1');
  });

  it('paths other than /<stage> fail the upgrade with 403', async () => {
    const h = await harness();
    await expect(TestClient.open(h.wsUrl.replace(/\/local$/, '/prod'))).rejects.toMatchObject({
      status: 403,
    });
    expect(h.events.items).toEqual([]);
  });
});

describe('$disconnect on every close', () => {
  it('client close with a code: that code and reason', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    client.ws.close(1000, 'done');
    const event = await h.disconnectOf(id);
    expect(event.requestContext).toMatchObject({ disconnectStatusCode: 1000, disconnectReason: 'done' });
  });

  it('client close without a code: 1005', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    client.ws.close();
    const event = await h.disconnectOf(id);
    expect(event.requestContext).toMatchObject({
      disconnectStatusCode: 1005,
      disconnectReason: 'Client-side close frame status not set',
    });
  });

  it('connection dropped without a close frame: 1006', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    client.ws.terminate();
    const event = await h.disconnectOf(id);
    expect(event.requestContext).toMatchObject({
      disconnectStatusCode: 1006,
      disconnectReason: 'Connection lost',
    });
  });

  it('DELETE @connections (real SDK): the client is closed and $disconnect follows', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    await h.sdk.send(new DeleteConnectionCommand({ ConnectionId: id }));
    const closed = await client.waitClosed();
    const event = await h.disconnectOf(id);
    expect(closed.code).toBe(1000);
    expect(event.requestContext.disconnectStatusCode).toBe(1000);
    await expect(h.sdk.send(new GetConnectionCommand({ ConnectionId: id }))).rejects.toBeInstanceOf(
      GoneException,
    );
  });

  it('idle timeout: 1001 Going away', async () => {
    const h = await harness({}, { idleTimeoutMs: 300 });
    const { client, id } = await h.connect();
    const closed = await client.waitClosed(3000);
    const event = await h.disconnectOf(id);
    expect(closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(event.requestContext).toMatchObject({
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
    });
  });

  it('messages from the client keep an idle connection open; it closes once they stop', async () => {
    const h = await harness({}, { idleTimeoutMs: 800 });
    const { client, id } = await h.connect();
    const started = Date.now();
    // One message every 100 ms for ~1.2 s: longer than the idle timeout, with no 800 ms gap.
    for (let i = 0; i < 12; i++) {
      client.send({ action: 'echo', i });
      await h.events.waitFor(() => messagesOf(h.events, id).length > i);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    const closed = await client.waitClosed(3000);
    expect(closed.code).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
  });

  it('maximum connection age: 1001 Going away, even for an active client', async () => {
    const h = await harness({}, { maxConnectionMs: 500, idleTimeoutMs: 60_000 });
    const { client, id } = await h.connect();
    const ticker = setInterval(
      () => client.ws.readyState === client.ws.OPEN && client.send({ action: 'echo' }),
      50,
    );
    try {
      const closed = await client.waitClosed(3000);
      expect(closed).toEqual({ code: 1001, reason: 'Going away' });
    } finally {
      clearInterval(ticker);
    }
    const event = await h.disconnectOf(id);
    expect(event.requestContext.disconnectStatusCode).toBe(1001);
  });

  it('stopping the gateway closes every connection with 1001 and waits for their $disconnect', async () => {
    const h = await harness();
    const a = await h.connect();
    const b = await h.connect();
    await h.gateway.close();
    const codes = await Promise.all([a.client.waitClosed(), b.client.waitClosed()]);
    expect(codes.map((c) => c.code)).toEqual([1001, 1001]);
    const disconnected = h.events.items.filter((e) => e.requestContext.eventType === 'DISCONNECT');
    expect(disconnected.map((e) => e.requestContext.connectionId).sort()).toEqual([a.id, b.id].sort());
  });
});

describe('@connections through the real SDK client', () => {
  it('POST delivers a text frame to the client', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    await h.sdk.send(
      new PostToConnectionCommand({ ConnectionId: id, Data: JSON.stringify({ type: 'pong' }) }),
    );
    expect(await client.next()).toBe('{"type":"pong"}');
  });

  it('POST of a 100 KB message arrives whole (sent as 32 KB frames)', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    const big = 'é'.repeat(50 * 1024); // multi-byte characters across frame boundaries
    await h.sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: big }));
    expect(await client.next()).toBe(big);
  });

  it('GET describes the connection', async () => {
    const h = await harness();
    const { client, id } = await h.connect('', { 'User-Agent': 'describe-me/2' });
    client.send({ action: 'echo' });
    await h.events.waitFor((e) => e.requestContext.eventType === 'MESSAGE');
    const connect = h.events.items[0] as WebSocketEvent;
    const out = await h.sdk.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(out.ConnectedAt?.getTime()).toBe(connect.requestContext.connectedAt);
    expect(out.LastActiveAt?.getTime()).toBeGreaterThanOrEqual(connect.requestContext.connectedAt);
    expect(out.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'describe-me/2' });
  });

  it('an unknown connection id is GoneException', async () => {
    const h = await harness();
    const error = await h.sdk
      .send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: 'x' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GoneException);
  });

  it('a connection that has closed is GoneException', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    client.ws.close(1000);
    await h.disconnectOf(id);
    await expect(
      h.sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' })),
    ).rejects.toBeInstanceOf(GoneException);
  });

  it('a post over 128 KB is PayloadTooLargeException and the client gets nothing', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    const error = await h.sdk
      .send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x'.repeat(128 * 1024 + 1) }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeException);
    await h.sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'after' }));
    expect(await client.next()).toBe('after');
  });
});

describe('limits', () => {
  it('a frame over 32 KB closes with 1009 and is never dispatched', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    client.send(JSON.stringify({ action: 'echo', pad: 'x'.repeat(33 * 1024) }));
    const closed = await client.waitClosed();
    expect(closed.code).toBe(1009);
    const event = await h.disconnectOf(id);
    expect(event.requestContext.disconnectStatusCode).toBe(1009);
    expect(messagesOf(h.events, id)).toEqual([]);
  });

  it('a frame of exactly 32 KB is accepted', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    const body = JSON.stringify({ action: 'echo', pad: '' });
    client.send(JSON.stringify({ action: 'echo', pad: 'x'.repeat(32 * 1024 - body.length) }));
    const event = await h.events.waitFor((e) => e.requestContext.eventType === 'MESSAGE');
    expect(event.body?.length).toBe(32 * 1024);
    expect(messagesOf(h.events, id)).toHaveLength(1);
  });

  it('a message over 128 KB in frames of at most 32 KB closes with 1009', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    const chunk = Buffer.alloc(32 * 1024, 'a');
    for (let i = 0; i < 4; i++) client.ws.send(chunk, { binary: false, fin: false });
    client.ws.send(Buffer.from('a'), { binary: false, fin: true }); // 128 KB + 1 byte in total
    expect((await client.waitClosed()).code).toBe(1009);
    expect((await h.disconnectOf(id)).requestContext.disconnectStatusCode).toBe(1009);
    expect(messagesOf(h.events, id)).toEqual([]);
  });

  it('a fragmented message of 96 KB (frames of 32 KB) is delivered as one message', async () => {
    const h = await harness();
    const { client } = await h.connect();
    const chunk = Buffer.alloc(32 * 1024, 'b');
    client.ws.send(chunk, { binary: false, fin: false });
    client.ws.send(chunk, { binary: false, fin: false });
    client.ws.send(chunk, { binary: false, fin: true });
    const event = await h.events.waitFor((e) => e.requestContext.eventType === 'MESSAGE');
    expect(event.body?.length).toBe(96 * 1024);
    expect(event.requestContext.routeKey).toBe('$default');
  });

  it('a binary frame closes the connection with 1003, as on AWS', async () => {
    const h = await harness();
    const { client, id } = await h.connect();
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.waitClosed()).code).toBe(1003);
    expect((await h.disconnectOf(id)).requestContext.disconnectStatusCode).toBe(1003);
    expect(messagesOf(h.events, id)).toEqual([]);
  });
});

describe('handler failures and concurrency', () => {
  it('a handler that throws: the client gets {"message":"Internal server error", connectionId, requestId}', async () => {
    const h = await harness({
      boom: () => {
        throw new Error('sync failure');
      },
    });
    const { client, id } = await h.connect();
    client.send({ action: 'boom' });
    const frame = await client.nextJson();
    const event = await h.events.waitFor((e) => e.requestContext.routeKey === 'boom');
    expect(frame).toEqual({
      message: 'Internal server error',
      connectionId: id,
      requestId: event.requestContext.requestId,
    });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('a handler that rejects: the same Internal server error frame', async () => {
    const h = await harness({ $default: async () => Promise.reject(new Error('async failure')) });
    const { client, id } = await h.connect();
    client.send('x');
    expect(await client.nextJson()).toEqual({
      message: 'Internal server error',
      connectionId: id,
      requestId: expect.any(String),
    });
  });

  it('a handler past the integration timeout: {"message":"Endpoint request timed out", ...}', async () => {
    const h = await harness({ echo: () => new Promise(() => {}) }, { integrationTimeoutMs: 200 });
    const { client, id } = await h.connect();
    client.send({ action: 'echo' });
    expect(await client.nextJson()).toEqual({
      message: 'Endpoint request timed out',
      connectionId: id,
      requestId: expect.any(String),
    });
  });

  it('invocations of one connection run concurrently and start in arrival order', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: number[] = [];
    const finished: number[] = [];
    const h = await harness({
      echo: async (event: WebSocketEvent) => {
        const n = (JSON.parse(event.body ?? '{}') as { n: number }).n;
        started.push(n);
        if (n === 0) await gate; // the first invocation blocks until all the others have run
        finished.push(n);
        return { statusCode: 200 };
      },
    });
    const { client } = await h.connect();
    for (let n = 0; n < 20; n++) client.send({ action: 'echo', n });
    await withTimeout(
      (async () => {
        while (finished.length < 19) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      5000,
      'the 19 unblocked invocations',
    );
    expect(started).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(finished).not.toContain(0);
    release();
  });
});
