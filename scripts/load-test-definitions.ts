/**
 * Loads quiz definitions (the JSON files in test-definitions/) into the test definitions table of
 * any DynamoDB endpoint. Every file is validated before anything is written, so one bad file means
 * nothing is loaded. Credentials and region come from the usual AWS SDK chain.
 */
import { parseArgs } from 'node:util';
import { createDocumentClient } from '../lambdas/adapters/dynamodb/client';
import { putTestDefinition } from '../lambdas/adapters/dynamodb/test-catalog';
import { readTestDefinitionFiles } from './test-definition-files';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      table: { type: 'string', default: process.env.TESTS_TABLE },
      endpoint: { type: 'string', default: process.env.DYNAMODB_ENDPOINT },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0 || !values.table) {
    console.error(
      'usage: npm run load-test-definitions -- --table <TestsTableName output> [--endpoint <url>] <file.json|folder>...',
    );
    return values.help ? 0 : 2;
  }
  let definitions: Awaited<ReturnType<typeof readTestDefinitionFiles>>;
  try {
    definitions = await readTestDefinitionFiles(positionals);
  } catch (error) {
    console.error(`Nothing was loaded:\n${(error as Error).message}`);
    return 1;
  }
  const doc = createDocumentClient(values.endpoint ? { endpoint: values.endpoint } : {});
  for (const definition of definitions) {
    await putTestDefinition(doc, values.table, definition);
    console.log(
      `loaded ${definition.test_id} (${definition.questions.length} questions) into ${values.table}`,
    );
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
