/** Public types of the assessment client SDK; the payloads are the protocol module's own. */
import type { AuthSuccessData, DataFrameType, MessageType, ServerFrame, ServerFrameData } from '../protocol';
import type { OutboxEntry } from './outbox';

export type {
  AiFeedbackData,
  AnswerFeedbackData,
  AssessmentSnapshot,
  AssessmentStatusData,
  AuthErrorCode,
  AuthSuccessData,
  ClientFrame,
  CompletedSummary,
  CompletionReason,
  ErrorCode,
  MessageType,
  NoticeData,
  PongData,
  ProctorEventData,
  ProctorSnapshotData,
  ProctorStudent,
  ProctorUnsubscribedData,
  Progress,
  QuestionView,
  ServerFrame,
  SessionReplacedData,
  TestInfo,
} from '../protocol';

/**
 * - `connecting`: first connection (fetching a token, opening the socket)
 * - `authenticating`: socket open, `auth` sent, waiting for `auth_success`
 * - `open`: authenticated; commands are sent right away
 * - `reconnecting`: the connection dropped; waiting for the next attempt or attempting
 * - `closed`: stopped by `close()`, by a final auth error, or by the attempt limit
 * - `replaced`: another tab or device took over this session; the client stopped
 */
export type ConnectionState =
  | 'connecting'
  | 'authenticating'
  | 'open'
  | 'reconnecting'
  | 'closed'
  | 'replaced';

export interface StateChange {
  previous: ConnectionState;
  /** On `reconnecting`: the delay before the next attempt, when one is scheduled. */
  retryInMs?: number;
  /** On `reconnecting`: how many reconnect attempts have been scheduled since the last stable connection. */
  attempt?: number;
  /** On `closed` / `replaced`: why the client stopped (`closed`, an auth error code, `session_replaced`, ...). */
  reason?: string;
}

/** Extra facts about a server frame, passed to every server-frame event as the second argument. */
export interface FrameMeta {
  request_id?: string;
  timestamp: string;
  frame: ServerFrame;
}

export interface AuthSuccessMeta extends FrameMeta {
  /**
   * `connect`: the first auth; `reconnect`: after a drop; `handover`: the silent proactive
   * reconnect; `refresh`: a fresh token sent on the open connection.
   */
  cause: 'connect' | 'reconnect' | 'handover' | 'refresh';
}

export interface ClientErrorEvent {
  /** A server error code (protocol section 6), or a client code such as `token_unavailable`. */
  code: string;
  message: string;
  request_id?: string;
  source: 'server' | 'client';
}

export interface AuthErrorEvent {
  code: string;
  message: string;
  /** True when the client handles it by itself (fresh token after `expired_token`, handover retry). */
  willRetry: boolean;
}

/** Server frames delivered as the event of the same name, with their data and the frame's meta. */
export type FrameEventType = Exclude<DataFrameType, 'auth_success'>;

export type FrameEvents = { [T in FrameEventType]: [data: ServerFrameData[T], meta: FrameMeta] };

/** Event name -> listener arguments. */
export interface ClientEvents extends FrameEvents {
  state: [state: ConnectionState, change: StateChange];
  auth_success: [data: AuthSuccessData, meta: AuthSuccessMeta];
  auth_error: [error: AuthErrorEvent];
  error: [error: ClientErrorEvent];
  /** The answers not yet acknowledged by the server changed (added, acknowledged, dropped). */
  outbox: [entries: readonly OutboxEntry[]];
  /** Every server frame of a type this version knows, before it is dispatched (for logging and debugging). */
  frame: [frame: ServerFrame];
}

// Handlers are declared with method syntax inside an object type so that their parameters are
// checked bivariantly: the DOM WebSocket and the `ws` package both fit without casts.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The subset of the WebSocket API the client uses (browser WebSocket and `ws` both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code?: number; reason?: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** localStorage-like storage for the outbox. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

export interface DocumentLike extends EventTargetLike {
  readonly visibilityState: string;
}

export interface BackoffOptions {
  /** @default 1000 */
  baseMs?: number;
  /** @default 30000 */
  capMs?: number;
  /** Attempts reset only after a connection stayed authenticated this long. @default 10000 */
  stableAfterMs?: number;
}

export interface AssessmentClientOptions {
  /** Stage URL, e.g. `ws://localhost:3001/local` or `wss://<api>.execute-api.<region>.amazonaws.com/prod`. */
  url: string;
  /** The test to take; omit for a general connection. */
  testId?: string;
  /** Returns a JWT; called before every (re)connect, so it may return a fresh token each time. */
  getToken: () => Promise<string>;
  /** WebSocket implementation. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** Where unacknowledged answers survive a page reload. @default globalThis.localStorage when present */
  storage?: StorageLike | null;
  backoff?: BackoffOptions;
  /** Stop after this many consecutive failed reconnect attempts. @default Infinity (never give up) */
  maxReconnectAttempts?: number;
  /** Interval of client heartbeats (API Gateway closes idle connections after 10 min). @default 300000 */
  heartbeatIntervalMs?: number;
  /** A connection whose heartbeat gets no `pong` within this time is treated as dead. @default 15000 */
  pongTimeoutMs?: number;
  /** Reconnect silently before API Gateway's 2 h maximum. @default 6900000 (1 h 55 min) */
  maxConnectionAgeMs?: number;
  /** Timeout of every command promise, and of connecting + authenticating. @default 15000 */
  requestTimeoutMs?: number;
  /**
   * Send `auth` with a fresh token from getToken() this long before the current token's `exp`
   * (the server refuses messages once the token has expired). @default 60000
   */
  refreshBeforeExpiryMs?: number;
  /** At most this many unacknowledged answers are kept. @default 100 */
  maxOutboxEntries?: number;
  /** Random source in [0, 1) for backoff jitter. @default Math.random */
  random?: () => number;
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number;
  timers?: Timers;
  /** Request id generator. @default crypto.randomUUID when available */
  generateId?: () => string;
  /** Source of `online` / `offline` events. @default globalThis when it is an EventTarget (browsers) */
  window?: EventTargetLike | null;
  /** Source of `visibilitychange`. @default globalThis.document */
  document?: DocumentLike | null;
}

/** A `message` frame as the client sends it: always with a `request_id`, to match the reply. */
export interface ClientMessageFrame {
  action: 'message';
  type: MessageType;
  request_id: string;
  data: object;
}
