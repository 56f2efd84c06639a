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
