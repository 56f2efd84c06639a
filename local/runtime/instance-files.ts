/**
 * The files an instance runs from, prepared once per emulator process: the instance-side code
 * bundled into plain JavaScript (so instances start with bare `node`, without a TypeScript loader
 * in the function's process), and a folder whose node_modules links the SDK packages the Lambda
 * Node.js runtime provides to this project's own copies; and, per list of layers, the folder a
 * function sees as /opt. Cached by content under node_modules/.cache; written to a temporary
 * folder and renamed so parallel test workers agree.
 */
import { execFileSync } from 'node:child_process';
import { createHash, type Hash, randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { RUNTIME_PACKAGE_SCOPES } from './instance-side/runtime-packages';

export interface InstanceFiles {
  /** The instance's entry point (CommonJS). */
  readonly mainPath: string;
  /** Holds `node_modules/<scope>` links to the SDK packages; NODE_PATH and the ESM hooks use it. */
  readonly sdkRoot: string;
}

const projectRoot = path.resolve(__dirname, '..', '..');
const instanceSideDir = path.join(__dirname, 'instance-side');

const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

let prepared: InstanceFiles | undefined;

export function instanceFiles(): InstanceFiles {
  prepared ??= prepare();
  return prepared;
}

function prepare(): InstanceFiles {
  const emulatorModules = path.join(projectRoot, 'node_modules');
  const scopes = RUNTIME_PACKAGE_SCOPES.filter((scope) => existsSync(path.join(emulatorModules, scope)));
  // This file too: it decides how the others are bundled.
  const sources = [
    __filename,
    path.join(__dirname, 'protocol.ts'),
    ...readdirSync(instanceSideDir).map((f) => path.join(instanceSideDir, f)),
  ]
    .filter((file) => file.endsWith('.ts'))
    .sort();
  const hash = createHash('sha256');
  for (const file of sources) hash.update(file).update(readFileSync(file));
  hash.update(emulatorModules).update(scopes.join(','));
  const cacheDir = path.join(emulatorModules, '.cache', 'local-lambda-runtime');
  const finalDir = path.join(cacheDir, hash.digest('hex').slice(0, 16));
  const files = { mainPath: path.join(finalDir, 'main.cjs'), sdkRoot: path.join(finalDir, 'sdk') };
  if (existsSync(files.mainPath)) return files;

  const workDir = path.join(cacheDir, `.tmp-${randomUUID()}`);
  mkdirSync(path.join(workDir, 'sdk', 'node_modules'), { recursive: true });
  const bundle = (entry: string, outName: string, format: 'cjs' | 'esm') => {
    const result = buildSync({
      entryPoints: [path.join(instanceSideDir, entry)],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format,
      write: false,
      logLevel: 'silent',
    });
    const output = result.outputFiles[0];
    if (!output) throw new Error(`esbuild produced no output for ${entry}`);
    writeFileSync(path.join(workDir, outName), output.contents);
  };
  bundle('main.ts', 'main.cjs', 'cjs');
  bundle('sdk-resolve-hooks.ts', 'sdk-resolve-hooks.mjs', 'esm');
  for (const scope of scopes) {
    symlinkSync(path.join(emulatorModules, scope), path.join(workDir, 'sdk', 'node_modules', scope), 'dir');
  }
  try {
    renameSync(workDir, finalDir);
  } catch (error) {
    // Another process won the race with identical content.
    rmSync(workDir, { recursive: true, force: true });
    if (!existsSync(files.mainPath)) throw error;
  }
  pruneStale(cacheDir, path.basename(finalDir));
  return files;
}

/** Merged layer folders by the list of layers they hold (one merge per list and emulator process). */
const mergedLayers = new Map<string, string>();

/**
 * What a function with these layers sees as /opt. One layer folder is used as is; several (or a
 * zipped one) are merged into node_modules/.cache/local-lambda-layers, each copied (or unzipped)
 * over the ones before it in list order, as Lambda extracts them, so a later layer's file wins.
 * The merge is keyed by every file's path, size and modification time, so an edited layer is
 * merged afresh on the next start. A layer that no longer exists is left out.
 */
export function layerRoot(layers: readonly string[] | undefined): string | undefined {
  if (!layers || layers.length === 0) return undefined;
  const [only] = layers;
  if (layers.length === 1 && only !== undefined && !isZip(only)) return only;
  const list = layers.join('\n');
  const known = mergedLayers.get(list);
  if (known) return known;
  const present = layers.filter((layer) => existsSync(layer));
  const hash = createHash('sha256');
  for (const layer of present) fingerprint(layer, hash);
  const key = hash.digest('hex').slice(0, 16);
  const cacheDir = path.join(projectRoot, 'node_modules', '.cache', 'local-lambda-layers');
  const finalDir = path.join(cacheDir, key);
  if (existsSync(finalDir)) {
    // Used again: not stale for another emulator's pruning.
    const now = new Date();
    utimesSync(finalDir, now, now);
  } else {
    const workDir = path.join(cacheDir, `.tmp-${randomUUID()}`);
    mkdirSync(workDir, { recursive: true });
    for (const layer of present) {
      if (isZip(layer)) execFileSync('unzip', ['-q', '-o', layer, '-d', workDir]);
      else cpSync(layer, workDir, { recursive: true, force: true });
    }
    try {
      renameSync(workDir, finalDir);
    } catch (error) {
      rmSync(workDir, { recursive: true, force: true });
      if (!existsSync(finalDir)) throw error;
    }
    pruneStale(cacheDir, key);
  }
  mergedLayers.set(list, finalDir);
  return finalDir;
}

function fingerprint(file: string, hash: Hash): void {
  const info = lstatSync(file);
  hash.update(`${file}\0${info.size}\0${info.mtimeMs}\n`);
  if (!info.isDirectory()) return;
  for (const entry of readdirSync(file).sort()) fingerprint(path.join(file, entry), hash);
}

function isZip(file: string): boolean {
  return /\.zip$/i.test(file);
}

/** Builds of earlier sources (and abandoned temporary folders), once no running emulator can still use them. */
function pruneStale(cacheDir: string, current: string): void {
  const staleBefore = Date.now() - STALE_AFTER_MS;
  for (const name of readdirSync(cacheDir)) {
    if (name === current) continue;
    const folder = path.join(cacheDir, name);
    try {
      if (statSync(folder).mtimeMs < staleBefore) rmSync(folder, { recursive: true, force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}
