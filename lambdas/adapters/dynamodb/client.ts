/** DynamoDB clients, built once per process by the composition root. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function createDocumentClient(options: { endpoint?: string; client?: DynamoDBClient } = {}) {
  const client = options.client ?? new DynamoDBClient(options.endpoint ? { endpoint: options.endpoint } : {});
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
