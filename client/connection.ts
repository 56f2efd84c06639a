/** One WebSocket and what the client knows about it, with the socket plumbing around it. */
import type { ClientFrame } from '../protocol';
import type { ClientMessageFrame, Timers, WebSocketLike } from './types';

const WS_OPEN = 1;

export interface Connection {
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

export function newConnection(ws: WebSocketLike, role: Connection['role'], token: string): Connection {
  return {
    ws,
    role,
    openedAt: undefined,
    authenticated: false,
    replacedByHandover: false,
    authTimer: undefined,
    token,
    refreshing: false,
  };
}

/** Sends a frame if the socket is open; false when it is not or the send throws. */
export function sendFrame(connection: Connection, frame: ClientFrame | ClientMessageFrame): boolean {
  if (connection.ws.readyState !== WS_OPEN) return false;
  try {
    connection.ws.send(JSON.stringify(frame));
    return true;
  } catch {
    return false;
  }
}

/** Detaches and closes a socket; its later events are ignored. */
export function abandon(connection: Connection, timers: Timers, code = 1000, reason = 'client closed'): void {
  timers.clearTimeout(connection.authTimer);
  connection.authTimer = undefined;
  const ws = connection.ws;
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  // Not null: closing a socket that is still connecting makes the `ws` package emit 'error',
  // which an EventEmitter without a listener throws (crashing a Node client). Browsers only fire it.
  ws.onerror = () => {};
  try {
    ws.close(code, reason);
  } catch {
    // Already closed or never opened.
  }
}

/** The stage URL with `test_id` as a query parameter. */
export function connectionUrl(url: string, testId: string | undefined): string {
  if (testId === undefined) return url;
  try {
    const parsed = new URL(url);
    parsed.searchParams.set('test_id', testId);
    return parsed.toString();
  } catch {
    const separator = url.includes('?') ? '&' : '?';
    return `${url}${separator}test_id=${encodeURIComponent(testId)}`;
  }
}
