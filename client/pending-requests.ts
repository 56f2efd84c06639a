/**
 * Commands waiting for their reply, matched by request_id. Each has a timeout; an `error` frame
 * with its request_id rejects it with the server's code.
 */
import { AssessmentClientError } from './errors';
import type { ClientMessageFrame, Timers } from './types';

/** What settling needs of a server frame; any ServerFrame is one. */
export interface ReplyFrame {
  type: string;
  request_id?: string;
  data?: unknown;
  error?: { code: string; message: string };
  timestamp: string;
}

interface Entry {
  readonly frame: ClientMessageFrame;
  /** Reply frame types that resolve the request. */
  readonly expects: readonly string[];
  /** Sent (and resent) by the outbox, not by the generic resend after reconnect. */
  readonly viaOutbox: boolean;
  /** The connection the frame was last sent on; resent after a reconnect when it differs. */
  sentOn: object | undefined;
  readonly resolve: (data: unknown) => void;
  readonly reject: (error: AssessmentClientError) => void;
  readonly timer: unknown;
}

export interface AddRequest {
  frame: ClientMessageFrame;
  expects: readonly string[];
  timeoutMs: number;
  viaOutbox?: boolean;
}

export class PendingRequests {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly timers: Timers) {}

  get size(): number {
    return this.entries.size;
  }

  has(requestId: string): boolean {
    return this.entries.has(requestId);
  }

  /** Registers a request; the promise settles on its reply, its error, or the timeout. */
  add<T>(request: AddRequest): Promise<T> {
    const requestId = request.frame.request_id;
    if (this.entries.has(requestId)) {
      return Promise.reject(
        new AssessmentClientError('duplicate_request_id', `request_id ${requestId} is already pending`, {
          requestId,
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.entries.delete(requestId);
        reject(
          new AssessmentClientError(
            'timeout',
            `no reply to ${request.frame.type} within ${request.timeoutMs} ms`,
            { requestId },
          ),
        );
      }, request.timeoutMs);
      this.entries.set(requestId, {
        frame: request.frame,
        expects: request.expects,
        viaOutbox: request.viaOutbox ?? false,
        sentOn: undefined,
        resolve: resolve as (data: unknown) => void,
        reject,
        timer,
      });
    });
  }

  /**
   * Settles the request a server frame answers: a frame of an expected type resolves it with its
   * `data`, an `error` frame rejects it with the error's code. Returns whether a request matched.
   */
  settle(frame: ReplyFrame): boolean {
    const requestId = frame.request_id;
    if (requestId === undefined) return false;
    const entry = this.entries.get(requestId);
    if (entry === undefined) return false;
    if (frame.type === 'error' || frame.type === 'auth_error') {
      const code = frame.error?.code ?? 'unknown_error';
      this.finish(requestId, entry);
      entry.reject(
        new AssessmentClientError(code, frame.error?.message ?? code, { requestId, source: 'server' }),
      );
      return true;
    }
    if (!entry.expects.includes(frame.type)) return false;
    this.finish(requestId, entry);
    entry.resolve(frame.data ?? {});
    return true;
  }

  reject(requestId: string, error: AssessmentClientError): boolean {
    const entry = this.entries.get(requestId);
    if (entry === undefined) return false;
    this.finish(requestId, entry);
    entry.reject(error);
    return true;
  }

  /** Rejects every pending request (the client stopped). */
  rejectAll(makeError: (requestId: string) => AssessmentClientError): void {
    for (const [requestId, entry] of [...this.entries]) {
      this.finish(requestId, entry);
      entry.reject(makeError(requestId));
    }
  }

  /** Requests that the generic path must (re)send on `connection`, oldest first. */
  unsentOn(connection: object): ClientMessageFrame[] {
    const frames: ClientMessageFrame[] = [];
    for (const entry of this.entries.values()) {
      if (!entry.viaOutbox && entry.sentOn !== connection) frames.push(entry.frame);
    }
    return frames;
  }

  /** The server refused it for a reason that a new auth fixes: send it again after that auth. */
  markUnsent(requestId: string): void {
    const entry = this.entries.get(requestId);
    if (entry !== undefined) entry.sentOn = undefined;
  }

  markSent(requestId: string, connection: object): void {
    const entry = this.entries.get(requestId);
    if (entry !== undefined) entry.sentOn = connection;
  }

  private finish(requestId: string, entry: Entry): void {
    this.timers.clearTimeout(entry.timer);
    this.entries.delete(requestId);
  }
}
