/**
 * Is the line alive? Heartbeats keep API Gateway from closing an idle connection and double as
 * probes: a heartbeat without a `pong` in time marks the connection dead. The browser's
 * `online` and `visibilitychange` events trigger a probe (or an immediate reconnect).
 */
import { type Connection, sendFrame } from './connection';
import type { DocumentLike, EventTargetLike, Timers } from './types';

export interface LivenessDeps {
  timers: Timers;
  heartbeatIntervalMs: number;
  pongTimeoutMs: number;
  generateId: () => string;
  window: EventTargetLike | undefined;
  document: DocumentLike | undefined;
  /** The connection in use, if any. */
  current(): Connection | undefined;
  /** The connection is dead. */
  failed(connection: Connection): void;
  /** True when the client is connected and authenticated. */
  isOpen(): boolean;
  /** Skip the backoff wait and reconnect now. */
  reconnectNow(): void;
}

export class Liveness {
  private heartbeatTimer: unknown;
  private probe: { requestId: string; timer: unknown } | undefined;
  private removeListeners: (() => void) | undefined;

  constructor(private readonly deps: LivenessDeps) {}

  /** (Re)starts the heartbeat of the current connection. */
  startHeartbeat(): void {
    this.deps.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = this.deps.timers.setTimeout(() => {
      this.heartbeatTimer = undefined;
      this.sendProbe();
      this.startHeartbeat();
    }, this.deps.heartbeatIntervalMs);
  }

  stopHeartbeat(): void {
    this.deps.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** Sends a heartbeat; a connection that does not answer within pongTimeoutMs is dropped. */
  sendProbe(): void {
    const connection = this.deps.current();
    if (this.probe !== undefined || connection === undefined || !connection.authenticated) return;
    const requestId = this.deps.generateId();
    if (!sendFrame(connection, { action: 'message', type: 'heartbeat', request_id: requestId, data: {} })) {
      this.deps.failed(connection);
      return;
    }
    const timer = this.deps.timers.setTimeout(() => {
      this.probe = undefined;
      if (this.deps.current() === connection) this.deps.failed(connection);
    }, this.deps.pongTimeoutMs);
    this.probe = { requestId, timer };
  }

  /** Any reply to the probe (a `pong`, or even an error) is a sign of life. */
  answered(requestId: string | undefined): void {
    if (requestId !== undefined && requestId === this.probe?.requestId) this.clearProbe();
  }

  clearProbe(): void {
    if (this.probe !== undefined) this.deps.timers.clearTimeout(this.probe.timer);
    this.probe = undefined;
  }

  /** Listens to `online`, `offline` and `visibilitychange` while the client runs. */
  install(): void {
    this.uninstall();
    const { window: win, document: doc } = this.deps;
    const probeOrReconnect = () => {
      if (this.deps.isOpen()) this.sendProbe();
      else this.deps.reconnectNow();
    };
    const onOffline = () => this.sendProbe();
    const onVisibility = () => {
      if (doc?.visibilityState === 'visible') probeOrReconnect();
    };
    win?.addEventListener('online', probeOrReconnect);
    win?.addEventListener('offline', onOffline);
    doc?.addEventListener('visibilitychange', onVisibility);
    this.removeListeners = () => {
      win?.removeEventListener('online', probeOrReconnect);
      win?.removeEventListener('offline', onOffline);
      doc?.removeEventListener('visibilitychange', onVisibility);
    };
  }

  uninstall(): void {
    this.removeListeners?.();
    this.removeListeners = undefined;
  }
}
