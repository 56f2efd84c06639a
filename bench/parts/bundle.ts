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

/**
 * Source maps as deployed (`sourcesContent` on, esbuild's default, which NodejsFunction keeps
 * unless told otherwise) or lean (`sourcesContent: false`: file and line mapping only).
 */
type MapStyle = 'full' | 'lean';

async function bundle(entry: string, outfile: string, maps: MapStyle): Promise<{ js: number; map: number }> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: maps === 'full',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  const size = (suffix: string) =>
    Object.entries(result.metafile.outputs).find(([file]) => file.endsWith(suffix))?.[1].bytes ?? 0;
  return { js: size('.js'), map: size('.js.map') };
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
    // Three ways to ship: maps with sources (deployed today), lean maps, and the flag off.
    const modes = {
      deployed: { maps: 'full', flag: true },
      lean_source_maps: { maps: 'lean', flag: true },
      no_source_maps: { maps: 'full', flag: false },
    } as const;
    const files = { full: new Map<string, string>(), lean: new Map<string, string>() };
    const sizes: Record<string, { js: number; map: number; leanMap: number }> = {};
    for (const spec of specs) {
      const full = path.join(dir, 'full', spec.name, 'index.js');
      const lean = path.join(dir, 'lean', spec.name, 'index.js');
      const fullSize = await bundle(spec.entry, full, 'full');
      const leanSize = await bundle(spec.entry, lean, 'lean');
      sizes[spec.name] = { js: fullSize.js, map: fullSize.map, leanMap: leanSize.map };
      files.full.set(spec.name, full);
      files.lean.set(spec.name, lean);
    }
    const samples = new Map<string, number[]>();
    for (let i = 0; i < runs; i++) {
      for (const spec of specs) {
        for (const [mode, how] of Object.entries(modes)) {
          const file = files[how.maps].get(spec.name) ?? '';
          const key = `${mode}:${spec.name}`;
          samples.set(key, [...(samples.get(key) ?? []), await initMs(file, how.flag)]);
        }
      }
    }
    const medianOf = (mode: string, name: string) => median(samples.get(`${mode}:${name}`) ?? []);
    const bundleKb: Record<string, number> = {};
    const initRatio: Record<string, number> = {};
    const detail: Record<string, Record<string, number>> = {};
    for (const mode of Object.keys(modes)) detail[`median_ms_${mode}`] = {};
    const kb = (bytes: number) => round(bytes / 1024, 1);
    const mapKb: Record<string, { full: number; lean: number }> = {};
    for (const { name } of specs) {
      const size = sizes[name] ?? { js: 0, map: 0, leanMap: 0 };
      bundleKb[name] = kb(size.js);
      mapKb[name] = { full: kb(size.map), lean: kb(size.leanMap) };
      for (const mode of Object.keys(modes)) {
        const row = detail[`median_ms_${mode}`];
        if (row) row[name] = round(medianOf(mode, name), 2);
      }
      if (name !== 'baseline') {
        initRatio[name] = round(medianOf('deployed', name) / medianOf('deployed', 'baseline'), 2);
      }
    }
    const ratios = (mode: string) =>
      Object.fromEntries(
        specs
          .filter((s) => s.name !== 'baseline')
          .map((s) => [s.name, round(medianOf(mode, s.name) / medianOf(mode, 'baseline'), 2)]),
      );
    return {
      bundle_kb: bundleKb,
      init_ratio: initRatio,
      init_detail: {
        runs,
        method:
          'CPU time of require() of the bundle in a fresh node process, median of interleaved runs; init_ratio: the function against the baseline bundled and run the same way, as deployed (source maps with sources, NODE_OPTIONS=--enable-source-maps)',
        source_map_kb: mapKb,
        ratio_lean_source_maps: ratios('lean_source_maps'),
        ratio_no_source_maps: ratios('no_source_maps'),
        ...detail,
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
