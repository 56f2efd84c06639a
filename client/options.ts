/** The client's options resolved once, with their defaults, and the platform defaults behind them. */
import { IDLE_TIMEOUT_MS, isValidTestId, MAX_CONNECTION_AGE_MS } from '../protocol';
import { AssessmentClientError } from './errors';
import type {
  AssessmentClientOptions,
  DocumentLike,
  EventTargetLike,
  StorageLike,
  Timers,
  WebSocketConstructor,
} from './types';

export const DEFAULTS = {
  baseMs: 1000,
  capMs: 30_000,
  stableAfterMs: 10_000,
  // Half of API Gateway's idle timeout: one lost heartbeat does not get the connection closed.
  heartbeatIntervalMs: IDLE_TIMEOUT_MS / 2,
  pongTimeoutMs: 15_000,
  // Hand over to a new connection 5 minutes before API Gateway closes this one.
  maxConnectionAgeMs: MAX_CONNECTION_AGE_MS - 5 * 60_000,
  requestTimeoutMs: 15_000,
  maxOutboxEntries: 100,
  refreshBeforeExpiryMs: 60_000,
} as const;

export interface ResolvedOptions {
  url: string;
  testId: string | undefined;
  getToken: () => Promise<string>;
  WebSocket: WebSocketConstructor;
  baseMs: number;
  capMs: number;
  stableAfterMs: number;
  maxReconnectAttempts: number;
  heartbeatIntervalMs: number;
  pongTimeoutMs: number;
  maxConnectionAgeMs: number;
  requestTimeoutMs: number;
  refreshBeforeExpiryMs: number;
  maxOutboxEntries: number;
  random: () => number;
  now: () => number;
  timers: Timers;
  generateId: () => string;
  storage: StorageLike | undefined;
  window: EventTargetLike | undefined;
  document: DocumentLike | undefined;
}

/** Throws `invalid_test_id` or `no_websocket` for options no client can work with. */
export function resolveOptions(options: AssessmentClientOptions): ResolvedOptions {
  if (options.testId !== undefined && !isValidTestId(options.testId)) {
    throw new AssessmentClientError('invalid_test_id', `invalid testId: ${options.testId}`);
  }
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (WebSocketImpl === undefined) {
    throw new AssessmentClientError(
      'no_websocket',
      'no global WebSocket: pass the WebSocket option (e.g. the ws package in Node)',
    );
  }
  const random = options.random ?? Math.random;
  return {
    url: options.url,
    testId: options.testId,
    getToken: options.getToken,
    WebSocket: WebSocketImpl,
    baseMs: options.backoff?.baseMs ?? DEFAULTS.baseMs,
    capMs: options.backoff?.capMs ?? DEFAULTS.capMs,
    stableAfterMs: options.backoff?.stableAfterMs ?? DEFAULTS.stableAfterMs,
    maxReconnectAttempts: options.maxReconnectAttempts ?? Number.POSITIVE_INFINITY,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs,
    pongTimeoutMs: options.pongTimeoutMs ?? DEFAULTS.pongTimeoutMs,
    maxConnectionAgeMs: options.maxConnectionAgeMs ?? DEFAULTS.maxConnectionAgeMs,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    refreshBeforeExpiryMs: options.refreshBeforeExpiryMs ?? DEFAULTS.refreshBeforeExpiryMs,
    maxOutboxEntries: options.maxOutboxEntries ?? DEFAULTS.maxOutboxEntries,
    random,
    now: options.now ?? Date.now,
    timers: options.timers ?? defaultTimers(),
    generateId: options.generateId ?? defaultIdGenerator(random),
    storage: options.storage === null ? undefined : (options.storage ?? defaultStorage()),
    window: options.window === null ? undefined : (options.window ?? defaultWindow()),
    document: options.document === null ? undefined : (options.document ?? defaultDocument()),
  };
}

function defaultTimers(): Timers {
  return {
    setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
    clearTimeout: (handle) => {
      if (handle !== undefined) globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
    },
  };
}

function defaultStorage(): StorageLike | undefined {
  try {
    return (globalThis as { localStorage?: StorageLike }).localStorage ?? undefined;
  } catch {
    return undefined; // Access denied (sandboxed iframe, blocked cookies).
  }
}

function defaultWindow(): EventTargetLike | undefined {
  // Browsers and workers; Node's globalThis has no addEventListener.
  const g = globalThis as Partial<EventTargetLike>;
  return typeof g.addEventListener === 'function' ? (globalThis as unknown as EventTargetLike) : undefined;
}

function defaultDocument(): DocumentLike | undefined {
  const doc = (globalThis as { document?: DocumentLike }).document;
  return doc !== undefined && typeof doc.addEventListener === 'function' ? doc : undefined;
}

function defaultIdGenerator(random: () => number): () => string {
  const c = (
    globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: Crypto['getRandomValues'] } }
  ).crypto;
  if (typeof c?.randomUUID === 'function') return () => (c.randomUUID as () => string).call(c);
  // crypto.randomUUID exists only in secure contexts; getRandomValues exists everywhere else.
  return () => {
    const bytes = new Uint8Array(16);
    if (typeof c?.getRandomValues === 'function') c.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    return `r-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  };
}
