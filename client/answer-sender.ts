/**
 * Sends the outbox's answers, oldest first and one at a time: API Gateway may run the Lambdas of
 * two frames of one connection concurrently, and answers must be stored in question order. A
 * retryable refusal waits out the same full-jitter backoff policy the reconnects use.
 */
import type { MessageClientFrameOf } from '../protocol';
import type { Backoff } from './backoff';
import type { Connection } from './connection';
import type { Outbox } from './outbox';
import type { Timers } from './types';

export type SubmitAnswerFrame = MessageClientFrameOf<'submit_answer'>;

export interface AnswerSenderDeps {
  outbox: Outbox;
  timers: Timers;
  requestTimeoutMs: number;
  /** Its own instance: retries of answers count apart from reconnect attempts. */
  retryBackoff: Backoff;
  /** The connection answers may go out on now, if any. */
  target(): Connection | undefined;
  /** Sends the frame on the connection; true when it went out. */
  send(connection: Connection, frame: SubmitAnswerFrame): boolean;
  /** An answer got no reply in time: the line may be dead. */
  noReply(): void;
}

export function submitAnswerFrame(
  requestId: string,
  questionId: string,
  selectedOption: string,
): SubmitAnswerFrame {
  return {
    action: 'message',
    type: 'submit_answer',
    request_id: requestId,
    data: { question_id: questionId, selected_option: selectedOption },
  };
}

export class AnswerSender {
  /** The entry sent and not yet answered on the current connection. */
  private inFlight: { requestId: string; timer: unknown } | undefined;
  private retryTimer: unknown;

  constructor(private readonly deps: AnswerSenderDeps) {}

  /** Sends the oldest unacknowledged answer unless one is in flight or a retry is waiting. */
  flush(): void {
    const connection = this.deps.target();
    if (connection === undefined || this.inFlight !== undefined || this.retryTimer !== undefined) return;
    const entry = this.deps.outbox.first();
    if (entry === undefined) return;
    const frame = submitAnswerFrame(entry.request_id, entry.question_id, entry.selected_option);
    if (!this.deps.send(connection, frame)) return;
    const requestId = entry.request_id;
    const timer = this.deps.timers.setTimeout(() => {
      // No reply: resend with the same request_id (the server stores it once) and check the line.
      if (this.inFlight?.requestId !== requestId) return;
      this.inFlight = undefined;
      this.deps.noReply();
      this.flush();
    }, this.deps.requestTimeoutMs);
    this.inFlight = { requestId, timer };
  }

  /** A reply (feedback or error) for this request arrived. */
  answered(requestId: string): void {
    if (this.inFlight?.requestId === requestId) this.clearInFlight();
  }

  /** An answer was acknowledged or a new connection authenticated: retries start over. */
  resetRetries(): void {
    this.deps.retryBackoff.reset();
  }

  /** The server refused the answer for a passing reason (`rate_limited`, `internal_error`, ...). */
  retryLater(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = this.deps.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, this.deps.retryBackoff.next());
  }

  /** A new connection: whatever was in flight is resent on it. */
  reset(): void {
    this.clearInFlight();
    this.deps.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private clearInFlight(): void {
    if (this.inFlight !== undefined) this.deps.timers.clearTimeout(this.inFlight.timer);
    this.inFlight = undefined;
  }
}
