/** The loader command, run as a user runs it, against dynalite. */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DynamoTestCatalog } from '../../lambdas/adapters/dynamodb/test-catalog';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

const run = promisify(execFile);
let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

const loader = (...args: string[]) =>
  run(
    'npx',
    [
      'tsx',
      'scripts/load-test-definitions.ts',
      '--endpoint',
      dynamo.endpoint,
      '--table',
      dynamo.tables.tests,
      ...args,
    ],
    {
      env: process.env,
    },
  );

it('loads the demo test from the repository', async () => {
  const { stdout } = await loader('test-definitions/demo.json');
  expect(stdout).toContain('loaded demo');
  const demo = await new DynamoTestCatalog(dynamo.doc, dynamo.tables.tests).get('demo');
  expect(demo?.questions.length).toBeGreaterThanOrEqual(3);
});

it('loads nothing when any file is invalid, and names the bad field', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tests-'));
  const good = {
    test_id: 'good-one',
    title: 'Good',
    duration_seconds: 60,
    questions: [{ question_id: 'q', text: 'Q?', options: ['a', 'b'], correct_option: 'a' }],
  };
  await writeFile(path.join(dir, 'a-good.json'), JSON.stringify(good));
  await writeFile(
    path.join(dir, 'b-bad.json'),
    JSON.stringify({ ...good, test_id: 'bad-one', duration_seconds: 'long' }),
  );
  await expect(loader(dir)).rejects.toMatchObject({
    stderr: expect.stringMatching(/b-bad\.json.*duration_seconds/s),
  });
  expect(await new DynamoTestCatalog(dynamo.doc, dynamo.tables.tests).get('good-one')).toBeNull();
});
