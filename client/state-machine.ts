/**
 * The connection state machine: connecting, authenticating, open, reconnecting with backoff, the
 * silent handover to a new connection before API Gateway's maximum age, token refresh on the open
 * connection, and stopping (closed or replaced). It owns the sockets; what the client does with
 * an open connection (commands, answers, heartbeats) it leaves to its hooks.
 */
import type { AuthErrorFrame, AuthSuccessData, SessionReplacedData } from '../protocol';
import { Backoff } from './backoff';
import { abandon, type Connection, connectionUrl, newConnection, sendFrame } from './connection';
import type { ResolvedOptions } from './options';
import { tokenExpiryMs } from './token';
import type {
  AuthErrorEvent,
  AuthSuccessMeta,
  ClientErrorEvent,
  ConnectionState,
  FrameMeta,
  StateChange,
  WebSocketLike,
} from './types';

export interface StateMachineHooks {
  stateChanged(state: ConnectionState, change: StateChange): void;
  error(event: ClientErrorEvent): void;
  authError(event: AuthErrorEvent): void;
  sessionReplaced(data: SessionReplacedData, meta: FrameMeta): void;
  /** A text frame arrived on one of the client's sockets. */
  receive(connection: Connection, raw: unknown): void;
  /** The client starts running; `afterReplaced` when it had been replaced by another tab. */
  starting(afterReplaced: boolean): void;
  /** Work in flight on the current connection is void: it is resent on the next one. */
  resetFlight(): void;
  /** The current connection's own timers stop (it is gone, or a new one took over). */
  connectionTimersStopped(): void;
  /** The server accepted an `auth`; the state is not open yet. */
  authenticated(data: AuthSuccessData): void;
  /** Heartbeats start for the authenticated connection. */
  startLiveness(): void;
  /** The state is open: send what waited for it. */
  opened(connection: Connection, data: AuthSuccessData, meta: AuthSuccessMeta): void;
  /** The client stops; pending work must be settled. */
  stopping(state: 'closed' | 'replaced', reason: string): void;
}

export class ConnectionStateMachine {
  private currentState: ConnectionState = 'closed';
  private isRunning = false;
  /** Bumped whenever an in-progress connection attempt must be abandoned. */
  private attemptGeneration = 0;
  private currentConnection: Connection | undefined;
  private handover: Connection | undefined;
  /** The old connection after a handover: still receiving replies in flight until the server closes it. */
  private draining: { connection: Connection; timer: unknown } | undefined;
  private handoverPending = false;
  private everAuthenticated = false;
  private expiredTokenRetried = false;
  private readonly backoff: Backoff;

  private reconnectTimer: unknown;
  private ageTimer: unknown;
  private handoverRetryTimer: unknown;
  private refreshTimer: unknown;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly hooks: StateMachineHooks,
  ) {
    this.backoff = new Backoff(options);
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get running(): boolean {
    return this.isRunning;
  }

  /** The connection in use (authenticated or not yet), if any. */
  get current(): Connection | undefined {
    return this.currentConnection;
  }

  /** Starts connecting; false when already running. */
  start(): boolean {
    if (this.isRunning) return false;
    this.isRunning = true;
    this.hooks.starting(this.currentState === 'replaced');
    this.expiredTokenRetried = false;
    this.backoff.reset();
    this.setState('connecting', {});
    void this.openPrimary();
    return true;
  }

  stop(state: 'closed' | 'replaced', reason: string): void {
    if (!this.isRunning && this.currentState === state) return;
    this.isRunning = false;
    this.attemptGeneration += 1;
    this.options.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.stopConnectionTimers();
    for (const connection of [this.currentConnection, this.handover]) {
      if (connection !== undefined) abandon(connection, this.options.timers);
    }
    this.endDrain();
    this.currentConnection = undefined;
    this.handover = undefined;
    this.handoverPending = false;
    this.hooks.stopping(state, reason);
    this.setState(state, { reason });
  }

  /** Skips the backoff wait (the browser came back online or the page became visible). */
  reconnectNow(): void {
    if (!this.isRunning || this.currentConnection !== undefined || this.reconnectTimer === undefined) return;
    this.options.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    void this.openPrimary();
  }

  /** A socket closed, failed to connect or authenticate in time, or stopped answering. */
  connectionFailed(connection: Connection): void {
    if (connection === this.draining?.connection) {
      this.endDrain();
      return;
    }
    abandon(connection, this.options.timers);
    if (!this.isRunning) return;
    if (connection === this.handover) {
      this.handover = undefined;
      if (this.currentConnection === undefined) this.connectionLost();
      else this.scheduleHandoverRetry();
      return;
    }
    if (connection !== this.currentConnection) return;
    this.currentConnection = undefined;
    this.stopConnectionTimers();
    // During a handover the server closes the older connection once the newer one authenticates;
    // the newer one takes over when its auth_success arrives.
    if (this.handover !== undefined || this.handoverPending) return;
    this.connectionLost();
  }

  // ---------------------------------------------------------------- frames that drive the machine

  onAuthSuccess(connection: Connection, data: AuthSuccessData, meta: FrameMeta): void {
    if (!this.isRunning) return;
    this.options.timers.clearTimeout(connection.authTimer);
    connection.authTimer = undefined;
    let cause: AuthSuccessMeta['cause'];
    const refreshed = connection.authenticated && connection === this.currentConnection;
    connection.refreshing = false;
    if (refreshed) {
      cause = 'refresh';
      this.hooks.resetFlight(); // requests refused while the token was stale are sent again
    } else if (connection === this.handover) {
      cause = 'handover';
      const old = this.currentConnection;
      this.handover = undefined;
      connection.role = 'primary';
      this.currentConnection = connection;
      if (old !== undefined) this.drain(old);
      this.hooks.resetFlight();
    } else if (connection === this.currentConnection) {
      cause = this.everAuthenticated ? 'reconnect' : 'connect';
    } else {
      return;
    }
    connection.authenticated = true;
    this.everAuthenticated = true;
    this.expiredTokenRetried = false;
    this.hooks.authenticated(data);
    if (!refreshed) {
      this.backoff.connected(this.options.now());
      this.stopConnectionTimers();
    }
    this.hooks.startLiveness();
    if (!refreshed) this.scheduleHandover(connection);
    this.scheduleRefresh(connection);
    this.setState('open', {});
    this.hooks.opened(connection, data, { ...meta, cause });
  }

  onAuthError(connection: Connection, frame: AuthErrorFrame): void {
    const { code, message } = frame.error;
    if (!this.isRunning || (connection !== this.currentConnection && connection !== this.handover)) return;
    this.options.timers.clearTimeout(connection.authTimer);
    connection.authTimer = undefined;
    const isHandover = connection === this.handover;
    if (code === 'expired_token' && !this.expiredTokenRetried) {
      // The server closes the connection after any auth_error: retry once at once, with a new token.
      this.expiredTokenRetried = true;
      this.hooks.authError({ code, message, willRetry: true });
      abandon(connection, this.options.timers);
      if (isHandover) {
        this.handover = undefined;
        void this.startHandover();
      } else {
        this.currentConnection = undefined;
        void this.openPrimary();
      }
      return;
    }
    if (isHandover) {
      // The current connection still works; try again later, unnoticed by the student.
      this.hooks.authError({ code, message, willRetry: true });
      abandon(connection, this.options.timers);
      this.handover = undefined;
      this.scheduleHandoverRetry();
      return;
    }
    this.hooks.authError({ code, message, willRetry: false });
    this.stop('closed', code);
  }

  onSessionReplaced(connection: Connection, data: SessionReplacedData, meta: FrameMeta): void {
    if (!this.isRunning || connection !== this.currentConnection) return;
    if (this.handover !== undefined) {
      // Our own handover connection authenticated: this is the expected replacement.
      connection.replacedByHandover = true;
      return;
    }
    this.hooks.sessionReplaced(data, meta);
    this.stop('replaced', 'session_replaced');
  }

  /**
   * Authenticates the open connection again with a new token (a second `auth` of the same user
   * refreshes the token and answers with a fresh `auth_success`). `refused`: the server answered
   * `not_authenticated`, so the token it holds has expired.
   */
  async refreshAuth(connection: Connection, reason: 'scheduled' | 'refused'): Promise<void> {
    if (connection.refreshing || !connection.authenticated) return;
    connection.refreshing = true;
    const token = await this.fetchToken();
    if (!this.isRunning || connection !== this.currentConnection) return;
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
    this.sendAuth(connection, token);
  }

  // ---------------------------------------------------------------- connections

  private setState(state: ConnectionState, change: Omit<StateChange, 'previous'>): void {
    const previous = this.currentState;
    if (previous === state && change.retryInMs === undefined) return;
    this.currentState = state;
    this.hooks.stateChanged(state, { previous, ...change });
  }

  private async openPrimary(): Promise<void> {
    const generation = ++this.attemptGeneration;
    const token = await this.fetchToken();
    if (generation !== this.attemptGeneration || !this.isRunning) return;
    if (token === undefined) {
      this.scheduleReconnect();
      return;
    }
    const connection = this.openSocket('primary', token);
    if (connection === undefined) {
      this.scheduleReconnect();
      return;
    }
    this.currentConnection = connection;
  }

  private async fetchToken(): Promise<string | undefined> {
    try {
      const token = await this.options.getToken();
      if (typeof token !== 'string' || token === '') throw new Error('getToken() returned no token');
      return token;
    } catch (err) {
      this.hooks.error({
        code: 'token_unavailable',
        message: err instanceof Error ? err.message : String(err),
        source: 'client',
      });
      return undefined;
    }
  }

  private sendAuth(connection: Connection, token: string): void {
    const testId = this.options.testId;
    sendFrame(connection, { action: 'auth', token, ...(testId === undefined ? {} : { test_id: testId }) });
  }

  private openSocket(role: Connection['role'], token: string): Connection | undefined {
    let ws: WebSocketLike;
    try {
      ws = new this.options.WebSocket(connectionUrl(this.options.url, this.options.testId));
    } catch (err) {
      this.hooks.error({
        code: 'socket_error',
        message: err instanceof Error ? err.message : String(err),
        source: 'client',
      });
      return undefined;
    }
    const connection = newConnection(ws, role, token);
    // Connecting and authenticating share one deadline; a socket stuck in either is given up.
    connection.authTimer = this.options.timers.setTimeout(() => {
      connection.authTimer = undefined;
      if (!connection.authenticated) this.connectionFailed(connection);
    }, this.options.requestTimeoutMs);
    ws.onopen = () => {
      connection.openedAt = this.options.now();
      if (role === 'primary' && this.currentConnection === connection) this.setState('authenticating', {});
      this.sendAuth(connection, token);
    };
    ws.onmessage = (event) => this.hooks.receive(connection, event.data);
    ws.onclose = () => this.connectionFailed(connection);
    ws.onerror = () => {
      // A close event follows every error; it drives the reconnect.
    };
    return connection;
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
    abandon(this.draining.connection, this.options.timers, 1000, 'replaced by a newer connection');
    this.draining = undefined;
  }

  private connectionLost(): void {
    this.backoff.disconnected(this.options.now());
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.isRunning) return;
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

  /** Timers that belong to the current connection. */
  private stopConnectionTimers(): void {
    const t = this.options.timers;
    t.clearTimeout(this.ageTimer);
    t.clearTimeout(this.handoverRetryTimer);
    t.clearTimeout(this.refreshTimer);
    this.ageTimer = undefined;
    this.handoverRetryTimer = undefined;
    this.refreshTimer = undefined;
    this.hooks.connectionTimersStopped();
  }

  // ---------------------------------------------------------------- handover (proactive reconnect)

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

  private async startHandover(): Promise<void> {
    if (!this.isRunning || this.handover !== undefined || this.handoverPending) return;
    const current = this.currentConnection;
    if (current === undefined || !current.authenticated) return;
    this.handoverPending = true;
    const token = await this.fetchToken();
    this.handoverPending = false;
    if (!this.isRunning) return;
    if (this.currentConnection === undefined) {
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
}
