/**
 * Staff report for one test: per student progress, outcome, reconnects, time offline and longest
 * gap, read from the tables of any deployment.
 *
 *   npm run report -- --test demo --endpoint http://127.0.0.1:8000 --tables <connections>,<assessments>,<tests>
 *   npm run report -- --test exam-1 --stack-outputs outputs.json --csv exam-1.csv
 *   npm run report -- --test exam-1 --stack-outputs outputs.json --json > exam-1.json
 *
 * `--stack-outputs` reads a `cdk deploy --outputs-file` JSON (the stack's ConnectionsTableName,
 * AssessmentsTableName and TestsTableName); `--stack` picks a stack when the file has several.
 * Without `--endpoint`, credentials and region come from the usual AWS SDK chain. The local
 * stack prints its DynamoDB endpoint and table names when it starts. Reads only.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DynamoAssessmentStore } from '../lambdas/adapters/dynamodb/assessment-store';
import { createDocumentClient } from '../lambdas/adapters/dynamodb/client';
import { DynamoConnectionRegistry } from '../lambdas/adapters/dynamodb/connection-registry';
import { DynamoTestCatalog } from '../lambdas/adapters/dynamodb/test-catalog';
import { loadRoster } from '../lambdas/core/roster';
import { isValidTestId } from '../protocol';
import { reportRows, toCsv, toText } from './report-format';

const USAGE = `usage: npm run report -- --test <test_id> (--tables <connections>,<assessments>,<tests> | --stack-outputs <file> [--stack <name>])
                         [--endpoint <url>] [--json] [--csv <file>]`;

export class UsageError extends Error {
  override name = 'UsageError';
}

interface Tables {
  connections: string;
  assessments: string;
  tests: string;
}

export async function tablesFrom(values: {
  tables?: string | undefined;
  'stack-outputs'?: string | undefined;
  stack?: string | undefined;
}): Promise<Tables> {
  if (values.tables !== undefined) {
    const [connections, assessments, tests, ...rest] = values.tables.split(',').map((t) => t.trim());
    if (!connections || !assessments || !tests || rest.length > 0) {
      throw new UsageError('--tables takes three names: <connections>,<assessments>,<tests>');
    }
    return { connections, assessments, tests };
  }
  const file = values['stack-outputs'];
  if (file === undefined) throw new UsageError('give --tables or --stack-outputs');
  let outputs: Record<string, Record<string, unknown>>;
  try {
    outputs = JSON.parse(await readFile(file, 'utf8')) as typeof outputs;
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const stacks = Object.entries(outputs).filter(
    ([name, o]) =>
      typeof o === 'object' &&
      o !== null &&
      typeof o.ConnectionsTableName === 'string' &&
      (values.stack === undefined || name === values.stack),
  );
  if (stacks.length !== 1) {
    throw new UsageError(
      stacks.length === 0
        ? `${file} has no stack with ConnectionsTableName${values.stack ? ` named ${values.stack}` : ''}`
        : `${file} has several stacks (${stacks.map(([n]) => n).join(', ')}): choose one with --stack`,
    );
  }
  const [, o] = stacks[0] as [string, Record<string, unknown>];
  const name = (key: string) => {
    const value = o[key];
    if (typeof value !== 'string') throw new UsageError(`${file}: the stack has no ${key}`);
    return value;
  };
  return {
    connections: name('ConnectionsTableName'),
    assessments: name('AssessmentsTableName'),
    tests: name('TestsTableName'),
  };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      test: { type: 'string' },
      tables: { type: 'string' },
      'stack-outputs': { type: 'string' },
      stack: { type: 'string' },
      endpoint: { type: 'string', default: process.env.DYNAMODB_ENDPOINT },
      json: { type: 'boolean', default: false },
      csv: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.test === undefined || !isValidTestId(values.test)) {
    throw new UsageError('--test <test_id> is required (letters, digits and -, at most 64)');
  }
  const tables = await tablesFrom(values);
  const doc = createDocumentClient(values.endpoint ? { endpoint: values.endpoint } : {});
  const roster = await loadRoster(
    {
      connections: new DynamoConnectionRegistry(doc, tables.connections),
      assessments: new DynamoAssessmentStore(doc, tables.assessments),
      tests: new DynamoTestCatalog(doc, tables.tests),
    },
    values.test,
    Date.now(),
  );
  if (roster === null) {
    console.error(`test ${values.test} does not exist in ${tables.tests}`);
    return 1;
  }
  const rows = reportRows(roster);
  if (values.csv !== undefined) {
    await writeFile(values.csv, toCsv(rows));
    console.error(`wrote ${rows.length} rows to ${values.csv}`);
  }
  if (values.json) console.log(JSON.stringify({ ...roster, rows }, null, 2));
  else if (values.csv === undefined) console.log(toText(roster, rows));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
        console.error(`${(error as Error).message}\n${USAGE}`);
        process.exit(2);
      }
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}

export { main };
