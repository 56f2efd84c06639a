/**
 * Creates the tables from their shared definitions on any DynamoDB endpoint (used by the local
 * stack and the tests; on AWS the CDK construct creates them).
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { TABLE_DEFINITIONS, type TableDefinition, type TableName } from './table-definitions';

export function createTableInput(tableName: string, table: TableDefinition): CreateTableCommandInput {
  const attributes = new Map<string, 'S' | 'N'>();
  attributes.set(table.partitionKey.name, table.partitionKey.type);
  for (const index of table.indexes) {
    attributes.set(index.partitionKey.name, index.partitionKey.type);
    attributes.set(index.sortKey.name, index.sortKey.type);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [{ AttributeName: table.partitionKey.name, KeyType: 'HASH' }],
    ...(table.indexes.length > 0
      ? {
          GlobalSecondaryIndexes: table.indexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
              { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
            ],
            Projection: { ProjectionType: index.projection },
          })),
        }
      : {}),
  };
}

/** Creates any of the tables that do not exist yet and waits until all are ACTIVE. */
export async function ensureTables(client: DynamoDBClient, names: Record<TableName, string>): Promise<void> {
  for (const [logical, definition] of Object.entries(TABLE_DEFINITIONS) as [TableName, TableDefinition][]) {
    const tableName = names[logical];
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName, definition)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    for (let attempt = 0; ; attempt++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') break;
      if (attempt > 200) throw new Error(`table ${tableName} did not become ACTIVE`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
