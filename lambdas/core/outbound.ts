/**
 * Sending to clients. A 410 from the @connections API means *that* connection is gone, so its
 * records are removed (never the sender's, unless the sender is the one that is gone).
 */
import {
  type AuthErrorCode,
  authErrorFrame,
  type DataFrameOf,
  type DataFrameType,
  dataFrame,
  type ErrorCode,
  type ErrorFrame,
  errorFrame,
  type ServerFrame,
  type ServerFrameData,
} from '../../protocol';
import type { CoreDeps } from './deps';

/**
 * How the frames owed to the sender of the frame being handled leave. `post`: every one through the
 * notifier. `return`: all but the last are posted, in order, and the last is handed back for a
 * two-way route to answer with, which saves one `@connections` call per frame handled.
 */
export type ReplyDelivery = 'post' | 'return';

/**
 * The sender's reply to one frame. With `return` delivery, the last frame given so far is held:
 * a later one posts it first, so the client receives them in the order they were given.
 */
export class SenderReply {
  private held: ServerFrame | undefined;

  constructor(
    private readonly outbound: Outbound,
    readonly connectionId: string,
    private readonly delivery: ReplyDelivery,
  ) {}

  async send(...frames: ServerFrame[]): Promise<'sent' | 'gone'> {
    if (this.delivery === 'post' || frames.length === 0)
      return this.outbound.send(this.connectionId, ...frames);
    const due = this.held ? [this.held, ...frames.slice(0, -1)] : frames.slice(0, -1);
    this.held = frames.at(-1);
    return due.length > 0 ? this.outbound.send(this.connectionId, ...due) : 'sent';
  }

  /** Posts now, nothing held back: for a reply that must not wait for the rest of the handling. */
  async sendNow(...frames: ServerFrame[]): Promise<'sent' | 'gone'> {
    const due = this.held ? [this.held, ...frames] : frames;
    this.held = undefined;
    return due.length > 0 ? this.outbound.send(this.connectionId, ...due) : 'sent';
  }

  /**
   * The last frame of a reply that failed (`internal_error`). With `return` delivery it is the
   * route response even when posting the held frame before it fails (that error is returned, to
   * be logged): a thrown invocation would reach the client as API Gateway's own error message,
   * without the request_id. With `post` delivery a failed post throws, as there is no other way out.
   */
  async sendLast(frame: ServerFrame): Promise<unknown> {
    if (this.delivery === 'post') {
      await this.outbound.send(this.connectionId, frame);
      return undefined;
    }
    const held = this.held;
    this.held = frame;
    try {
      if (held) await this.outbound.send(this.connectionId, held);
      return undefined;
    } catch (error) {
      return error;
    }
  }

  /** The frame the route answers with (`return` delivery); nothing once taken. */
  take(): ServerFrame | undefined {
    const frame = this.held;
    this.held = undefined;
    return frame;
  }
}

export class Outbound {
  constructor(private readonly deps: Pick<CoreDeps, 'notifier' | 'connections' | 'clock' | 'telemetry'>) {}

  async send(connectionId: string, ...frames: ServerFrame[]): Promise<'sent' | 'gone'> {
    for (const f of frames) {
      const result = await this.deps.notifier.send(connectionId, f);
      if (result === 'gone') {
        await this.forget(connectionId);
        return 'gone';
      }
    }
    return 'sent';
  }

  /** A data frame: the type decides the payload it accepts. */
  frame<T extends DataFrameType>(type: T, data: ServerFrameData[T], requestId?: string): DataFrameOf<T> {
    return dataFrame(type, data, new Date(this.deps.clock.now()), requestId);
  }

  error(code: ErrorCode, message: string, requestId?: string): ErrorFrame {
    return errorFrame(code, message, new Date(this.deps.clock.now()), requestId);
  }

  /** Every auth_error is followed by closing the connection. */
  async rejectAuth(
    connectionId: string,
    code: AuthErrorCode,
    message: string,
    requestId?: string,
  ): Promise<void> {
    this.deps.telemetry.count(`auth_error_${code}`);
    const sent = await this.send(
      connectionId,
      authErrorFrame(code, message, new Date(this.deps.clock.now()), requestId),
    );
    if (sent === 'sent') await this.deps.notifier.close(connectionId);
  }

  /**
   * Removes the records of a connection that no longer exists (a 410: it dropped). The key's
   * history records the end, unless a newer connection holds the key.
   */
  async forget(connectionId: string): Promise<void> {
    const removed = await this.deps.connections.removeConnection(connectionId);
    if (removed?.auth) {
      await this.deps.connections.releaseKey(removed.auth.key, connectionId, {
        atMs: this.deps.clock.now(),
        reason: 'dropped',
      });
    }
  }
}
