/**
 * The connection registry on DynamoDB: one table, two kinds of item.
 *   C#<connectionId>          the connection: its test, deadline, (once authenticated) user and
 *                             key, and its rate-limit window and count (see admitFrame)
 *   K#<connectionKey>         the key mapping: which connection holds the key now, and the
 *                             key's connection history (totals, the most recent events; see
 *                             core/connection-history.ts), listed per test by the keys-by-test index
 * Unauthenticated connections carry `pendingBucket`, which puts them in the sparse index the
 * sweep queries; authentication removes it.
 * A key item keeps its `epoch` after its connection is released, so epochs only ever grow.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { RATE_LIMIT } from '../../../protocol';
import {
  type ConnectionEnd,
  type ConnectionEvent,
  duringAttempt,
  EMPTY_TOTALS,
  HISTORY_EVENTS,
  type HistoryEntry,
  type HistoryTotals,
  type KeyHistory,
  MAX_CONNECTION_MS,
} from '../../core/connection-history';
import { parseConnectionKey } from '../../core/connection-key';
import type {
  ConnectionAuth,
  ConnectionRecord,
  ConnectionRegistry,
  FrameAdmission,
  IdentityBinding,
  IdentityBindResult,
  KeyClaim,
} from '../../core/ports';
import { IndexShards } from './shards';
import {
  CONNECTION_RECORD_TTL_SECONDS,
  CONNECTIONS_TABLE,
  KEY_RECORD_TTL_SECONDS,
  PENDING_SHARDS,
} from './table-definitions';

const PENDING = new IndexShards('pending', PENDING_SHARDS);
const PENDING_INDEX = CONNECTIONS_TABLE.indexes[0]?.indexName ?? 'pending-by-auth-deadline';
const ROSTER_INDEX = CONNECTIONS_TABLE.indexes[1]?.indexName ?? 'keys-by-test';
const TOTAL_NAMES = [
  'connections',
  'reconnects',
  'offlineMs',
  'longestGapMs',
  'replaced',
  'unknownGaps',
] as const;

const connectionPk = (connectionId: string) => `C#${connectionId}`;
const keyPk = (key: string) => `K#${key}`;
const ttlFrom = (nowMs: number) => Math.floor(nowMs / 1000) + CONNECTION_RECORD_TTL_SECONDS;
const keyTtlFrom = (nowMs: number) => Math.floor(nowMs / 1000) + KEY_RECORD_TTL_SECONDS;
const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;
/** DynamoDB deletes expired items late (up to 48 h), so reads ignore them. */
const expired = (item: Record<string, unknown>, nowMs: number) =>
  typeof item.ttl === 'number' && item.ttl * 1000 <= nowMs;

interface ConnectionItem {
  pk: string;
  connectionId: string;
  testId?: string;
  connectedAtMs: number;
  authDeadlineMs: number;
  pendingBucket?: string;
  userId?: string;
  key?: string;
  tokenExpiresAtMs?: number;
  epoch?: number;
  proctorTests?: string[];
  /** The fixed rate-limit window (epoch ms / windowMs) the frame count belongs to. */
  rateWindow?: number;
  rateFrames?: number;
  ttl: number;
}

/** How many windows a container remembers per connection, to try the likelier write first. */
const REMEMBERED_WINDOWS = 10_000;

function toRecord(item: ConnectionItem): ConnectionRecord {
  return {
    connectionId: item.connectionId,
    testId: item.testId ?? null,
    connectedAtMs: item.connectedAtMs,
    authDeadlineMs: item.authDeadlineMs,
    // Bound to a user but not yet holding its key (or from before epochs): not authenticated.
    ...(item.userId && item.key && typeof item.epoch === 'number'
      ? {
          auth: {
            userId: item.userId,
            key: item.key,
            tokenExpiresAtMs: item.tokenExpiresAtMs ?? 0,
            epoch: item.epoch,
            ...(Array.isArray(item.proctorTests) ? { proctorTests: item.proctorTests } : {}),
          },
        }
      : {}),
  };
}

export class DynamoConnectionRegistry implements ConnectionRegistry {
  /** The window this container last counted a frame in, per connection (a hint, never trusted). */
  private readonly lastWindow = new Map<string, number>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
    private readonly rateLimit: { framesPerWindow: number; windowMs: number } = RATE_LIMIT,
  ) {}

  async registerPending(connection: Omit<ConnectionRecord, 'auth'>): Promise<void> {
    await this.put({ ...this.baseItem(connection), pendingBucket: PENDING.of(connection.connectionId) });
  }

  async get(connectionId: string): Promise<ConnectionRecord | null> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: connectionPk(connectionId) },
        ConsistentRead: true,
      }),
    );
    if (!Item || expired(Item, this.now())) return null;
    return toRecord(Item as ConnectionItem);
  }

  /**
   * Counts the frame against the connection's budget on the connection item itself and returns
   * the connection from the same write (ALL_NEW): no separate read, no counter item. DynamoDB
   * cannot choose between "start a new window" and "add to this window" inside one update, so
   * the write that is likelier to hold goes first and the other follows only when its condition
   * fails: a frame that opens a window (heartbeats and answers are seconds to minutes apart)
   * resets the count, a frame in a window this container already counted in adds to it. Both
   * are conditional on the record existing, so a frame never creates a connection record.
   */
  async admitFrame(connectionId: string, nowMs: number): Promise<FrameAdmission> {
    const window = Math.floor(nowMs / this.rateLimit.windowMs);
    // A record without rateWindow (none counted yet) opens one.
    const opens = {
      update: 'SET rateWindow = :window, rateFrames = :one',
      condition: '(attribute_not_exists(rateWindow) OR rateWindow <> :window)',
    };
    const adds = { update: 'ADD rateFrames :one', condition: 'rateWindow = :window' };
    const order = this.lastWindow.get(connectionId) === window ? [adds, opens] : [opens, adds];
    // When neither holds, the window turned between the two writes (a second round counts the
    // frame: a window lasts seconds) or there is no record (every round fails).
    for (let round = 0; round < 2; round++) {
      for (const { update, condition } of order) {
        const item = await this.countFrame(connectionId, window, update, condition);
        if (!item) continue;
        this.remember(connectionId, window);
        return {
          connection: item.ttl * 1000 <= this.now() ? null : toRecord(item),
          withinBudget: (item.rateFrames ?? 0) <= this.rateLimit.framesPerWindow,
        };
      }
    }
    return { connection: null, withinBudget: true };
  }

  private async countFrame(
    connectionId: string,
    window: number,
    update: string,
    condition: string,
  ): Promise<ConnectionItem | null> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: connectionPk(connectionId) },
          UpdateExpression: update,
          ConditionExpression: `attribute_exists(pk) AND ${condition}`,
          ExpressionAttributeValues: { ':window': window, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return (Attributes as ConnectionItem | undefined) ?? null;
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  private remember(connectionId: string, window: number): void {
    if (this.lastWindow.size >= REMEMBERED_WINDOWS) this.lastWindow.clear();
    this.lastWindow.set(connectionId, window);
  }

  async bindIdentity(binding: IdentityBinding): Promise<IdentityBindResult> {
    const values: Record<string, unknown> = {
      ':user': binding.userId,
      ':key': binding.key,
      ':now': binding.nowMs,
      ':ttl': ttlFrom(this.now()),
      ':connectionId': binding.connectionId,
    };
    // Only an unbound socket binds: a racing auth for another user finds it bound and fails.
    const conditions = ['(attribute_not_exists(userId) OR userId = :user)'];
    const sets = [
      'userId = :user',
      '#key = :key',
      'connectionId = :connectionId',
      'connectedAtMs = if_not_exists(connectedAtMs, :now)',
      'authDeadlineMs = if_not_exists(authDeadlineMs, :now)',
      '#ttl = :ttl',
    ];
    if (binding.testId === null) {
      conditions.push('attribute_not_exists(testId)');
    } else {
      values[':test'] = binding.testId;
      conditions.push('(attribute_not_exists(testId) OR testId = :test)');
      sets.push('testId = :test');
    }
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: connectionPk(binding.connectionId) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: { '#key': 'key', '#ttl': 'ttl' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ok: true, connection: toRecord(Attributes as ConnectionItem) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // dynalite ignores ReturnValuesOnConditionCheckFailure: read the record to say why.
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: connectionPk(binding.connectionId) },
        ConsistentRead: true,
      }),
    );
    const item = (Item ?? {}) as Partial<ConnectionItem>;
    return {
      ok: false,
      reason: item.userId !== undefined && item.userId !== binding.userId ? 'other_user' : 'test_mismatch',
    };
  }

  async markAuthenticated(connectionId: string, auth: ConnectionAuth): Promise<void> {
    // Only the user the socket is bound to: a stale call for another identity changes nothing.
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: connectionPk(connectionId) },
        // A token refresh replaces the proctor rights too: they are the latest token's.
        UpdateExpression: `SET epoch = :epoch, tokenExpiresAtMs = :exp, #ttl = :ttl${
          auth.proctorTests ? ', proctorTests = :proctorTests' : ''
        } REMOVE pendingBucket${auth.proctorTests ? '' : ', proctorTests'}`,
        ConditionExpression: 'userId = :user AND #key = :key',
        ExpressionAttributeNames: { '#key': 'key', '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':epoch': auth.epoch,
          ':exp': auth.tokenExpiresAtMs,
          ':ttl': ttlFrom(this.now()),
          ':user': auth.userId,
          ':key': auth.key,
          ...(auth.proctorTests ? { ':proctorTests': auth.proctorTests } : {}),
        },
      }),
    );
  }

  private baseItem(connection: Omit<ConnectionRecord, 'auth'>): ConnectionItem {
    return {
      pk: connectionPk(connection.connectionId),
      connectionId: connection.connectionId,
      ...(connection.testId === null ? {} : { testId: connection.testId }),
      connectedAtMs: connection.connectedAtMs,
      authDeadlineMs: connection.authDeadlineMs,
      ttl: ttlFrom(this.now()),
    };
  }

  private async put(item: ConnectionItem): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /**
   * One atomic write that takes the key, returns who held it (UPDATED_OLD) and advances the
   * epoch: of two auths racing for one key, exactly one ends up holding it with the larger epoch
   * and the other is named as replaced. A new key's epoch starts from the clock, so even a key
   * item that expired and came back never reuses an epoch.
   */
  async claimKey(key: string, connectionId: string): Promise<KeyClaim> {
    const now = this.now();
    const { userId, testId } = parseConnectionKey(key);
    // The same write starts the history: the old values (ALL_OLD) are what the new event is
    // measured against, and the end of the previous connection is cleared for this one.
    const { Attributes } = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keyPk(key) },
        UpdateExpression:
          'SET connectionId = :me, claimedAtMs = :now, #ttl = :ttl, epoch = if_not_exists(epoch, :now) + :one, ' +
          `userId = :user, events = if_not_exists(events, :noEvents)${testId === null ? '' : ', rosterTestId = :test'} ` +
          'REMOVE endedAtMs, endReason',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':me': connectionId,
          ':now': now,
          ':ttl': keyTtlFrom(now),
          ':one': 1,
          ':user': userId,
          ':noEvents': {},
          ...(testId === null ? {} : { ':test': testId }),
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = Attributes ?? {};
    const epoch = (typeof old.epoch === 'number' ? old.epoch : now) + 1;
    const previous = old.connectionId;
    const history = expired(old, now) ? null : toHistory(key, old, now);
    const holder =
      typeof previous !== 'string' || previous === connectionId || !history?.holder ? null : previous;
    return {
      previous: holder,
      epoch,
      prior: {
        holder,
        ...(history?.ended ? { ended: history.ended } : {}),
        totals: history?.totals ?? EMPTY_TOTALS,
      },
    };
  }

  /**
   * The event goes to slot `epoch mod HISTORY_EVENTS`, so concurrent entries never share a slot
   * and the map never holds more than HISTORY_EVENTS; the totals are atomic adds, so they stay
   * exact whatever the order. Only the longest gap needs a condition (it may only grow).
   */
  async recordConnection(key: string, entry: HistoryEntry): Promise<void> {
    const { event } = entry;
    const counts = duringAttempt(event);
    const gap = counts ? (event.awayMs ?? 0) : 0;
    const send = (withLongest: boolean) =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keyPk(key) },
          UpdateExpression:
            `SET events.#slot = :event${withLongest ? ', longestGapMs = :gap' : ''} ` +
            'ADD connections :one, reconnects :reconnect, offlineMs :gap, replaced :replaced, unknownGaps :unknown',
          ...(withLongest
            ? { ConditionExpression: 'attribute_not_exists(longestGapMs) OR longestGapMs < :gap' }
            : {}),
          ExpressionAttributeNames: { '#slot': `e${entry.epoch % HISTORY_EVENTS}` },
          ExpressionAttributeValues: {
            ':event': event,
            ':one': 1,
            ':reconnect': counts ? 1 : 0,
            ':gap': gap,
            ':replaced': entry.replacedPrevious ? 1 : 0,
            ':unknown': counts && event.awayMs === null ? 1 : 0,
          },
        }),
      );
    if (gap === 0) {
      await send(false);
      return;
    }
    try {
      await send(true);
    } catch (error) {
      // A longer gap is already recorded: add the event and the totals without it.
      if (!isConditionFailure(error)) throw error;
      await send(false);
    }
  }

  async historyOf(key: string): Promise<KeyHistory | null> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keyPk(key) }, ConsistentRead: true }),
    );
    const now = this.now();
    return Item && !expired(Item, now) ? toHistory(key, Item, now) : null;
  }

  async rosterOf(testId: string): Promise<KeyHistory[]> {
    const found: KeyHistory[] = [];
    const now = this.now();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: ROSTER_INDEX,
          KeyConditionExpression: 'rosterTestId = :test',
          ExpressionAttributeValues: { ':test': testId },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (!expired(item, now)) found.push(toHistory(String(item.pk).slice('K#'.length), item, now));
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }

  async holderOf(key: string): Promise<string | null> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: keyPk(key) },
        ConsistentRead: true,
        // Only what is used (a projection saves bytes, not read units).
        ProjectionExpression: 'connectionId, #ttl',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
      }),
    );
    if (!Item || expired(Item, this.now()) || typeof Item.connectionId !== 'string') return null;
    return Item.connectionId;
  }

  /**
   * Conditional on the holder, so a late $disconnect never removes a newer connection's mapping.
   * The item stays, without a holder, so its epoch keeps growing.
   */
  async releaseKey(key: string, connectionId: string, end: ConnectionEnd): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keyPk(key) },
          UpdateExpression: 'REMOVE connectionId SET endedAtMs = :at, endReason = :reason, #ttl = :ttl',
          ConditionExpression: 'connectionId = :me',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':me': connectionId,
            ':at': end.atMs,
            ':reason': end.reason,
            ':ttl': keyTtlFrom(this.now()),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async removeConnection(connectionId: string): Promise<ConnectionRecord | null> {
    const { Attributes } = await this.doc.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: connectionPk(connectionId) },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes ? toRecord(Attributes as ConnectionItem) : null;
  }

  async findUnauthenticatedOverdue(nowMs: number, limit: number): Promise<ConnectionRecord[]> {
    const found: ConnectionRecord[] = [];
    for (const shard of PENDING.all()) {
      if (found.length >= limit) break;
      const { Items = [] } = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: PENDING_INDEX,
          KeyConditionExpression: 'pendingBucket = :shard AND authDeadlineMs <= :now',
          ExpressionAttributeValues: { ':shard': shard, ':now': nowMs },
          Limit: limit - found.length,
        }),
      );
      found.push(...Items.map((item) => toRecord(item as ConnectionItem)));
    }
    return found;
  }
}

/**
 * A key record as history. The holder counts only within API Gateway's 2 h connection limit: a
 * connection whose `$disconnect` never came is not shown online forever.
 */
function toHistory(key: string, item: Record<string, unknown>, nowMs: number): KeyHistory {
  const { userId, testId } = parseConnectionKey(key);
  const number = (value: unknown) => (typeof value === 'number' ? value : 0);
  const totals = Object.fromEntries(
    TOTAL_NAMES.map((name) => [name, number(item[name])]),
  ) as unknown as HistoryTotals;
  const claimedAtMs = typeof item.claimedAtMs === 'number' ? item.claimedAtMs : undefined;
  const holding =
    typeof item.connectionId === 'string' &&
    claimedAtMs !== undefined &&
    claimedAtMs + MAX_CONNECTION_MS > nowMs;
  const events = Object.values((item.events ?? {}) as Record<string, ConnectionEvent>)
    .filter((e) => typeof e?.atMs === 'number')
    .sort((a, b) => a.atMs - b.atMs)
    .slice(-HISTORY_EVENTS);
  return {
    userId,
    testId,
    holder: holding ? (item.connectionId as string) : null,
    ...(claimedAtMs === undefined ? {} : { claimedAtMs }),
    ...(typeof item.endedAtMs === 'number' && typeof item.endReason === 'string'
      ? { ended: { atMs: item.endedAtMs, reason: item.endReason as ConnectionEnd['reason'] } }
      : {}),
    totals,
    events,
  };
}
