/**
 * Lambda bundle sizes, as built for deployment (esbuild, minified, AWS SDK bundled), as ratios to
 * a baseline bundled in the same run: a handler that only sends one DynamoDB GetItem. The gap is
 * what this project adds on top of the smallest useful DynamoDB Lambda.
 *
 *   npm run bench:bundle
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { ROUTES, SCHEDULED_JOBS } from '../lambdas/routes';

const ROOT = path.join(__dirname, '..');

async function bundledBytes(entry: string): Promise<number> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    outfile: 'out.js',
    logLevel: 'silent',
  });
  return result.outputFiles.reduce(
    (sum, file) => (file.path.endsWith('.js') ? sum + file.contents.length : sum),
    0,
  );
}

async function main() {
  const dir = await mkdtemp(path.join(tmpdir(), 'bundle-baseline-'));
  const baselineEntry = path.join(dir, 'baseline.ts');
  await writeFile(
    baselineEntry,
    `import { DynamoDBClient, GetItemCommand } from '${path.join(ROOT, 'node_modules/@aws-sdk/client-dynamodb')}';
const client = new DynamoDBClient({});
export const handler = async () => client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } }));
`,
  );
  try {
    const baseline = await bundledBytes(baselineEntry);
    console.log('| bundle | KB (minified) | size / baseline |');
    console.log('|---|---|---|');
    console.log(`| baseline: DynamoDB GetItem only | ${(baseline / 1024).toFixed(0)} | 1.00x |`);
    for (const spec of [...ROUTES, ...SCHEDULED_JOBS]) {
      const bytes = await bundledBytes(spec.entry);
      console.log(`| ${spec.name} | ${(bytes / 1024).toFixed(0)} | ${(bytes / baseline).toFixed(2)}x |`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
