/**
 * `bundle_kb` and `init_ratio` per function. Each function is bundled as the CDK construct's
 * NodejsFunction bundles it (esbuild, minified, CommonJS, the AWS SDK bundled, a linked source
 * map) beside a baseline bundled the same way: a handler that only creates a DynamoDB client and
 * sends one GetItem. Initialisation is the time `require()` of the bundle takes in a fresh Node
 * process (what Lambda reports as Init Duration, less the runtime's own start), several runs
 * interleaved, median CPU time; as deployed (NODE_OPTIONS=--enable-source-maps) and without source maps.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { ROUTES, SCHEDULED_JOBS } from '../../lambdas/routes';
import { median, round } from '../support/stats';

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);

async function bundle(entry: string, outfile: string): Promise<number> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    sourcemap: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.js'));
  return output?.[1].bytes ?? 0;
}

/**
 * CPU milliseconds `require()` of the file takes in a fresh process. CPU time rather than wall
 * time: on a shared machine other processes stretch wall time, but not the work done.
 */
async function initMs(file: string, sourceMaps: boolean): Promise<number> {
  const script = `const c=process.cpuUsage();require(${JSON.stringify(file)});const u=process.cpuUsage(c);process.stdout.write(String((u.user+u.system)/1000))`;
  const env = { ...process.env, NODE_OPTIONS: sourceMaps ? '--enable-source-maps' : '' };
  const { stdout } = await run(process.execPath, ['-e', script], { env });
  return Number(stdout);
}

export async function measureBundles(runs = 9) {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-bundles-'));
  try {
    const baselineEntry = path.join(dir, 'baseline-entry.ts');
    await writeFile(
      baselineEntry,
      `import { DynamoDBClient, GetItemCommand } from '${path.join(ROOT, 'node_modules/@aws-sdk/client-dynamodb')}';
const client = new DynamoDBClient({});
export const handler = async () => client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } }));
`,
    );
    const specs = [{ name: 'baseline', entry: baselineEntry }, ...ROUTES, ...SCHEDULED_JOBS];
    const files = new Map<string, string>();
    const bytes: Record<string, number> = {};
    for (const spec of specs) {
      const outfile = path.join(dir, spec.name, 'index.js');
      bytes[spec.name] = await bundle(spec.entry, outfile);
      files.set(spec.name, outfile);
    }
    const samples = { withMaps: new Map<string, number[]>(), withoutMaps: new Map<string, number[]>() };
    for (let i = 0; i < runs; i++) {
      for (const [name, file] of files) {
        for (const [mode, maps] of [
          ['withMaps', true],
          ['withoutMaps', false],
        ] as const) {
          const list = samples[mode].get(name) ?? [];
          list.push(await initMs(file, maps));
          samples[mode].set(name, list);
        }
      }
    }
    const medianOf = (mode: keyof typeof samples, name: string) => median(samples[mode].get(name) ?? []);
    const bundleKb: Record<string, number> = {};
    const initRatio: Record<string, number> = {};
    const initMsWithMaps: Record<string, number> = {};
    const initMsWithoutMaps: Record<string, number> = {};
    for (const name of files.keys()) {
      bundleKb[name] = round((bytes[name] ?? 0) / 1024, 1);
      initMsWithMaps[name] = round(medianOf('withMaps', name), 2);
      initMsWithoutMaps[name] = round(medianOf('withoutMaps', name), 2);
      if (name !== 'baseline') {
        initRatio[name] = round(medianOf('withMaps', name) / medianOf('withMaps', 'baseline'), 2);
      }
    }
    return {
      bundle_kb: bundleKb,
      init_ratio: initRatio,
      init_detail: {
        runs,
        method:
          'CPU time of require() of the bundle in a fresh node process, median; ratio against the baseline bundle, both with --enable-source-maps as deployed',
        median_ms_with_source_maps: initMsWithMaps,
        median_ms_without_source_maps: initMsWithoutMaps,
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
