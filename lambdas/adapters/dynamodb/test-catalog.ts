/** Test definitions on DynamoDB: one item per test, `{ testId, definition }`. */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TestCatalog, TestDefinition } from '../../core/ports';
import { parseTestDefinition } from '../../core/test-definition';

export class DynamoTestCatalog implements TestCatalog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(testId: string): Promise<TestDefinition | null> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { testId } }));
    if (!Item) return null;
    // Stored definitions were validated on load; validating again guards against hand edits.
    return parseTestDefinition(Item.definition, `stored test ${testId}`);
  }
}

/** Stores one validated definition (replacing any earlier version of the same test). */
export async function putTestDefinition(
  doc: DynamoDBDocumentClient,
  tableName: string,
  definition: TestDefinition,
): Promise<void> {
  const valid = parseTestDefinition(definition, `test ${definition.test_id}`);
  await doc.send(
    new PutCommand({
      TableName: tableName,
      Item: { testId: valid.test_id, definition: valid, updatedAt: new Date().toISOString() },
    }),
  );
}
