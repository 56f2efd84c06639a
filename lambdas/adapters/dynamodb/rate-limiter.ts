/**
 * Fixed-window frame counters, one small item per connection and window, counted with an
 * atomic ADD. The message route runs this beside its connection read, so it adds no round trip.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RateLimiter } from '../../core/ports';

export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  async tryConsume(connectionId: string, nowMs: number): Promise<boolean> {
    const window = Math.floor(nowMs / this.windowMs);
    const { Attributes } = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `R#${connectionId}#${window}` },
        UpdateExpression: 'ADD frames :one SET #ttl = :ttl',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':ttl': Math.ceil(((window + 1) * this.windowMs) / 1000) + 60,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.frames ?? 0) <= this.limit;
  }
}
