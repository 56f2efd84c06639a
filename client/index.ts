/**
 * AssessmentClient: a reconnecting, re-authenticating client for the assessment WebSocket
 * protocol v1 (docs/protocol.md). No third-party runtime dependencies: browsers use the
 * global WebSocket, Node passes one (e.g. from the `ws` package).
 */
import { isValidTestId } from '../protocol';
import { Backoff } from './backoff';
import { Emitter } from './emitter';
import { AssessmentClientError } from './errors';
import { isFinalAnswerError, Outbox, type OutboxEntry, outboxStorageKey } from './outbox';
import { PendingRequests } from './pending-requests';
import { tokenExpiryMs } from './token';
import type {
  AnswerFeedbackData,
  AssessmentClientOptions,
  AssessmentSnapshot,
  AssessmentStatusData,
  AuthSuccessData,
  AuthSuccessMeta,
  ClientEvents,
  ClientMessageFrame,
  CompletedSummary,
  ConnectionState,
  DocumentLike,
  EventTargetLike,
  FrameMeta,
  MessageType,
  PongData,
  QuestionView,
  ServerFrame,
  StateChange,
  StorageLike,
  TestInfo,
  Timers,
  WebSocketConstructor,
  WebSocketLike,
} from './types';

export { Backoff } from './backoff';
export { Emitter } from './emitter';
export { AssessmentClientError } from './errors';
export { isFinalAnswerError, Outbox, type OutboxEntry, outboxStorageKey } from './outbox';
export { PendingRequests } from './pending-requests';
export { tokenExpiryMs } from './token';
export type * from './types';

const WS_OPEN = 1;

export const DEFAULTS = {
  baseMs: 1000,
  capMs: 30_000,
  stableAfterMs: 10_000,
  heartbeatIntervalMs: 5 * 60_000,
  pongTimeoutMs: 15_000,
  maxConnectionAgeMs: 115 * 60_000,
  requestTimeoutMs: 15_000,
  maxOutboxEntries: 100,
  refreshBeforeExpiryMs: 60_000,
} as const;

/** One WebSocket and what the client knows about it. */
interface Connection {
  readonly ws: WebSocketLike;
  /** `handover`: the replacement opened before the connection's maximum age; not yet in use. */
  role: 'primary' | 'handover';
  openedAt: number | undefined;
  authenticated: boolean;
  /** The server told this (older) connection it was replaced by our own handover connection. */
  replacedByHandover: boolean;
  authTimer: unknown;
  /** The token this connection authenticated with (or is refreshing to). */
  token: string;
  /** An `auth` with a fresh token was sent on this open connection and is not answered yet. */
  refreshing: boolean;
}

interface ResolvedOptions {
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
  random: () => number;
  now: () => number;
  timers: Timers;
  generateId: () => string;
  window: EventTargetLike | undefined;
  document: DocumentLike | undefined;
}

export class AssessmentClient {
  private readonly options: ResolvedOptions;
  private readonly events = new Emitter<ClientEvents>();
  private readonly backoff: Backoff;
  private readonly outbox: Outbox;
  private readonly pending: PendingRequests;
  /** The promise of each answer still waiting, so a double submit gets the same one. */
  private readonly answerPromises = new Map<string, Promise<AnswerFeedbackData>>();

  private currentState: ConnectionState = 'closed';
  private running = false;
  /** Bumped whenever an in-progress connection attempt must be abandoned. */
  private attemptGeneration = 0;
  private current: Connection | undefined;
  private handover: Connection | undefined;
  /** The old connection after a handover: still receiving replies in flight until the server closes it. */
  private draining: { connection: Connection; timer: unknown } | undefined;
  private handoverPending = false;
  private everAuthenticated = false;
  private expiredTokenRetried = false;
  private lastAuth: AuthSuccessData | undefined;
  private userId: string | undefined;

  private reconnectTimer: unknown;
  private heartbeatTimer: unknown;
  private ageTimer: unknown;
  private handoverRetryTimer: unknown;
  private refreshTimer: unknown;
  private probe: { requestId: string; timer: unknown } | undefined;
  /** The outbox entry sent and not yet answered on the current connection. */
  private inFlight: { requestId: string; timer: unknown } | undefined;
  private outboxRetryTimer: unknown;
  private outboxRetries = 0;
  private removeLifecycleListeners: (() => void) | undefined;

  constructor(options: AssessmentClientOptions) {
    if (options.testId !== undefined) {
      if (!isValidTestId(options.testId)) {
        throw new AssessmentClientError('invalid_test_id', `invalid testId: ${options.testId}`);
      }
    }
    const WebSocketImpl =
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? undefined;
    if (WebSocketImpl === undefined) {
      throw new AssessmentClientError(
        'no_websocket',
        'no global WebSocket: pass the WebSocket option (e.g. the ws package in Node)',
      );
    }
    const random = options.random ?? Math.random;
    this.options = {
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
      random,
      now: options.now ?? Date.now,
      timers: options.timers ?? defaultTimers(),
      generateId: options.generateId ?? defaultIdGenerator(random),
      window: options.window === null ? undefined : (options.window ?? defaultWindow()),
      document: options.document === null ? undefined : (options.document ?? defaultDocument()),
    };
    this.backoff = new Backoff({
      baseMs: this.options.baseMs,
      capMs: this.options.capMs,
      stableAfterMs: this.options.stableAfterMs,
      random,
    });
    this.pending = new PendingRequests(this.options.timers);
    this.outbox = new Outbox({
      storage: options.storage === null ? undefined : (options.storage ?? defaultStorage()),
      key: outboxStorageKey(options.url, options.testId),
      maxEntries: options.maxOutboxEntries ?? DEFAULTS.maxOutboxEntries,
    });
  }

  // ---------------------------------------------------------------- public API

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The data of the latest `auth_success`. */
  get session(): AuthSuccessData | undefined {
    return this.lastAuth;
  }

  /** Answers given and not yet acknowledged, oldest first. */
  get pendingAnswers(): readonly OutboxEntry[] {
    return this.outbox.entries();
  }

  on<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  once<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): () => void {
    return this.events.once(event, listener);
  }

  off<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /**
   * Starts connecting (no-op when already running). Resolves with the `auth_success` data once the
   * connection is open; rejects if the client stops first (final auth error, `close()`, replaced).
   */
  connect(): Promise<AuthSuccessData> {
    const opened = this.whenOpen();
    // Event-driven apps may ignore this promise: failures also arrive as 'state' / 'auth_error'
    // events, so an ignored rejection must not become an unhandled rejection.
    opened.catch(() => {});
    if (!this.running) {
      this.running = true;
      if (this.currentState === 'replaced') this.outbox.reattach();
      this.expiredTokenRetried = false;
      this.backoff.reset();
      this.installLifecycleListeners();
      this.setState('connecting', {});
      void this.openPrimary();
    }
    return opened;
  }

  /** Stops for good: closes the socket, cancels timers, rejects pending commands (code `closed`). Unacknowledged answers stay in storage. */
  close(): void {
    this.stop('closed', 'closed');
  }

  startAssessment(): Promise<AssessmentSnapshot> {
    return this.request('start_assessment', {}, ['assessment_started', 'assessment_recovered']);
  }

  getQuestion(): Promise<QuestionView> {
    return this.request('get_question', {}, ['question']);
  }

  getStatus(): Promise<AssessmentStatusData> {
    return this.request('get_assessment_status', {}, ['assessment_status']);
  }

  completeAssessment(): Promise<CompletedSummary> {
    return this.request('complete_assessment', {}, ['assessment_completed']);
  }

  getTestInfo(): Promise<TestInfo> {
    return this.request('get_test_info', {}, ['test_info']);
  }

  heartbeat(): Promise<PongData> {
    return this.request('heartbeat', {}, ['pong']);
  }

  /**
   * Submits an answer through the outbox: it is kept (and persisted) until the server
   * acknowledges it, and resent with the same request_id after every reconnect. Resolves with
   * the `answer_feedback`; rejects with the server's code on a final error (`time_up`,
   * `already_answered`, ...), with `timeout` after requestTimeoutMs (the answer stays queued and
   * its later acknowledgement still arrives as an `answer_feedback` event), with `outbox_full`,
   * or with `closed` / `session_replaced`.
   */
  submitAnswer(
    questionId: string,
    selectedOption: string,
    options: { requestId?: string } = {},
  ): Promise<AnswerFeedbackData> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const same =
      options.requestId === undefined ? this.outbox.findSame(questionId, selectedOption) : undefined;
    const requestId = options.requestId ?? same?.request_id ?? this.options.generateId();
    const frame = this.messageFrame('submit_answer', requestId, {
      question_id: questionId,
      selected_option: selectedOption,
    });
    if (this.outbox.get(requestId) === undefined) {
      const added = this.outbox.add({
        request_id: requestId,
        question_id: questionId,
        selected_option: selectedOption,
        created_at: this.options.now(),
        ...(this.userId === undefined ? {} : { user_id: this.userId }),
      });
      if (added === 'full') {
        return Promise.reject(
          new AssessmentClientError('outbox_full', 'too many unacknowledged answers', { requestId }),
        );
      }
      this.emitOutbox();
    }
    let promise = this.answerPromises.get(requestId);
    if (promise === undefined) {
      const added = this.pending.add<AnswerFeedbackData>({
        frame,
        expects: ['answer_feedback'],
        timeoutMs: this.options.requestTimeoutMs,
        viaOutbox: true,
      });
      promise = added;
      this.answerPromises.set(requestId, added);
      const forget = () => this.answerPromises.delete(requestId);
      added.then(forget, forget);
    }
    this.flushOutbox();
    return promise;
  }

  /**
   * Test and debug aid: drops the current socket as a network failure would (the server sees the
   * connection go away), and lets the client recover by itself.
   */
  dropConnection(): void {
    const connection = this.current;
    if (connection === undefined) return;
    const ws = connection.ws as WebSocketLike & { terminate?: () => void };
    if (typeof ws.terminate === 'function') ws.terminate();
    else ws.close(4000, 'dropped for testing');
  }

  // ---------------------------------------------------------------- commands

  private request<T>(type: MessageType, data: Record<string, unknown>, expects: string[]): Promise<T> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const frame = this.messageFrame(type, this.options.generateId(), data);
    const promise = this.pending.add<T>({ frame, expects, timeoutMs: this.options.requestTimeoutMs });
    const connection = this.current;
    if (connection?.authenticated && this.send(connection, frame)) {
      this.pending.markSent(frame.request_id, connection);
    }
    return promise;
  }

  /** Why a command cannot even be queued, if it cannot. */
  private refusal(): AssessmentClientError | undefined {
    if (this.currentState === 'replaced') {
      return new AssessmentClientError(
        'session_replaced',
        'this session was taken over by another connection',
      );
    }
    if (!this.running) {
      return new AssessmentClientError('not_connected', 'call connect() first');
    }
    return undefined;
  }

  private messageFrame(
    type: MessageType,
    requestId: string,
    data: Record<string, unknown>,
  ): ClientMessageFrame {
    return { action: 'message', type, request_id: requestId, data };
  }

  private whenOpen(): Promise<AuthSuccessData> {
    if (this.currentState === 'open' && this.lastAuth !== undefined) return Promise.resolve(this.lastAuth);
    return new Promise((resolve, reject) => {
      const off = this.events.on('state', (state, change) => {
        if (state === 'open' && this.lastAuth !== undefined) {
          off();
          resolve(this.lastAuth);
        } else if (state === 'closed' || state === 'replaced') {
          off();
          reject(new AssessmentClientError(change.reason ?? state, `client ${state}`));
        }
      });
    });
  }

  // ---------------------------------------------------------------- connections

  private async openPrimary(): Promise<void> {
    const generation = ++this.attemptGeneration;
    const token = await this.fetchToken();
    if (generation !== this.attemptGeneration || !this.running) return;
    if (token === undefined) {
      this.scheduleReconnect();
      return;
    }
    const connection = this.openSocket('primary', token);
    if (connection === undefined) {
      this.scheduleReconnect();
      return;
    }
    this.current = connection;
  }

  private async fetchToken(): Promise<string | undefined> {
    try {
      const token = await this.options.getToken();
      if (typeof token !== 'string' || token === '') throw new Error('getToken() returned no token');
      return token;
    } catch (err) {
      this.events.emit('error', {
        code: 'token_unavailable',
        message: err instanceof Error ? err.message : String(err),
        source: 'client',
      });
      return undefined;
    }
  }

  private connectionUrl(): string {
    if (this.options.testId === undefined) return this.options.url;
    try {
      const url = new URL(this.options.url);
      url.searchParams.set('test_id', this.options.testId);
      return url.toString();
    } catch {
      const separator = this.options.url.includes('?') ? '&' : '?';
      return `${this.options.url}${separator}test_id=${encodeURIComponent(this.options.testId)}`;
    }
  }

  private openSocket(role: Connection['role'], token: string): Connection | undefined {
    let ws: WebSocketLike;
    try {
      ws = new this.options.WebSocket(this.connectionUrl());
    } catch (err) {
      this.events.emit('error', {
        code: 'socket_error',
        message: err instanceof Error ? err.message : String(err),
        source: 'client',
      });
      return undefined;
    }
    const connection: Connection = {
      ws,
      role,
      openedAt: undefined,
      authenticated: false,
      replacedByHandover: false,
      authTimer: undefined,
      token,
      refreshing: false,
    };
    // Connecting and authenticating share one deadline; a socket stuck in either is given up.
    connection.authTimer = this.options.timers.setTimeout(() => {
      connection.authTimer = undefined;
      if (!connection.authenticated) this.connectionFailed(connection);
    }, this.options.requestTimeoutMs);
    ws.onopen = () => {
      connection.openedAt = this.options.now();
      if (role === 'primary' && this.current === connection) this.setState('authenticating', {});
      this.sendRaw(connection, {
        action: 'auth',
        token,
        ...(this.options.testId === undefined ? {} : { test_id: this.options.testId }),
      });
    };
    ws.onmessage = (event) => this.receive(connection, event.data);
    ws.onclose = () => this.connectionFailed(connection);
    ws.onerror = () => {
      // A close event follows every error; it drives the reconnect.
    };
    return connection;
  }

  /** Detaches and closes a socket; its later events are ignored. */
  private abandon(connection: Connection, code = 1000, reason = 'client closed'): void {
    this.options.timers.clearTimeout(connection.authTimer);
    connection.authTimer = undefined;
    const ws = connection.ws;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      // Already closed or never opened.
    }
  }

  /**
   * After a handover the old connection gets nothing new to send, but replies already on their way
   * still count. The server sends it `session_replaced` and closes it; if it does not, the client
   * closes it after requestTimeoutMs.
   */
  private drain(connection: Connection): void {
    this.endDrain();
    const timer = this.options.timers.setTimeout(() => this.endDrain(), this.options.requestTimeoutMs);
    this.draining = { connection, timer };
  }

  private endDrain(): void {
    if (this.draining === undefined) return;
    this.options.timers.clearTimeout(this.draining.timer);
    this.abandon(this.draining.connection, 1000, 'replaced by a newer connection');
    this.draining = undefined;
  }

  /** A socket closed, failed to connect or authenticate in time, or stopped answering. */
  private connectionFailed(connection: Connection): void {
    if (connection === this.draining?.connection) {
      this.endDrain();
      return;
    }
    this.abandon(connection);
    if (!this.running) return;
    if (connection === this.handover) {
      this.handover = undefined;
      if (this.current === undefined) {
        this.connectionLost();
      } else {
        this.scheduleHandoverRetry();
      }
      return;
    }
    if (connection !== this.current) return;
    this.current = undefined;
    this.stopConnectionTimers();
    // During a handover the server closes the older connection once the newer one authenticates;
    // the newer one takes over when its auth_success arrives.
    if (this.handover !== undefined || this.handoverPending) return;
    this.connectionLost();
  }

  private connectionLost(): void {
    this.backoff.disconnected(this.options.now());
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    this.options.timers.clearTimeout(this.reconnectTimer);
    if (this.backoff.attempt >= this.options.maxReconnectAttempts) {
      this.stop('closed', 'reconnect_attempts_exhausted');
      return;
    }
    const delay = this.backoff.next();
    this.setState(this.everAuthenticated ? 'reconnecting' : 'connecting', {
      retryInMs: delay,
      attempt: this.backoff.attempt,
    });
    this.reconnectTimer = this.options.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.openPrimary();
    }, delay);
  }

  /** Skips the backoff wait (the browser came back online or the page became visible). */
  private reconnectNow(): void {
    if (!this.running || this.current !== undefined || this.reconnectTimer === undefined) return;
    this.options.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    void this.openPrimary();
  }

  // ---------------------------------------------------------------- handover (proactive reconnect)

  private async startHandover(): Promise<void> {
    if (!this.running || this.handover !== undefined || this.handoverPending) return;
    const current = this.current;
    if (current === undefined || !current.authenticated) return;
    this.handoverPending = true;
    const token = await this.fetchToken();
    this.handoverPending = false;
    if (!this.running) return;
    if (this.current === undefined) {
      // The old connection died while the token was fetched: an ordinary reconnect follows.
      if (this.reconnectTimer === undefined) this.connectionLost();
      return;
    }
    if (token === undefined) {
      this.scheduleHandoverRetry();
      return;
    }
    const connection = this.openSocket('handover', token);
    if (connection === undefined) {
      this.scheduleHandoverRetry();
      return;
    }
    this.handover = connection;
  }

  private scheduleHandoverRetry(): void {
    this.options.timers.clearTimeout(this.handoverRetryTimer);
    const delay = this.options.capMs * (1 + this.options.random());
    this.handoverRetryTimer = this.options.timers.setTimeout(() => {
      this.handoverRetryTimer = undefined;
      void this.startHandover();
    }, delay);
  }

  // ---------------------------------------------------------------- incoming frames

  private receive(connection: Connection, raw: unknown): void {
    if (typeof raw !== 'string') return;
    let frame: ServerFrame;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as ServerFrame).type !== 'string') {
        return;
      }
      frame = parsed as ServerFrame;
    } catch {
      return;
    }
    this.events.emit('frame', frame);
    const meta: FrameMeta = {
      ...(frame.request_id === undefined ? {} : { request_id: frame.request_id }),
      timestamp: frame.timestamp,
      frame,
    };
    const data = (frame.data ?? {}) as never;
    switch (frame.type) {
      case 'auth_success':
        this.onAuthSuccess(connection, frame.data as AuthSuccessData, meta);
        return;
      case 'auth_error':
        this.onAuthError(connection, frame);
        return;
      case 'session_replaced':
        this.onSessionReplaced(connection, data, meta);
        return;
      case 'error':
        this.onError(connection, frame);
        return;
      case 'pong':
        if (this.probe !== undefined && frame.request_id === this.probe.requestId) {
          this.options.timers.clearTimeout(this.probe.timer);
          this.probe = undefined;
        }
        this.pending.settle(frame);
        this.events.emit('pong', data, meta);
        return;
      case 'answer_feedback':
        this.onAnswerFeedback(frame, data, meta);
        return;
      case 'question':
      case 'assessment_started':
      case 'assessment_recovered':
      case 'assessment_completed':
      case 'assessment_status':
      case 'test_info':
        this.pending.settle(frame);
        this.events.emit(frame.type, data, meta);
        return;
      default:
        this.pending.settle(frame);
    }
  }

  private onAuthSuccess(connection: Connection, data: AuthSuccessData, meta: FrameMeta): void {
    if (!this.running) return;
    this.options.timers.clearTimeout(connection.authTimer);
    connection.authTimer = undefined;
    let cause: AuthSuccessMeta['cause'];
    const refreshed = connection.authenticated && connection === this.current;
    connection.refreshing = false;
    if (refreshed) {
      cause = 'refresh';
      this.resetFlight(); // requests refused while the token was stale are sent again below
    } else if (connection === this.handover) {
      cause = 'handover';
      const old = this.current;
      this.handover = undefined;
      connection.role = 'primary';
      this.current = connection;
      if (old !== undefined) this.drain(old);
      this.resetFlight();
    } else if (connection === this.current) {
      cause = this.everAuthenticated ? 'reconnect' : 'connect';
    } else {
      return;
    }
    connection.authenticated = true;
    this.everAuthenticated = true;
    this.expiredTokenRetried = false;
    this.lastAuth = data;
    this.userId = data.user_id;
    if (!refreshed) this.backoff.connected(this.options.now());
    this.outboxRetries = 0;
    const dropped = this.outbox.adoptUser(data.user_id);
    if (dropped.length > 0) this.emitOutbox();
    if (!refreshed) this.stopConnectionTimers();
    this.scheduleHeartbeat();
    if (!refreshed) this.scheduleHandover(connection);
    this.scheduleRefresh(connection);
    this.setState('open', {});
    this.events.emit('auth_success', data, { ...meta, cause });
    this.resendPending(connection);
    this.flushOutbox();
  }

  private onAuthError(connection: Connection, frame: ServerFrame): void {
    const code = frame.error?.code ?? 'invalid_token';
    const message = frame.error?.message ?? code;
    if (!this.running || (connection !== this.current && connection !== this.handover)) return;
    this.options.timers.clearTimeout(connection.authTimer);
    connection.authTimer = undefined;
    const isHandover = connection === this.handover;
    if (code === 'expired_token' && !this.expiredTokenRetried) {
      // The server closes the connection after any auth_error: retry once at once, with a new token.
      this.expiredTokenRetried = true;
      this.events.emit('auth_error', { code, message, willRetry: true });
      this.abandon(connection);
      if (isHandover) {
        this.handover = undefined;
        void this.startHandover();
      } else {
        this.current = undefined;
        void this.openPrimary();
      }
      return;
    }
    if (isHandover) {
      // The current connection still works; try again later, unnoticed by the student.
      this.events.emit('auth_error', { code, message, willRetry: true });
      this.abandon(connection);
      this.handover = undefined;
      this.scheduleHandoverRetry();
      return;
    }
    this.events.emit('auth_error', { code, message, willRetry: false });
    this.stop('closed', code);
  }

  private onSessionReplaced(
    connection: Connection,
    data: ClientEvents['session_replaced'][0],
    meta: FrameMeta,
  ): void {
    if (!this.running || connection !== this.current) return;
    if (this.handover !== undefined) {
      // Our own handover connection authenticated: this is the expected replacement.
      connection.replacedByHandover = true;
      return;
    }
    this.events.emit('session_replaced', data, meta);
    this.stop('replaced', 'session_replaced');
  }

  private onError(connection: Connection, frame: ServerFrame): void {
    const code = frame.error?.code ?? 'unknown_error';
    const message = frame.error?.message ?? code;
    const requestId = frame.request_id;
    if (requestId !== undefined && requestId === this.probe?.requestId) this.clearProbe(); // an answer is a sign of life
    const entry = requestId === undefined ? undefined : this.outbox.get(requestId);
    if (requestId !== undefined && entry !== undefined) {
      if (this.inFlight?.requestId === requestId) this.clearInFlight();
      if (isFinalAnswerError(code)) {
        this.outbox.remove(requestId);
        this.emitOutbox();
        this.pending.settle(frame);
        this.flushOutbox();
      } else {
        this.scheduleOutboxRetry();
      }
    } else if (code === 'not_authenticated' && requestId !== undefined && this.pending.has(requestId)) {
      // Refused because the token expired: kept, and sent again after the refresh below.
      this.pending.markUnsent(requestId);
    } else {
      this.pending.settle(frame);
    }
    this.events.emit('error', {
      code,
      message,
      ...(requestId === undefined ? {} : { request_id: requestId }),
      source: 'server',
    });
    if (code === 'not_authenticated' && connection === this.current && connection.authenticated) {
      // The token expired (or the server forgot the auth): authenticate again with a fresh token.
      void this.refreshAuth(connection, 'refused');
    }
  }

  private onAnswerFeedback(frame: ServerFrame, data: AnswerFeedbackData, meta: FrameMeta): void {
    const requestId = frame.request_id;
    if (requestId !== undefined && this.outbox.remove(requestId) !== undefined) {
      if (this.inFlight?.requestId === requestId) this.clearInFlight();
      this.outboxRetries = 0;
      this.emitOutbox();
    }
    this.pending.settle(frame);
    this.events.emit('answer_feedback', data, meta);
    this.flushOutbox();
  }

  // ---------------------------------------------------------------- sending

  private send(connection: Connection, frame: ClientMessageFrame): boolean {
    return this.sendRaw(connection, frame);
  }

  private sendRaw(connection: Connection, frame: object): boolean {
    if (connection.ws.readyState !== WS_OPEN) return false;
    try {
      connection.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** After an auth: (re)send commands that were queued, or sent on an earlier connection. */
  private resendPending(connection: Connection): void {
    for (const frame of this.pending.unsentOn(connection)) {
      if (this.send(connection, frame)) this.pending.markSent(frame.request_id, connection);
    }
  }

  /**
   * Sends the oldest unacknowledged answer, one at a time: API Gateway may run the Lambdas of two
   * frames of one connection concurrently, and answers must be stored in question order.
   */
  private flushOutbox(): void {
    const connection = this.current;
    if (
      !this.running ||
      connection === undefined ||
      !connection.authenticated ||
      connection.replacedByHandover ||
      this.inFlight !== undefined ||
      this.outboxRetryTimer !== undefined
    ) {
      return;
    }
    const entry = this.outbox.first();
    if (entry === undefined) return;
    const frame = this.messageFrame('submit_answer', entry.request_id, {
      question_id: entry.question_id,
      selected_option: entry.selected_option,
    });
    if (!this.send(connection, frame)) return;
    this.pending.markSent(entry.request_id, connection);
    const requestId = entry.request_id;
    const timer = this.options.timers.setTimeout(() => {
      // No reply: resend with the same request_id (the server stores it once) and check the line.
      if (this.inFlight?.requestId !== requestId) return;
      this.inFlight = undefined;
      this.sendProbe();
      this.flushOutbox();
    }, this.options.requestTimeoutMs);
    this.inFlight = { requestId, timer };
  }

  private clearInFlight(): void {
    if (this.inFlight !== undefined) this.options.timers.clearTimeout(this.inFlight.timer);
    this.inFlight = undefined;
  }

  private scheduleOutboxRetry(): void {
    if (this.outboxRetryTimer !== undefined) return;
    const delay =
      this.options.random() * Math.min(this.options.capMs, this.options.baseMs * 2 ** this.outboxRetries);
    this.outboxRetries = Math.min(this.outboxRetries + 1, 31);
    this.outboxRetryTimer = this.options.timers.setTimeout(() => {
      this.outboxRetryTimer = undefined;
      this.flushOutbox();
    }, delay);
  }

  /** A new connection: whatever was in flight is resent on it. */
  private resetFlight(): void {
    this.clearInFlight();
    this.options.timers.clearTimeout(this.outboxRetryTimer);
    this.outboxRetryTimer = undefined;
    this.clearProbe();
  }

  private emitOutbox(): void {
    this.events.emit('outbox', this.outbox.entries());
  }

  // ---------------------------------------------------------------- token refresh

  /** Sends `auth` with a fresh token shortly before the current one expires. */
  private scheduleRefresh(connection: Connection): void {
    this.options.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    const expiresAt = tokenExpiryMs(connection.token);
    if (expiresAt === undefined) return;
    const left = expiresAt - this.options.now();
    // At most refreshBeforeExpiryMs early, and never before half the token's remaining life, so a
    // short-lived token does not cause a refresh storm.
    const delay = Math.max(1000, left - this.options.refreshBeforeExpiryMs, left / 2);
    this.refreshTimer = this.options.timers.setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refreshAuth(connection, 'scheduled');
    }, delay);
  }

  /**
   * Authenticates the open connection again with a new token (protocol: a second `auth` of the same
   * user refreshes the token and answers with a fresh `auth_success`).
   */
  private async refreshAuth(connection: Connection, reason: 'scheduled' | 'refused'): Promise<void> {
    if (connection.refreshing || !connection.authenticated) return;
    connection.refreshing = true;
    const token = await this.fetchToken();
    if (!this.running || connection !== this.current) return;
    if (token === undefined) {
      // No token now: a reconnect retries getToken() with backoff.
      this.connectionFailed(connection);
      return;
    }
    if (token === connection.token) {
      connection.refreshing = false;
      // The same token again. Early, that is fine: the server says when it is stale. Once the
      // server refused it, reconnect: a token it calls expired then ends in auth_error expired_token.
      if (reason === 'refused') this.connectionFailed(connection);
      return;
    }
    connection.token = token;
    connection.authTimer = this.options.timers.setTimeout(() => {
      connection.authTimer = undefined;
      if (connection.refreshing) this.connectionFailed(connection);
    }, this.options.requestTimeoutMs);
    this.sendRaw(connection, {
      action: 'auth',
      token,
      ...(this.options.testId === undefined ? {} : { test_id: this.options.testId }),
    });
  }

  // ---------------------------------------------------------------- liveness

  private scheduleHeartbeat(): void {
    this.options.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = this.options.timers.setTimeout(() => {
      this.heartbeatTimer = undefined;
      this.sendProbe();
      this.scheduleHeartbeat();
    }, this.options.heartbeatIntervalMs);
  }

  /** Sends a heartbeat; a connection that does not answer within pongTimeoutMs is dropped. */
  private sendProbe(): void {
    const connection = this.current;
    if (this.probe !== undefined || connection === undefined || !connection.authenticated) return;
    const requestId = this.options.generateId();
    if (!this.send(connection, this.messageFrame('heartbeat', requestId, {}))) {
      this.connectionFailed(connection);
      return;
    }
    const timer = this.options.timers.setTimeout(() => {
      this.probe = undefined;
      if (this.current === connection) this.connectionFailed(connection);
    }, this.options.pongTimeoutMs);
    this.probe = { requestId, timer };
  }

  private clearProbe(): void {
    if (this.probe !== undefined) this.options.timers.clearTimeout(this.probe.timer);
    this.probe = undefined;
  }

  private scheduleHandover(connection: Connection): void {
    this.options.timers.clearTimeout(this.ageTimer);
    const age = this.options.now() - (connection.openedAt ?? this.options.now());
    this.ageTimer = this.options.timers.setTimeout(
      () => {
        this.ageTimer = undefined;
        void this.startHandover();
      },
      Math.max(0, this.options.maxConnectionAgeMs - age),
    );
  }

  /** Timers that belong to the current connection. */
  private stopConnectionTimers(): void {
    const t = this.options.timers;
    t.clearTimeout(this.heartbeatTimer);
    t.clearTimeout(this.ageTimer);
    t.clearTimeout(this.handoverRetryTimer);
    t.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.heartbeatTimer = undefined;
    this.ageTimer = undefined;
    this.handoverRetryTimer = undefined;
    this.resetFlight();
  }

  // ---------------------------------------------------------------- browser lifecycle

  private installLifecycleListeners(): void {
    this.removeLifecycleListeners?.();
    const win = this.options.window;
    const doc = this.options.document;
    const onOnline = () => {
      if (this.currentState === 'open') this.sendProbe();
      else this.reconnectNow();
    };
    const onOffline = () => this.sendProbe();
    const onVisibility = () => {
      if (doc?.visibilityState !== 'visible') return;
      if (this.currentState === 'open') this.sendProbe();
      else this.reconnectNow();
    };
    win?.addEventListener('online', onOnline);
    win?.addEventListener('offline', onOffline);
    doc?.addEventListener('visibilitychange', onVisibility);
    this.removeLifecycleListeners = () => {
      win?.removeEventListener('online', onOnline);
      win?.removeEventListener('offline', onOffline);
      doc?.removeEventListener('visibilitychange', onVisibility);
    };
  }

  // ---------------------------------------------------------------- state

  private setState(state: ConnectionState, change: Omit<StateChange, 'previous'>): void {
    const previous = this.currentState;
    if (previous === state && change.retryInMs === undefined) return;
    this.currentState = state;
    this.events.emit('state', state, { previous, ...change });
  }

  private stop(state: 'closed' | 'replaced', reason: string): void {
    if (!this.running && this.currentState === state) return;
    this.running = false;
    this.attemptGeneration += 1;
    this.removeLifecycleListeners?.();
    this.removeLifecycleListeners = undefined;
    this.options.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.stopConnectionTimers();
    for (const connection of [this.current, this.handover]) {
      if (connection !== undefined) this.abandon(connection);
    }
    this.endDrain();
    this.current = undefined;
    this.handover = undefined;
    this.handoverPending = false;
    if (state === 'replaced') {
      // Another tab or device owns the session now: never resend this tab's answers.
      this.outbox.detach();
      this.emitOutbox();
    }
    this.pending.rejectAll(
      (requestId) =>
        new AssessmentClientError(
          reason,
          state === 'replaced'
            ? 'the session was taken over by another connection'
            : `client closed (${reason})`,
          { requestId },
        ),
    );
    this.setState(state, { reason });
  }
}

// ---------------------------------------------------------------- defaults

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
    const storage = (globalThis as { localStorage?: StorageLike }).localStorage;
    return storage ?? undefined;
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
