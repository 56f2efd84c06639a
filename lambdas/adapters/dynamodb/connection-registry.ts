/**
 * The connection registry on DynamoDB: one table, two kinds of item.
 *   C#<connectionId>          the connection: its test, deadline, (once authenticated) user and
 *                             key, and its rate-limit window and count (see admitFrame)
 *   K#<connectionKey>         the key mapping: which connection holds the key now
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
        UpdateExpression: 'SET epoch = :epoch, tokenExpiresAtMs = :exp, #ttl = :ttl REMOVE pendingBucket',
        ConditionExpression: 'userId = :user AND #key = :key',
        ExpressionAttributeNames: { '#key': 'key', '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':epoch': auth.epoch,
          ':exp': auth.tokenExpiresAtMs,
          ':ttl': ttlFrom(this.now()),
          ':user': auth.userId,
          ':key': auth.key,
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
    const { Attributes } = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keyPk(key) },
        UpdateExpression:
          'SET connectionId = :me, claimedAtMs = :now, #ttl = :ttl, epoch = if_not_exists(epoch, :now) + :one',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':me': connectionId, ':now': now, ':ttl': keyTtlFrom(now), ':one': 1 },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    const old = Attributes ?? {};
    const epoch = (typeof old.epoch === 'number' ? old.epoch : now) + 1;
    const previous = old.connectionId;
    if (typeof previous !== 'string' || previous === connectionId || expired(old, now)) {
      return { previous: null, epoch };
    }
    return { previous, epoch };
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
  async releaseKey(key: string, connectionId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keyPk(key) },
          UpdateExpression: 'REMOVE connectionId',
          ConditionExpression: 'connectionId = :me',
          ExpressionAttributeValues: { ':me': connectionId },
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
