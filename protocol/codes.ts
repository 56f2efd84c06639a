/**
 * Every code a server frame can carry, with what it means for the client. The meanings are part of
 * the contract: docs/protocol.md and the frontend guide list the same codes (a test keeps them equal).
 */

/** Codes of `error` frames. The connection stays open after every one of them. */
export const ERROR_CODE_MEANINGS = {
  invalid_json: 'the frame is not a JSON object',
  unknown_action: 'the frame has no `action`, or one other than `auth` and `message`',
  unknown_type: 'a `message` frame with a `type` the server does not know',
  invalid_message: 'missing or bad fields; the message names them',
  message_too_large: 'the message is larger than the frame limit',
  not_authenticated: 'no successful `auth` on this connection yet, or its token has expired',
  no_test_selected: 'an assessment message on a general connection (opened without `test_id`)',
  test_not_found: 'the connection names a test that does not exist',
  no_active_assessment: 'no assessment was started for this test; send `start_assessment`',
  assessment_completed: 'the assessment is already completed',
  invalid_question: '`question_id` is neither the current question nor an answered one',
  already_answered: 'the question was answered with a different option',
  all_answered: '`get_question` when every question is answered',
  request_id_reused: 'a `request_id` reused with a different question or option',
  time_up: 'the deadline has passed; the assessment is finished with the answers stored',
  rate_limited: 'too many frames on this connection; slow down',
  internal_error: 'a server fault; nothing partial was stored, retry with the same `request_id`',
  forbidden:
    'proctor extension: the token may not do this (not a proctor token, a test it does not list, or not a general connection)',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODE_MEANINGS;

/** In the order of the contract (object keys keep their insertion order). */
export const ERROR_CODES = Object.keys(ERROR_CODE_MEANINGS) as readonly ErrorCode[];

/** Codes of `auth_error` frames. The server closes the connection after every one of them. */
export const AUTH_ERROR_CODE_MEANINGS = {
  missing_token: 'the `auth` frame has no `token`',
  invalid_token:
    'bad signature, algorithm, issuer or audience, not a JWT, or a user id that is not well-formed Unicode or longer than 256 bytes',
  expired_token: 'the token has expired (beyond the clock leeway); get a fresh one',
  forbidden: 'the connection is already authenticated as another user',
  test_mismatch:
    "the frame's `test_id` differs from the connection's, or a general connection tried to switch",
  invalid_test_id: "the frame's `test_id` is not a valid test id",
} as const satisfies Record<string, string>;

export type AuthErrorCode = keyof typeof AUTH_ERROR_CODE_MEANINGS;

export const AUTH_ERROR_CODES = Object.keys(AUTH_ERROR_CODE_MEANINGS) as readonly AuthErrorCode[];

/** Codes of `notice` frames (an additive extension): information, never a failure of a request. */
export const NOTICE_CODE_MEANINGS = {
  ai_unavailable:
    'the AI service could not be reached; the assessment goes on with its own questions, every answer is stored and scored as usual',
} as const satisfies Record<string, string>;

export type NoticeCode = keyof typeof NOTICE_CODE_MEANINGS;

export const NOTICE_CODES = Object.keys(NOTICE_CODE_MEANINGS) as readonly NoticeCode[];

/** True when `code` is one of the `error` codes of this protocol version. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODE_MEANINGS, code);
}

/** True when `code` is one of the `auth_error` codes of this protocol version. */
export function isAuthErrorCode(code: string): code is AuthErrorCode {
  return Object.hasOwn(AUTH_ERROR_CODE_MEANINGS, code);
}
