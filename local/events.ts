/**
 * Lambda events shaped as API Gateway WebSocket (Lambda proxy integration) builds them, one
 * builder per event type, plus the EventBridge scheduled event for the scheduled jobs.
 *
 * Field rules (each has a test in test/local/events.test.ts):
 * - every event: `requestContext` with routeKey, eventType, extendedRequestId, requestTime
 *   ('26/Nov/2026:05:40:00 +0000'), messageDirection 'IN', stage, connectedAt, requestTimeEpoch,
 *   identity { sourceIp, userAgent? }, requestId, domainName, connectionId, apiId; and
 *   `isBase64Encoded: false` (API Gateway only routes text frames);
 * - CONNECT only: `headers` (original case), `multiValueHeaders`, and `queryStringParameters` /
 *   `multiValueQueryStringParameters` (both absent when the URL has no query);
 * - MESSAGE only: `requestContext.messageId` and `body`;
 * - DISCONNECT only: `requestContext.disconnectStatusCode` and `disconnectReason`.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface ConnectionFacts {
  readonly connectionId: string;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent?: string;
  readonly domainName: string;
  readonly stage: string;
  readonly apiId: string;
  /** What the `$connect` authorizer returned (its context and principalId), for every later event. */
  readonly authorizer?: Readonly<Record<string, unknown>>;
}

export interface WebSocketRequestContext {
  routeKey: string;
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  messageId?: string;
  extendedRequestId: string;
  requestTime: string;
  messageDirection: 'IN';
  stage: string;
  connectedAt: number;
  requestTimeEpoch: number;
  identity: { sourceIp: string; userAgent?: string };
  requestId: string;
  domainName: string;
  connectionId: string;
  apiId: string;
  disconnectStatusCode?: number;
  disconnectReason?: string;
  authorizer?: Record<string, unknown>;
}

export interface WebSocketEvent {
  requestContext: WebSocketRequestContext;
  isBase64Encoded: boolean;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  body?: string;
}

export interface ScheduledEvent {
  version: '0';
  id: string;
  'detail-type': 'Scheduled Event';
  source: 'aws.events';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, never>;
}

/** 16 characters of base64 ending with '=' (11 random bytes), the look of API Gateway's ids. */
function gatewayId(): string {
  return randomBytes(11).toString('base64');
}

/** A new connection id, e.g. 'K3mBdf1ZoAMCJzQ='. */
export function newConnectionId(): string {
  return gatewayId();
}

/** A new request id (also used for extendedRequestId and messageId). */
export function newRequestId(): string {
  return gatewayId();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** API Gateway's `requestTime` format, always UTC: '26/Nov/2026:05:40:00 +0000'. */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

function requestContext(
  facts: ConnectionFacts,
  routeKey: string,
  eventType: WebSocketRequestContext['eventType'],
  nowMs: number,
): WebSocketRequestContext {
  const requestId = newRequestId();
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: formatRequestTime(nowMs),
    messageDirection: 'IN',
    stage: facts.stage,
    connectedAt: facts.connectedAt,
    requestTimeEpoch: nowMs,
    identity: {
      sourceIp: facts.sourceIp,
      ...(facts.userAgent !== undefined ? { userAgent: facts.userAgent } : {}),
    },
    requestId,
    domainName: facts.domainName,
    connectionId: facts.connectionId,
    apiId: facts.apiId,
    ...(facts.authorizer !== undefined ? { authorizer: { ...facts.authorizer } } : {}),
  };
}

/**
 * Headers from Node's `rawHeaders` (name/value pairs in their original case): `headers` keeps the
 * last value of a repeated header, `multiValueHeaders` all of them.
 */
export function headersFromRaw(rawHeaders: readonly string[]): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    // A repeated header may come in another case; keep the first spelling seen.
    const existing = Object.keys(multiValueHeaders).find((k) => k.toLowerCase() === name.toLowerCase());
    const key = existing ?? name;
    headers[key] = value;
    const values = multiValueHeaders[key] ?? [];
    values.push(value);
    multiValueHeaders[key] = values;
  }
  return { headers, multiValueHeaders };
}

/** Query parameters of a request URL; null when the URL has no (non-empty) query. */
export function queryFromUrl(url: string): {
  queryStringParameters: Record<string, string>;
  multiValueQueryStringParameters: Record<string, string[]>;
} | null {
  const search = new URL(url, 'http://localhost').searchParams;
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of search) {
    single[name] = value;
    const values = multi[name] ?? [];
    values.push(value);
    multi[name] = values;
  }
  if (Object.keys(single).length === 0) return null;
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

export function connectEvent(
  facts: ConnectionFacts,
  request: { rawHeaders: readonly string[]; url: string },
  nowMs: number = Date.now(),
): WebSocketEvent {
  const query = queryFromUrl(request.url);
  return {
    ...headersFromRaw(request.rawHeaders),
    ...(query ?? {}),
    requestContext: requestContext(facts, '$connect', 'CONNECT', nowMs),
    isBase64Encoded: false,
  };
}

export function messageEvent(
  facts: ConnectionFacts,
  routeKey: string,
  body: string,
  nowMs: number = Date.now(),
): WebSocketEvent {
  const context = requestContext(facts, routeKey, 'MESSAGE', nowMs);
  return {
    requestContext: { ...context, messageId: newRequestId() },
    body,
    isBase64Encoded: false,
  };
}

export function disconnectEvent(
  facts: ConnectionFacts,
  disconnect: { statusCode: number; reason: string },
  nowMs: number = Date.now(),
): WebSocketEvent {
  return {
    requestContext: {
      ...requestContext(facts, '$disconnect', 'DISCONNECT', nowMs),
      disconnectStatusCode: disconnect.statusCode,
      disconnectReason: disconnect.reason,
    },
    isBase64Encoded: false,
  };
}

/** An EventBridge schedule's event, as a rule with `rate(n minutes)` delivers it. */
export function scheduledEvent(
  ruleName: string,
  region: string,
  nowMs: number = Date.now(),
  account = '000000000000',
): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account,
    time: new Date(Math.floor(nowMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${account}:rule/${ruleName}`],
    detail: {},
  };
}
