/**
 * The live WebSocket connections of the local gateway, keyed by connection id. It is also the
 * `ManagementPool` behind the local @connections API: `describe`, `send` and `close` see only
 * open connections (one that is closing or closed is gone, 410).
 */
import WebSocket from 'ws';
import type { ConnectionFacts } from './events';
/** API Gateway's frame quota: messages it sends are split into frames of at most this size. */
import { MAX_FRAME_BYTES } from './gateway/quotas';
import type { ConnectionDescription, ManagementPool } from './management-api';

export { MAX_FRAME_BYTES };

export interface LiveConnection extends ConnectionFacts {
  readonly socket: WebSocket;
  /** Epoch ms of the last message received from the client. */
  lastActiveAt: number;
  /**
   * Set once the server decides to close (DELETE, idle, max age, size limits, shutdown): the code
   * and reason the client gets and the `$disconnect` event reports.
   */
  serverClose?: { code: number; reason: string };
}

export class ConnectionPool implements ManagementPool {
  private readonly connections = new Map<string, LiveConnection>();

  add(connection: LiveConnection): void {
    this.connections.set(connection.connectionId, connection);
  }

  get(connectionId: string): LiveConnection | undefined {
    return this.connections.get(connectionId);
  }

  remove(connectionId: string): void {
    this.connections.delete(connectionId);
  }

  all(): LiveConnection[] {
    return [...this.connections.values()];
  }

  get size(): number {
    return this.connections.size;
  }

  private open(connectionId: string): LiveConnection | undefined {
    const connection = this.connections.get(connectionId);
    if (!connection || connection.serverClose || connection.socket.readyState !== WebSocket.OPEN)
      return undefined;
    return connection;
  }

  describe(connectionId: string): ConnectionDescription | undefined {
    const connection = this.open(connectionId);
    if (!connection) return undefined;
    return {
      connectedAt: connection.connectedAt,
      lastActiveAt: connection.lastActiveAt,
      sourceIp: connection.sourceIp,
      ...(connection.userAgent !== undefined ? { userAgent: connection.userAgent } : {}),
    };
  }

  /** Sends one text message, split into frames of at most 32 KB like API Gateway does. */
  send(connectionId: string, data: Buffer): boolean {
    const connection = this.open(connectionId);
    if (!connection) return false;
    if (data.length <= MAX_FRAME_BYTES) {
      connection.socket.send(data, { binary: false });
      return true;
    }
    // ws turns a run of fin:false sends into one fragmented message (continuation frames).
    for (let offset = 0; offset < data.length; offset += MAX_FRAME_BYTES) {
      const end = Math.min(offset + MAX_FRAME_BYTES, data.length);
      connection.socket.send(data.subarray(offset, end), { binary: false, fin: end === data.length });
    }
    return true;
  }

  /** DELETE @connections/{id}: the server closes the connection (code 1000). */
  close(connectionId: string): boolean {
    return this.closeConnection(connectionId, 1000, 'Connection closed by the server');
  }

  /** Starts a server-side close with this code; false when the connection is not open. */
  closeConnection(connectionId: string, code: number, reason: string): boolean {
    const connection = this.open(connectionId);
    if (!connection) return false;
    connection.serverClose = { code, reason };
    connection.socket.close(code, reason);
    return true;
  }
}
