/**
 * Reads test definition files and validates all of them before anything is stored, so a bad
 * file never leaves a half-loaded set behind. Shared by the loader command and the local stack.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TestDefinition } from '../lambdas/core/ports';
import { parseTestDefinition, TestDefinitionError } from '../lambdas/core/test-definition';

/** Files, or folders whose `*.json` files are read, in a stable order. */
export async function readTestDefinitionFiles(paths: readonly string[]): Promise<TestDefinition[]> {
  const files: string[] = [];
  for (const entry of paths) {
    if ((await stat(entry)).isDirectory()) {
      const names = (await readdir(entry)).filter((name) => name.endsWith('.json')).sort();
      files.push(...names.map((name) => path.join(entry, name)));
    } else {
      files.push(entry);
    }
  }
  const problems: string[] = [];
  const causes: unknown[] = [];
  const definitions: TestDefinition[] = [];
  for (const file of files) {
    try {
      definitions.push(parseTestDefinition(JSON.parse(await readFile(file, 'utf8')), file));
    } catch (error) {
      causes.push(error);
      problems.push(
        error instanceof SyntaxError
          ? `${file} is not valid JSON: ${error.message}`
          : String((error as Error).message),
      );
    }
  }
  const seen = new Map<string, number>();
  for (const d of definitions) seen.set(d.test_id, (seen.get(d.test_id) ?? 0) + 1);
  for (const [id, count] of seen) if (count > 1) problems.push(`test_id ${id} is defined ${count} times`);
  if (problems.length > 0) {
    const cause =
      causes.length === 1 ? causes[0] : causes.length > 1 ? new AggregateError(causes) : undefined;
    throw new TestDefinitionError(problems.join('\n'), cause === undefined ? undefined : { cause });
  }
  return definitions;
}
