/**
 * Builds the SDK package into client/dist: ESM and CommonJS bundles (the protocol module bundled
 * in, minified, no runtime dependencies) and type declarations. `types: []` in the declaration
 * build keeps Node's types out, so the SDK cannot lean on anything a browser lacks.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { build, type Format } from 'esbuild';

const clientDir = __dirname;
const dist = path.join(clientDir, 'dist');
const entries = {
  index: path.join(clientDir, 'index.ts'),
  protocol: path.join(clientDir, '..', 'protocol', 'index.ts'),
};
const outputs: { format: Format; extension: string }[] = [
  { format: 'esm', extension: '.mjs' },
  { format: 'cjs', extension: '.cjs' },
];

export async function buildClientPackage(): Promise<string> {
  rmSync(dist, { recursive: true, force: true });
  await Promise.all(
    outputs.map(({ format, extension }) =>
      build({
        entryPoints: entries,
        outdir: dist,
        outExtension: { '.js': extension },
        bundle: true,
        format,
        platform: 'neutral',
        // Browsers from 2020 on, and Node 20+.
        target: ['es2020', 'node20'],
        minify: true,
        legalComments: 'none',
        logLevel: 'warning',
      }),
    ),
  );
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(clientDir, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
  return dist;
}

if (require.main === module) {
  buildClientPackage().then(
    (dir) => console.log(`built ${path.relative(process.cwd(), dir)}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
