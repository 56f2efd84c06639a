/** The limits of protocol v1: identifiers, sizes, the rate limit and token times. */

/** A test id: letters, digits and `-`, 1-64 characters, and never `general` (in any case). */
export const TEST_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

/**
 * The connection-key suffix of a general connection. Test ids can never be it (nor contain `_`),
 * which keeps `<user_id>_<test_id>` injective.
 */
export const GENERAL_SUFFIX = 'general';

export function isValidTestId(testId: string): boolean {
  return TEST_ID_PATTERN.test(testId) && testId.toLowerCase() !== GENERAL_SUFFIX;
}

/** The largest user id (the token's user claim), in UTF-8 bytes. */
export const MAX_USER_ID_BYTES = 256;

/**
 * A user id must be non-empty, well-formed Unicode (no lone surrogates) and at most 256 UTF-8 bytes.
 * Counted by hand (no lookbehind regex, no TextEncoder) so it runs in every browser the SDK supports
 * and stops at the first byte over the limit.
 */
export function isValidUserId(userId: string): boolean {
  if (userId.length === 0) return false;
  let bytes = 0;
  for (let i = 0; i < userId.length; i++) {
    const unit = userId.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = userId.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      bytes += 4;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return false;
    else bytes += 3;
    if (bytes > MAX_USER_ID_BYTES) return false;
  }
  return true;
}

/** `request_id`: a string of 1-64 characters. */
export const REQUEST_ID_MAX_LENGTH = 64;
/** A message `type`: 1-64 characters (longer ones are `invalid_message`, not `unknown_type`). */
export const MESSAGE_TYPE_MAX_LENGTH = 64;
/** `submit_answer`'s `question_id`: 1-64 characters. */
export const QUESTION_ID_MAX_LENGTH = 64;
/** `submit_answer`'s `selected_option`: at most 500 characters. */
export const SELECTED_OPTION_MAX_LENGTH = 500;

/**
 * The largest client message the server accepts, in UTF-8 bytes; larger ones get
 * `message_too_large`. API Gateway itself closes the connection (1009) on a single frame over 32 KB.
 */
export const MAX_FRAME_BYTES = 32 * 1024;

/**
 * The per-connection budget. The contract promises bursts of at least `minBurst` frames and at
 * least `minSustainedPerSecond` frames a second; the server grants fixed windows of
 * `framesPerWindow` frames per `windowMs`, which satisfies both (a client sending one frame a
 * second uses 10 of a window and can still burst 40).
 */
export const RATE_LIMIT = {
  minBurst: 20,
  minSustainedPerSecond: 1,
  framesPerWindow: 50,
  windowMs: 10_000,
} as const;

/** Clock leeway for token times (`exp`, `nbf`), at auth and on later frames alike. */
export const TOKEN_CLOCK_LEEWAY_SECONDS = 30;
/** The contract's upper bound on that leeway. */
export const MAX_TOKEN_CLOCK_LEEWAY_SECONDS = 60;

/** Unauthenticated connections are closed after this long by default (configurable per stack). */
export const DEFAULT_AUTH_DEADLINE_SECONDS = 30;

/** API Gateway closes a connection that sent nothing for this long. */
export const IDLE_TIMEOUT_MS = 10 * 60_000;
/** API Gateway closes every connection at this age. */
export const MAX_CONNECTION_AGE_MS = 2 * 60 * 60_000;

/**
 * WebSocket close codes a client sees, by cause. The server never picks a code itself: it asks
 * API Gateway to close the connection (1000), and API Gateway closes for its own limits.
 */
export const CLOSE_CODES = {
  /** After every `auth_error`, on `session_replaced`, and at the auth deadline. */
  closedByServer: 1000,
  /** Idle for 10 minutes, or 2 hours old. */
  goingAway: 1001,
  /** A frame over 32 KB or a message over 128 KB. */
  messageTooBig: 1009,
  /** No close frame: the network dropped, or the upgrade failed (HTTP 400 / 403 are not visible to browsers). */
  abnormal: 1006,
} as const;
