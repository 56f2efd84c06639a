/**
 * The local twin of an API Gateway WebSocket stage, at `ws://<host>:<port>/<stage>`: the upgrade
 * and `$connect` (with its authorizer), routing by the selection expression (router.ts), one-way
 * and two-way routes, stage throttling (gateway/throttle.ts), frame limits (frame-guard.ts), the
 * idle and maximum-age closes and `$disconnect` on every close. How each of those maps to AWS,
 * and what is not emulated, is the parity table in docs/local-stack.md (kept there once, with the
 * test that covers each row).
 */
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { ConnectionPool, type LiveConnection } from './connection-pool';
import {
  type ConnectionFacts,
  connectEvent,
  disconnectEvent,
  messageEvent,
  newConnectionId,
  type WebSocketEvent,
} from './events';
import { guardFrameSizes } from './frame-guard';
import { type ConnectAuthorizer, runConnectAuthorizer } from './gateway/authorizer';
import {
  IDLE_TIMEOUT_MS,
  INTEGRATION_TIMEOUT_MS,
  MAX_CONNECTION_MS,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
} from './gateway/quotas';
import { routeResponseMessage } from './gateway/route-response';
import { createStageThrottle, type StageThrottleSettings } from './gateway/throttle';
import { type LambdaHandler, lambdaContext } from './lambda-context';
import { DEFAULT_SELECTION_EXPRESSION, parseSelectionExpression, selectRoute } from './router';
import type { InvokeResult } from './runtime/contract';

/**
 * A route's function: a handler called in this process, or an `invoke` that runs the event
 * elsewhere (the function runtime) and reports how it went.
 */
export type RouteTarget = {
  /** Function name, shown in logs and in `context.functionName`. */
  readonly name: string;
  /** Two-way route (the API has a route response): the result's `body` is sent back to the caller. */
  readonly twoWay?: boolean;
} & (
  | { readonly handler: LambdaHandler }
  | { readonly invoke: (event: WebSocketEvent) => Promise<InvokeResult> }
);

export interface GatewayOptions {
  /** The HTTP server whose `upgrade` requests this gateway takes. */
  readonly server: Server;
  /** @default 'local' */
  readonly stage?: string;
  /** Route key ('$connect', '$disconnect', '$default' or a custom key) -> handler. */
  readonly routes: Readonly<Record<string, RouteTarget>>;
  /** @default a new pool */
  readonly pool?: ConnectionPool;
  /** @default 'localwsapi' */
  readonly apiId?: string;
  /** Account in the authorizer's method ARN. @default '000000000000' */
  readonly accountId?: string;
  /**
   * `requestContext.domainName` of every event, e.g. `<apiId>.execute-api.<region>.amazonaws.com`
   * (the function runtime leads HTTPS to it back here). @default the request's Host header
   */
  readonly domainName?: string;
  /** @default '$request.body.action' */
  readonly routeSelectionExpression?: string;
  /**
   * `$connect` has `AWS_IAM` authorization: a connection request that is not signed with SigV4
   * (an `Authorization: AWS4-HMAC-SHA256 ...` header or `X-Amz-Signature` in the query string) is
   * refused with 403 before `$connect` runs. The signature itself is not verified: the callers
   * would be IAM users or roles of your account, which do not exist locally. @default false
   */
  readonly connectRequiresSignature?: boolean;
  /** A REQUEST authorizer run before `$connect` (see gateway/authorizer.ts). */
  readonly connectAuthorizer?: ConnectAuthorizer;
  /** @default process.env.AWS_REGION or 'us-east-1' */
  readonly region?: string;
  /** @default 600000 (10 minutes) */
  readonly idleTimeoutMs?: number;
  /** @default 7200000 (2 hours) */
  readonly maxConnectionMs?: number;
  /** @default 29000 */
  readonly integrationTimeoutMs?: number;
  /** @default 32768 */
  readonly maxFrameBytes?: number;
  /** @default 131072 */
  readonly maxMessageBytes?: number;
  /**
   * The stage's route throttling (gateway/throttle.ts): a message over its route's limits is not
   * invoked and gets `{"message": "Too Many Requests", ...}`; a connection request over the
   * `$connect` limits fails its upgrade with 429. @default none (not throttled)
   */
  readonly throttle?: StageThrottleSettings;
  /** One line per notable event (handler errors, rejected upgrades). @default no logging */
  readonly log?: (line: string) => void;
}

export interface Gateway {
  readonly pool: ConnectionPool;
  /**
   * Closes every connection with 1001 'Going away', fails pending upgrades, and resolves once
   * every `$disconnect` invocation has finished. The HTTP server is left running.
   */
  close(): Promise<void>;
}

interface InvocationOutcome {
  ok: boolean;
  result?: unknown;
  failure?: 'error' | 'timeout';
}

const GOING_AWAY = { code: 1001, reason: 'Going away' };

function normalizeIp(address: string | undefined): string {
  if (!address) return '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function defaultReason(code: number): string {
  if (code === 1005) return 'Client-side close frame status not set';
  if (code === 1006) return 'Connection lost';
  if (code === 1000) return 'Normal closure';
  if (code === 1001) return 'Going away';
  return '';
}

function rejectUpgrade(socket: Duplex, status: number, body?: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const text = body ?? JSON.stringify({ message: STATUS_CODES[status] ?? 'Error' });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

function isWebSocketHandshake(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  return (
    req.method === 'GET' &&
    (req.headers.upgrade ?? '').toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    /^[+/0-9A-Za-z]{22}==$/.test(key) &&
    req.headers['sec-websocket-version'] === '13'
  );
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

export function attachGateway(options: GatewayOptions): Gateway {
  const stage = options.stage ?? 'local';
  const pool = options.pool ?? new ConnectionPool();
  const apiId = options.apiId ?? 'localwsapi';
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const maxConnectionMs = options.maxConnectionMs ?? MAX_CONNECTION_MS;
  const integrationTimeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  const maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const selectionExpression = parseSelectionExpression(
    options.routeSelectionExpression ?? DEFAULT_SELECTION_EXPRESSION,
  );
  const accountId = options.accountId ?? '000000000000';
  const log = options.log ?? (() => {});
  const customRouteKeys = new Set(Object.keys(options.routes).filter((key) => !key.startsWith('$')));
  const throttle = options.throttle ? createStageThrottle(options.throttle) : undefined;

  const pendingSockets = new Set<Duplex>();
  const inFlight = new Set<Promise<unknown>>();
  const selectedProtocol = new WeakMap<IncomingMessage, string>();
  let closing = false;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
    return promise;
  };

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // Backstop only: frame-guard.ts closes with 1009 first.
    maxPayload: maxMessageBytes,
    handleProtocols: (_protocols, request) => selectedProtocol.get(request) ?? false,
  });

  /** Invokes a route's handler, bounded by the integration timeout. Never rejects. */
  function invoke(routeKey: string, target: RouteTarget, event: WebSocketEvent): Promise<InvocationOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<InvocationOutcome>((resolve) => {
      timer = setTimeout(() => {
        log(`[${routeKey}] ${target.name} timed out after ${integrationTimeoutMs} ms (integration timeout)`);
        resolve({ ok: false, failure: 'timeout' });
      }, integrationTimeoutMs);
      timer.unref();
    });
    const run = (async (): Promise<InvocationOutcome> => {
      if ('invoke' in target) {
        const result = await target.invoke(event);
        if (result.ok) return { ok: true, result: result.value };
        // A function that fails or runs past its own timeout is an integration error, not a timeout.
        log(
          `[${routeKey}] ${target.name} failed (${result.kind}): ${result.errorType}: ${result.errorMessage}`,
        );
        return { ok: false, failure: 'error' };
      }
      const context = lambdaContext({ functionName: target.name, region, timeoutMs: integrationTimeoutMs });
      try {
        return { ok: true, result: await target.handler(event, context) };
      } catch (error) {
        const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
        log(`[${routeKey}] ${target.name} failed: ${detail}`);
        return { ok: false, failure: 'error' };
      }
    })();
    return track(Promise.race([run, timeout]).finally(() => clearTimeout(timer)));
  }

  function invokeDisconnect(facts: ConnectionFacts, statusCode: number, reason: string): void {
    const target = options.routes.$disconnect;
    if (!target) return;
    void invoke('$disconnect', target, disconnectEvent(facts, { statusCode, reason }));
  }

  function sendGatewayError(connection: LiveConnection, message: string, requestId: string): void {
    pool.send(
      connection.connectionId,
      Buffer.from(JSON.stringify({ message, connectionId: connection.connectionId, requestId })),
    );
  }

  function sendRouteResponse(connection: LiveConnection, result: unknown): void {
    const message = routeResponseMessage(result);
    if (message !== undefined) pool.send(connection.connectionId, Buffer.from(message));
  }

  function onMessage(connection: LiveConnection, data: Buffer, isBinary: boolean): void {
    if (connection.serverClose) return; // closing: nothing more is dispatched
    if (isBinary) {
      pool.closeConnection(connection.connectionId, 1003, 'Binary frames are not supported');
      return;
    }
    connection.lastActiveAt = Date.now();
    const body = data.toString('utf8');
    const routeKey = selectRoute(body, customRouteKeys, selectionExpression);
    const event = messageEvent(connection, routeKey, body);
    const target = options.routes[routeKey];
    if (!target) {
      // Only possible for $default: API Gateway answers a message no route takes this way.
      sendGatewayError(connection, 'Forbidden', event.requestContext.requestId);
      return;
    }
    if (throttle && !throttle.admit(routeKey)) {
      sendGatewayError(connection, 'Too Many Requests', event.requestContext.requestId);
      return;
    }
    void invoke(routeKey, target, event).then((outcome) => {
      if (outcome.ok) {
        if (target.twoWay) sendRouteResponse(connection, outcome.result);
        return;
      }
      const message = outcome.failure === 'timeout' ? 'Endpoint request timed out' : 'Internal server error';
      sendGatewayError(connection, message, event.requestContext.requestId);
    });
  }

  function onOpen(ws: WebSocket, socket: Duplex, facts: ConnectionFacts): void {
    const connection: LiveConnection = { ...facts, socket: ws, lastActiveAt: facts.connectedAt };
    pool.add(connection);

    const stopGuard = guardFrameSizes(socket, { maxFrameBytes, maxMessageBytes }, () =>
      pool.closeConnection(connection.connectionId, 1009, 'Message too big'),
    );
    const idleTimer = setTimeout(
      () => pool.closeConnection(connection.connectionId, GOING_AWAY.code, GOING_AWAY.reason),
      idleTimeoutMs,
    );
    idleTimer.unref();
    const ageTimer = setTimeout(
      () => pool.closeConnection(connection.connectionId, GOING_AWAY.code, GOING_AWAY.reason),
      Math.max(0, facts.connectedAt + maxConnectionMs - Date.now()),
    );
    ageTimer.unref();

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!connection.serverClose) idleTimer.refresh();
      onMessage(connection, data, isBinary);
    });
    ws.on('error', (error) => log(`[${connection.connectionId}] socket error: ${error.message}`));
    ws.once('close', (code: number, reasonBuffer: Buffer) => {
      clearTimeout(idleTimer);
      clearTimeout(ageTimer);
      stopGuard();
      pool.remove(connection.connectionId);
      const closedBy = connection.serverClose ?? {
        code,
        reason: reasonBuffer.toString('utf8') || defaultReason(code),
      };
      invokeDisconnect(facts, closedBy.code, closedBy.reason);
    });
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {}); // a client that vanishes mid-handshake is not an error here
    const path = (req.url ?? '/').split('?')[0];
    if (path !== `/${stage}` && path !== `/${stage}/`) {
      rejectUpgrade(socket, 403, JSON.stringify({ message: 'Forbidden' }));
      return;
    }
    if (closing) {
      rejectUpgrade(socket, 503);
      return;
    }
    if (!isWebSocketHandshake(req)) {
      rejectUpgrade(socket, 400);
      return;
    }
    // A connection request is a `$connect` request to the stage's throttling, whether or not the
    // API has a `$connect` route; a refused one runs neither the authorizer nor `$connect`.
    if (throttle && !throttle.admit('$connect')) {
      rejectUpgrade(socket, 429, JSON.stringify({ message: 'Too Many Requests' }));
      return;
    }
    if (options.connectRequiresSignature && !isSigV4Signed(req)) {
      rejectUpgrade(socket, 403, JSON.stringify({ message: 'Forbidden' }));
      return;
    }
    const now = Date.now();
    let facts: ConnectionFacts = {
      connectionId: newConnectionId(),
      connectedAt: now,
      sourceIp: normalizeIp(req.socket.remoteAddress),
      ...(req.headers['user-agent'] !== undefined ? { userAgent: req.headers['user-agent'] } : {}),
      domainName: options.domainName ?? req.headers.host ?? 'localhost',
      stage,
      apiId,
    };
    const rawHeaders = [...req.rawHeaders];
    const present = new Set(rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()));
    const forwarded: [string, string][] = [
      ['X-Forwarded-For', facts.sourceIp],
      ['X-Forwarded-Port', String(req.socket.localPort ?? '')],
      ['X-Forwarded-Proto', 'http'],
    ];
    for (const [name, value] of forwarded) if (!present.has(name.toLowerCase())) rawHeaders.push(name, value);

    pendingSockets.add(socket);
    if (options.connectAuthorizer) {
      const request = { rawHeaders, url: req.url ?? '/' };
      const methodArn = `arn:aws:execute-api:${region}:${accountId}:${apiId}/${stage}/$connect`;
      const decision = await runConnectAuthorizer(
        options.connectAuthorizer,
        connectEvent(facts, request),
        methodArn,
      ).catch((error: unknown) => ({
        allowed: false as const,
        status: 500 as const,
        reason: error instanceof Error ? error.message : String(error),
      }));
      if (!decision.allowed) {
        pendingSockets.delete(socket);
        log(
          `[$connect] authorizer ${options.connectAuthorizer.name}: ${decision.status} (${decision.reason})`,
        );
        const message =
          decision.status === 401
            ? 'Unauthorized'
            : decision.status === 403
              ? 'Forbidden'
              : 'Internal server error';
        rejectUpgrade(socket, decision.status, JSON.stringify({ message }));
        return;
      }
      facts = { ...facts, authorizer: decision.authorizer };
    }
    const target = options.routes.$connect;
    let result: unknown = { statusCode: 200 };
    if (target) {
      const outcome = await invoke(
        '$connect',
        target,
        connectEvent(facts, { rawHeaders, url: req.url ?? '/' }),
      );
      if (!outcome.ok) {
        pendingSockets.delete(socket);
        rejectUpgrade(
          socket,
          outcome.failure === 'timeout' ? 504 : 500,
          JSON.stringify({ message: 'Internal server error' }),
        );
        return;
      }
      result = outcome.result;
    }
    pendingSockets.delete(socket);
    const statusCode = (result as { statusCode?: unknown } | null)?.statusCode;
    if (typeof statusCode !== 'number') {
      log(`[$connect] ${target?.name}: the result has no numeric statusCode; failing the upgrade with 502`);
      rejectUpgrade(socket, 502, JSON.stringify({ message: 'Internal server error' }));
      return;
    }
    if (statusCode < 200 || statusCode > 299) {
      const body = (result as { body?: unknown }).body;
      rejectUpgrade(socket, statusCode, typeof body === 'string' ? body : undefined);
      return;
    }
    if (socket.destroyed || closing) {
      // The client left (or the stack is stopping) while $connect ran: the connection existed for
      // the handler, so it hears about its end.
      socket.destroy();
      invokeDisconnect(facts, 1006, defaultReason(1006));
      return;
    }
    const protocol = headerValue((result as { headers?: unknown }).headers, 'sec-websocket-protocol');
    if (protocol !== undefined) selectedProtocol.set(req, protocol);
    wss.handleUpgrade(req, socket, head, (ws) => onOpen(ws, socket, facts));
  }

  const upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void onUpgrade(req, socket, head).catch((error: unknown) => {
      log(`upgrade failed: ${error instanceof Error ? error.message : String(error)}`);
      rejectUpgrade(socket, 500);
    });
  };
  options.server.on('upgrade', upgradeListener);

  return {
    pool,
    async close() {
      closing = true;
      options.server.removeListener('upgrade', upgradeListener);
      for (const socket of pendingSockets) socket.destroy();
      const closed = pool.all().map(
        (connection) =>
          new Promise<void>((resolve) => {
            if (connection.socket.readyState === connection.socket.CLOSED) return resolve();
            connection.socket.once('close', () => resolve());
            pool.closeConnection(connection.connectionId, GOING_AWAY.code, GOING_AWAY.reason);
            // A client that never answers the close frame is cut off after a second.
            setTimeout(() => connection.socket.terminate(), 1000).unref();
          }),
      );
      await Promise.all(closed);
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      wss.close();
    },
  };
}

/** Signed with SigV4, in the Authorization header or in the query string (a presigned URL). */
function isSigV4Signed(req: IncomingMessage): boolean {
  if ((req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) return true;
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  return query.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256' && query.has('X-Amz-Signature');
}
