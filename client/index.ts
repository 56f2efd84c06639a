/**
 * The assessment client SDK: a reconnecting, re-authenticating WebSocket client for protocol v1
 * (docs/protocol.md). No runtime dependencies: browsers use the global WebSocket, Node passes one
 * (e.g. from the `ws` package).
 */
export { Backoff } from './backoff';
export { AssessmentClient } from './client';
export { Emitter } from './emitter';
export { AssessmentClientError } from './errors';
export { DEFAULTS } from './options';
export { isFinalAnswerError, Outbox, type OutboxEntry, outboxStorageKey } from './outbox';
export { PendingRequests } from './pending-requests';
export { tokenExpiryMs } from './token';
export type * from './types';
