/**
 * The per-connection budget promised by the protocol: bursts of at least 20 frames and at least
 * one frame per second sustained. Fixed 10-second windows of 50 frames satisfy both (a client
 * sending one frame a second uses 10 of a window and can still burst 40).
 */
export const RATE_LIMIT = { framesPerWindow: 50, windowMs: 10_000 } as const;
