/**
 * API Gateway WebSocket's quotas, as the AWS documentation lists them. The gateway emulation
 * enforces these; they are API Gateway's numbers, not the application's (the protocol may choose
 * stricter limits of its own).
 */

/** Frame size: larger frames close the connection with 1009; messages API Gateway sends are split at it. */
export const MAX_FRAME_BYTES = 32 * 1024;

/** Message payload (a whole message, frames reassembled; also bounds `PostToConnection` data). */
export const MAX_MESSAGE_BYTES = 128 * 1024;

/** Idle connection timeout. */
export const IDLE_TIMEOUT_MS = 10 * 60 * 1000;

/** Maximum connection duration. */
export const MAX_CONNECTION_MS = 2 * 60 * 60 * 1000;

/** Integration timeout: the gateway stops waiting for a function after this. */
export const INTEGRATION_TIMEOUT_MS = 29_000;
