/**
 * Connection history on the key record, one contract for the DynamoDB adapter (on dynalite) and
 * the in-memory twin: what a claim finds, what a release records, totals that stay exact while
 * the events stay bounded, and the roster of a test.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoConnectionRegistry } from '../../lambdas/adapters/dynamodb/connection-registry';
import { InMemoryConnectionRegistry } from '../../lambdas/adapters/memory';
import {
  type ConnectionEvent,
  EMPTY_TOTALS,
  eventFor,
  HISTORY_EVENTS,
} from '../../lambdas/core/connection-history';
import type { ConnectionRegistry } from '../../lambdas/core/ports';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

const T0 = Date.parse('2026-03-01T10:00:00Z');
let now = T0;

const registries: [string, () => ConnectionRegistry][] = [
  ['memory', () => new InMemoryConnectionRegistry(() => now)],
  ['dynamodb', () => new DynamoConnectionRegistry(dynamo.doc, dynamo.tables.connections, () => now)],
];

let seq = 0;
const unique = (prefix: string) => `${prefix}${++seq}`;

/** One connection's life as `auth` and `$disconnect` drive it. */
async function connectOnce(registry: ConnectionRegistry, key: string, connectionId: string, live = false) {
  const claim = await registry.claimKey(key, connectionId);
  const { event, replacedPrevious } = eventFor(claim.prior, now, live, 'recovered');
  await registry.recordConnection(key, { event, epoch: claim.epoch, replacedPrevious });
  return { claim, event };
}

describe.each(registries)('connection history (%s)', (name, make) => {
  beforeEach(() => {
    now = T0 + seq * 10_000_000;
  });

  it('records a first connection, a drop, and a reconnect with its gap and reason', async () => {
    const registry = make();
    const key = `${unique('u')}_quiz`;
    const first = await connectOnce(registry, key, 'c1');
    expect(first.claim.prior).toEqual({ holder: null, totals: EMPTY_TOTALS });
    expect(first.event).toEqual({ atMs: now, awayMs: null, previousEnd: null, recovery: 'recovered' });

    now += 60_000;
    expect(await registry.releaseKey(key, 'c1', { atMs: now, reason: 'dropped' })).toBe(true);
    const dropped = await registry.historyOf(key);
    expect(dropped?.holder).toBeNull();
    expect(dropped?.ended).toEqual({ atMs: now, reason: 'dropped' });

    const droppedAt = now;
    now += 42_000;
    const second = await connectOnce(registry, key, 'c2');
    expect(second.claim.previous).toBeNull();
    expect(second.claim.prior.ended).toEqual({ atMs: droppedAt, reason: 'dropped' });
    expect(second.event).toMatchObject({ awayMs: 42_000, previousEnd: 'dropped' });

    const history = await registry.historyOf(key);
    expect(history).toMatchObject({
      userId: key.split('_')[0],
      testId: 'quiz',
      holder: 'c2',
      claimedAtMs: now,
      totals: {
        connections: 2,
        reconnects: 1,
        offlineMs: 42_000,
        longestGapMs: 42_000,
        replaced: 0,
        unknownGaps: 0,
      },
    });
    expect(history?.ended).toBeUndefined();
    expect(history?.events.map((e) => e.previousEnd)).toEqual([null, 'dropped']);
  });

  it('a late release by a replaced connection records nothing; the replacement is counted', async () => {
    const registry = make();
    const key = `${unique('u')}_quiz`;
    await connectOnce(registry, key, 'old');
    now += 1000;
    const taken = await connectOnce(registry, key, 'new', true);
    expect(taken.claim.previous).toBe('old');
    expect(taken.event).toMatchObject({ awayMs: 0, previousEnd: 'replaced' });
    expect(await registry.releaseKey(key, 'old', { atMs: now, reason: 'closed' })).toBe(false);
    const history = await registry.historyOf(key);
    expect(history?.holder).toBe('new');
    expect(history?.ended).toBeUndefined();
    expect(history?.totals).toMatchObject({ connections: 2, replaced: 1, offlineMs: 0 });
  });

  it('a drop whose $disconnect had not arrived is a reconnect with an unknown gap', async () => {
    const registry = make();
    const key = `${unique('u')}_quiz`;
    await connectOnce(registry, key, 'a');
    now += 5000;
    const back = await connectOnce(registry, key, 'b', false);
    expect(back.event).toMatchObject({ awayMs: null, previousEnd: 'dropped' });
    expect((await registry.historyOf(key))?.totals).toMatchObject({
      reconnects: 1,
      unknownGaps: 1,
      offlineMs: 0,
    });
  });

  it('keeps the totals exact and only the most recent events when a student flaps all hour', async () => {
    const registry = make();
    const key = `${unique('u')}_quiz`;
    const rounds = HISTORY_EVENTS + 13;
    let longest = 0;
    for (let i = 0; i < rounds; i++) {
      await connectOnce(registry, key, `c${i}`);
      now += 1000;
      await registry.releaseKey(key, `c${i}`, { atMs: now, reason: i % 2 ? 'idle' : 'dropped' });
      const gap = 1000 + ((i * 7919) % 5000);
      longest = i < rounds - 1 ? Math.max(longest, gap) : longest;
      now += gap;
    }
    const history = await registry.historyOf(key);
    const gaps = (history?.events ?? []).map((e: ConnectionEvent) => e.awayMs);
    expect(history?.events).toHaveLength(HISTORY_EVENTS);
    expect(history?.totals.connections).toBe(rounds);
    expect(history?.totals.reconnects).toBe(rounds - 1);
    expect(history?.totals.longestGapMs).toBe(longest);
    // Oldest first, and the newest one is the last connection.
    const times = (history?.events ?? []).map((e) => e.atMs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(gaps.every((g) => g !== null && g >= 1000)).toBe(true);
    if (name === 'dynamodb') {
      const { Item } = await dynamo.doc.send(
        new GetCommand({ TableName: dynamo.tables.connections, Key: { pk: `K#${key}` } }),
      );
      // "A few KB" at most, however long the student flaps.
      expect(Buffer.byteLength(JSON.stringify(Item))).toBeLessThan(4096);
    }
  });

  it('lists the students of one test (not other tests, not general connections)', async () => {
    const registry = make();
    const test = unique('exam');
    const run = seq;
    for (const user of ['zoe', 'al', 'mo'])
      await connectOnce(registry, `${user}-${run}_${test}`, unique('c'));
    await connectOnce(registry, `al-${run}_general`, unique('c'));
    await connectOnce(registry, `al-${run}_${test}x`, unique('c'));
    const roster = await registry.rosterOf(test);
    expect(roster.map((h) => h.userId).sort()).toEqual([`al-${run}`, `mo-${run}`, `zoe-${run}`]);
    expect(roster.every((h) => h.testId === test && h.totals.connections === 1)).toBe(true);
  });
});
