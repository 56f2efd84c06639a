/**
 * The connection history of one attempt (one connection key `<user_id>_<test_id>`): every
 * (re)connection with when it happened, how long the student was away before it, why the previous
 * connection ended and whether the attempt was recovered; and exact totals. The key's record keeps
 * it: the claim at `auth` returns what the record held before, `$disconnect` writes how the
 * connection ended, and one more write after `auth` adds the new event (see docs/architecture.md).
 * Bounded: the totals are exact, the events are the most recent HISTORY_EVENTS.
 */
import type { ConnectionEndReason } from '../../protocol';
import type { ConnectionRecord } from './ports';

/** How many of the most recent events a key keeps; about 100 bytes each. */
export const HISTORY_EVENTS = 20;

/** API Gateway closes every connection after 2 hours. */
export const MAX_CONNECTION_MS = 2 * 60 * 60 * 1000;
/** A connection closed this close to the 2 h limit is taken to have met it. */
const MAX_CONNECTION_SLACK_MS = 60_000;

export const END_REASONS = [
  'dropped',
  'closed',
  'replaced',
  'idle',
  'token_expired',
  'max_duration',
] as const satisfies readonly ConnectionEndReason[];
/**
 * Why a connection ended: `dropped` (lost without a close: network, sleep, crash), `closed` (the
 * client closed it), `replaced` (the same key authenticated elsewhere, e.g. another tab), `idle`
 * (API Gateway's 10-minute idle timeout), `token_expired` (ended with an expired token),
 * `max_duration` (API Gateway's 2-hour limit).
 */
export type EndReason = ConnectionEndReason;

/** When and why a connection ended, recorded on its key by `$disconnect` (or a 410). */
export interface ConnectionEnd {
  atMs: number;
  reason: EndReason;
}

export const RECOVERY_OUTCOMES = ['recovered', 'failed', 'completed', 'none'] as const;
/**
 * What `auth` did for the attempt: `recovered` (sent the in-progress snapshot), `failed`
 * (`recovery_error`), `completed` (the attempt was over; sent its result), `none` (not started).
 */
export type RecoveryOutcome = (typeof RECOVERY_OUTCOMES)[number];

export interface ConnectionEvent {
  /** When the connection authenticated (epoch ms). */
  atMs: number;
  /**
   * How long the key had no connection before this one. 0 after a replacement; null when the
   * previous connection's `$disconnect` had not arrived yet, so the server cannot tell.
   */
  awayMs: number | null;
  /** Why the previous connection ended; null for the first connection. */
  previousEnd: EndReason | null;
  recovery: RecoveryOutcome;
}

/**
 * Reconnects and gaps count only while the attempt was in progress (recovery `recovered` or
 * `failed`): coming back the next day to see the result is not time offline.
 */
export interface HistoryTotals {
  /** Connections that authenticated for this key (a token refresh on one socket is not one). */
  connections: number;
  /** Connections that found the attempt in progress, after an earlier one. */
  reconnects: number;
  /** Sum of the known gaps before those reconnects. */
  offlineMs: number;
  longestGapMs: number;
  /** Connections that ended because another one took the key over. */
  replaced: number;
  /** Reconnects whose gap the server could not measure (see ConnectionEvent.awayMs). */
  unknownGaps: number;
}

/** What the record of a key holds. */
export interface KeyHistory {
  userId: string;
  /** Null for a general connection's key. */
  testId: string | null;
  /** The connection that holds the key now, if any. */
  holder: string | null;
  /** When the current (or, without a holder, the last) connection authenticated. */
  claimedAtMs?: number;
  /** When and why the last connection ended; absent while one holds the key. */
  ended?: ConnectionEnd;
  totals: HistoryTotals;
  /** Oldest first, at most HISTORY_EVENTS. */
  events: ConnectionEvent[];
}

/** What a claim found on the key's record before it wrote (see ConnectionRegistry.claimKey). */
export interface PriorHolding {
  /** The connection that held the key, when it was a different one and still held it. */
  holder: string | null;
  /** How the last connection ended, when it ended before this claim. */
  ended?: ConnectionEnd;
  totals: HistoryTotals;
}

/** What a new connection adds to the history, written after `auth` knows the recovery outcome. */
export interface HistoryEntry {
  event: ConnectionEvent;
  /** The claim's epoch: it picks the event's slot, so concurrent entries never share one. */
  epoch: number;
  /** True when the previous connection was replaced (counted in `totals.replaced`). */
  replacedPrevious: boolean;
}

export const EMPTY_TOTALS: HistoryTotals = {
  connections: 0,
  reconnects: 0,
  offlineMs: 0,
  longestGapMs: 0,
  replaced: 0,
  unknownGaps: 0,
};

/** API Gateway's `disconnectStatusCode` and `disconnectReason` (absent when it gave none). */
export interface DisconnectInfo {
  statusCode?: number;
  reason?: string;
}

/**
 * Why a connection ended, from API Gateway's close code and what the server knows about the
 * connection. 1001 ("going away") is what API Gateway sends for its idle timeout and for the 2 h
 * limit (told apart by the connection's age); a browser leaving the page may send it too.
 */
export function endReasonOf(
  info: DisconnectInfo,
  connection: Pick<ConnectionRecord, 'connectedAtMs' | 'auth'> | null,
  nowMs: number,
  tokenLeewayMs: number,
): EndReason {
  if (connection && nowMs - connection.connectedAtMs >= MAX_CONNECTION_MS - MAX_CONNECTION_SLACK_MS) {
    return 'max_duration';
  }
  if (connection?.auth && connection.auth.tokenExpiresAtMs + tokenLeewayMs <= nowMs) return 'token_expired';
  switch (info.statusCode) {
    case 1001:
      return 'idle';
    case 1000:
    case 1005:
      return 'closed';
    default:
      return 'dropped';
  }
}

/**
 * The event a new connection adds, from what the claim found. `previousWasLive` is whether the
 * earlier holder was still there when it was told `session_replaced` (a 410 means it had dropped
 * and its `$disconnect` had not arrived yet).
 */
export function eventFor(
  prior: PriorHolding,
  claimedAtMs: number,
  previousWasLive: boolean,
  recovery: RecoveryOutcome,
): { event: ConnectionEvent; replacedPrevious: boolean } {
  if (prior.totals.connections === 0 && prior.holder === null && !prior.ended) {
    return {
      event: { atMs: claimedAtMs, awayMs: null, previousEnd: null, recovery },
      replacedPrevious: false,
    };
  }
  if (prior.holder !== null) {
    return previousWasLive
      ? {
          event: { atMs: claimedAtMs, awayMs: 0, previousEnd: 'replaced', recovery },
          replacedPrevious: true,
        }
      : {
          event: { atMs: claimedAtMs, awayMs: null, previousEnd: 'dropped', recovery },
          replacedPrevious: false,
        };
  }
  const ended = prior.ended;
  return {
    event: {
      atMs: claimedAtMs,
      awayMs: ended ? Math.max(0, claimedAtMs - ended.atMs) : null,
      previousEnd: ended?.reason ?? 'dropped',
      recovery,
    },
    replacedPrevious: false,
  };
}

/** Whether an event counts as a reconnect during the attempt (and its gap as time offline). */
export const duringAttempt = (event: ConnectionEvent) =>
  event.previousEnd !== null && (event.recovery === 'recovered' || event.recovery === 'failed');

/** The totals after adding an event (the DynamoDB adapter does the same with atomic adds). */
export function addEvent(
  totals: HistoryTotals,
  event: ConnectionEvent,
  replacedPrevious: boolean,
): HistoryTotals {
  const counts = duringAttempt(event);
  const gap = counts ? (event.awayMs ?? 0) : 0;
  return {
    connections: totals.connections + 1,
    reconnects: totals.reconnects + (counts ? 1 : 0),
    offlineMs: totals.offlineMs + gap,
    longestGapMs: Math.max(totals.longestGapMs, gap),
    replaced: totals.replaced + (replacedPrevious ? 1 : 0),
    unknownGaps: totals.unknownGaps + (counts && event.awayMs === null ? 1 : 0),
  };
}
