/** The error every rejected command promise carries. */
export class AssessmentClientError extends Error {
  override name = 'AssessmentClientError';
  /**
   * A server error code (`time_up`, `already_answered`, ...), an auth error code, or a client code:
   * `timeout`, `closed`, `session_replaced`, `not_connected`, `outbox_full`.
   */
  readonly code: string;
  readonly requestId: string | undefined;
  readonly source: 'server' | 'client';

  constructor(
    code: string,
    message: string,
    options: { requestId?: string; source?: 'server' | 'client'; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.requestId = options.requestId;
    this.source = options.source ?? 'client';
  }
}
