/**
 * The connection registry on DynamoDB: one table, three kinds of item.
 *   C#<connectionId>          the connection: its test, deadline and (once authenticated) user and key
 *   K#<connectionKey>         the key mapping: which connection holds the key now
 *   R#<connectionId>#<window> rate-limit counters (see DynamoRateLimiter)
 * Unauthenticated connections carry `pendingBucket`, which puts them in the sparse index the
 * sweep queries; authentication rewrites the item without it.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ConnectionAuth, ConnectionRecord, ConnectionRegistry } from '../../core/ports';
import { IndexShards } from './shards';
import { CONNECTION_RECORD_TTL_SECONDS, CONNECTIONS_TABLE, PENDING_SHARDS } from './table-definitions';

const PENDING = new IndexShards('pending', PENDING_SHARDS);
const PENDING_INDEX = CONNECTIONS_TABLE.indexes[0]?.indexName ?? 'pending-by-auth-deadline';

const connectionPk = (connectionId: string) => `C#${connectionId}`;
const keyPk = (key: string) => `K#${key}`;
const ttlFrom = (nowMs: number) => Math.floor(nowMs / 1000) + CONNECTION_RECORD_TTL_SECONDS;
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
  ttl: number;
}

function toRecord(item: ConnectionItem): ConnectionRecord {
  return {
    connectionId: item.connectionId,
    testId: item.testId ?? null,
    connectedAtMs: item.connectedAtMs,
    authDeadlineMs: item.authDeadlineMs,
    ...(item.userId && item.key
      ? { auth: { userId: item.userId, key: item.key, tokenExpiresAtMs: item.tokenExpiresAtMs ?? 0 } }
      : {}),
  };
}

export class DynamoConnectionRegistry implements ConnectionRegistry {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
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

  async saveAuthenticated(connection: ConnectionRecord & { auth: ConnectionAuth }): Promise<void> {
    // A whole-item put: the item leaves the pending index because it no longer has pendingBucket.
    const { userId, key, tokenExpiresAtMs } = connection.auth;
    await this.put({ ...this.baseItem(connection), userId, key, tokenExpiresAtMs });
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
   * One atomic write that both takes the key and returns who held it (ALL_OLD): of two auths
   * racing for one key, exactly one ends up holding it and the other is named as replaced.
   */
  async claimKey(key: string, connectionId: string): Promise<string | null> {
    const { Attributes } = await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: keyPk(key), connectionId, claimedAtMs: this.now(), ttl: ttlFrom(this.now()) },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const previous = Attributes?.connectionId;
    if (typeof previous !== 'string' || previous === connectionId || expired(Attributes ?? {}, this.now())) {
      return null;
    }
    return previous;
  }

  async holderOf(key: string): Promise<string | null> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keyPk(key) }, ConsistentRead: true }),
    );
    if (!Item || expired(Item, this.now()) || typeof Item.connectionId !== 'string') return null;
    return Item.connectionId;
  }

  /** Conditional on the holder, so a late $disconnect never removes a newer connection's mapping. */
  async releaseKey(key: string, connectionId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: keyPk(key) },
          ConditionExpression: 'connectionId = :me',
          ExpressionAttributeValues: { ':me': connectionId },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
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
