/**
 * Proctor subscriptions on DynamoDB: one item per watched test, `P#<testId>` in the connections
 * table, with one attribute per subscribed connection (`s_<connectionId>` = until when, epoch
 * ms). The routes that publish events read it with one GetItem; subscribing and unsubscribing are
 * single-attribute updates, so concurrent proctors never overwrite each other.
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ProctorSubscriptions } from '../../core/ports';

const PREFIX = 's_';
const subscriptionsPk = (testId: string) => `P#${testId}`;
/** The item outlives every subscription in it: a subscription lasts at most 2 h. */
const ITEM_TTL_SECONDS = 3 * 60 * 60;

export class DynamoProctorSubscriptions implements ProctorSubscriptions {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async subscribe(testId: string, connectionId: string, untilMs: number, nowMs: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: subscriptionsPk(testId) },
        UpdateExpression: 'SET #subscriber = :until, #ttl = :ttl',
        ExpressionAttributeNames: { '#subscriber': `${PREFIX}${connectionId}`, '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':until': untilMs, ':ttl': Math.floor(nowMs / 1000) + ITEM_TTL_SECONDS },
      }),
    );
  }

  async unsubscribe(testId: string, connectionId: string): Promise<void> {
    await this.doc
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: subscriptionsPk(testId) },
          UpdateExpression: 'REMOVE #subscriber',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#subscriber': `${PREFIX}${connectionId}` },
        }),
      )
      .catch((error: unknown) => {
        // Nothing to remove: no one watches this test.
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      });
  }

  async subscribersOf(testId: string, nowMs: number): Promise<string[]> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: subscriptionsPk(testId) },
        ConsistentRead: true,
      }),
    );
    if (!Item) return [];
    return Object.entries(Item)
      .filter(([name, until]) => name.startsWith(PREFIX) && typeof until === 'number' && until > nowMs)
      .map(([name]) => name.slice(PREFIX.length));
  }
}
