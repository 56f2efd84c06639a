/** The pure parts of the connection history: why a connection ended, what a reconnect records. */
import {
  addEvent,
  EMPTY_TOTALS,
  endReasonOf,
  eventFor,
  MAX_CONNECTION_MS,
  type PriorHolding,
} from '../../lambdas/core/connection-history';

const T0 = Date.parse('2026-05-01T09:00:00Z');
const LEEWAY = 30_000;
const connection = (ageMs: number, tokenLeftMs = 3600_000) => ({
  connectedAtMs: T0 - ageMs,
  auth: { userId: 'u', key: 'u_t', tokenExpiresAtMs: T0 + tokenLeftMs, epoch: 1 },
});

describe('endReasonOf', () => {
  it.each([
    [1006, 'dropped'],
    [undefined, 'dropped'],
    [1011, 'dropped'],
    [1000, 'closed'],
    [1005, 'closed'],
    [1001, 'idle'],
  ] as const)('close code %s is %s', (statusCode, reason) => {
    expect(endReasonOf(statusCode === undefined ? {} : { statusCode }, connection(60_000), T0, LEEWAY)).toBe(
      reason,
    );
  });

  it('a connection at the 2 h limit met it, whatever the code', () => {
    expect(endReasonOf({ statusCode: 1001 }, connection(MAX_CONNECTION_MS), T0, LEEWAY)).toBe('max_duration');
    expect(endReasonOf({ statusCode: 1001 }, connection(MAX_CONNECTION_MS - 30_000), T0, LEEWAY)).toBe(
      'max_duration',
    );
    expect(endReasonOf({ statusCode: 1001 }, connection(MAX_CONNECTION_MS - 10 * 60_000), T0, LEEWAY)).toBe(
      'idle',
    );
  });

  it('a connection whose token had expired (beyond the leeway) ended with it', () => {
    expect(endReasonOf({ statusCode: 1006 }, connection(60_000, -LEEWAY - 1), T0, LEEWAY)).toBe(
      'token_expired',
    );
    expect(endReasonOf({ statusCode: 1006 }, connection(60_000, -LEEWAY + 1000), T0, LEEWAY)).toBe('dropped');
  });
});

describe('eventFor', () => {
  const prior = (p: Partial<PriorHolding>): PriorHolding => ({ holder: null, totals: EMPTY_TOTALS, ...p });

  it('the first connection has no gap and no previous end', () => {
    expect(eventFor(prior({}), T0, false, 'none')).toEqual({
      event: { atMs: T0, awayMs: null, previousEnd: null, recovery: 'none' },
      replacedPrevious: false,
    });
  });

  it('after a recorded end: the gap since it and its reason', () => {
    const after = prior({
      totals: { ...EMPTY_TOTALS, connections: 1 },
      ended: { atMs: T0 - 9000, reason: 'idle' },
    });
    expect(eventFor(after, T0, false, 'recovered').event).toEqual({
      atMs: T0,
      awayMs: 9000,
      previousEnd: 'idle',
      recovery: 'recovered',
    });
  });

  it('a live holder was replaced (no gap); a gone one had dropped unseen (gap unknown)', () => {
    const held = prior({ holder: 'old', totals: { ...EMPTY_TOTALS, connections: 1 } });
    expect(eventFor(held, T0, true, 'recovered')).toEqual({
      event: { atMs: T0, awayMs: 0, previousEnd: 'replaced', recovery: 'recovered' },
      replacedPrevious: true,
    });
    expect(eventFor(held, T0, false, 'recovered')).toEqual({
      event: { atMs: T0, awayMs: null, previousEnd: 'dropped', recovery: 'recovered' },
      replacedPrevious: false,
    });
  });
});

describe('addEvent', () => {
  it('counts reconnects and gaps only while the attempt was in progress', () => {
    let totals = addEvent(
      EMPTY_TOTALS,
      { atMs: T0, awayMs: null, previousEnd: null, recovery: 'none' },
      false,
    );
    totals = addEvent(
      totals,
      { atMs: T0 + 1, awayMs: 5000, previousEnd: 'dropped', recovery: 'none' },
      false,
    );
    totals = addEvent(
      totals,
      { atMs: T0 + 2, awayMs: 7000, previousEnd: 'dropped', recovery: 'recovered' },
      false,
    );
    totals = addEvent(totals, { atMs: T0 + 3, awayMs: 3000, previousEnd: 'idle', recovery: 'failed' }, false);
    totals = addEvent(
      totals,
      { atMs: T0 + 4, awayMs: null, previousEnd: 'dropped', recovery: 'recovered' },
      false,
    );
    totals = addEvent(
      totals,
      { atMs: T0 + 5, awayMs: 0, previousEnd: 'replaced', recovery: 'recovered' },
      true,
    );
    // Coming back the next day to see the result is not time offline.
    totals = addEvent(
      totals,
      { atMs: T0 + 6, awayMs: 86_400_000, previousEnd: 'closed', recovery: 'completed' },
      false,
    );
    expect(totals).toEqual({
      connections: 7,
      reconnects: 4,
      offlineMs: 10_000,
      longestGapMs: 7000,
      replaced: 1,
      unknownGaps: 1,
    });
  });
});
