/**
 * The project's own cloud assembly, synthesized by the CDK toolkit (`cdk synth -o <dir>`) and
 * cached by a content hash of everything synthesis reads (bin/, lib/, lambdas/, protocol/,
 * package-lock.json, cdk.json) plus the region: a restart with nothing changed reuses the
 * assembly, bundles included, and skips synthesis altogether.
 *
 * Several processes may start at once (parallel test files): one synthesizes under a lock
 * (`<key>.lock`, a folder holding the owner's pid), the others wait for its result; a lock whose
 * process died is taken over. The assembly is written to a temporary folder and renamed into
 * place, so a half-written assembly is never used.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isRunning } from '../data-lock';

export const SYNTH_INPUTS = ['bin', 'lib', 'lambdas', 'protocol', 'package-lock.json', 'cdk.json'] as const;

export interface SynthCacheOptions {
  /** The project root (where cdk.json is). */
  readonly rootDir: string;
  /** @default '<rootDir>/.local-cache/assemblies' */
  readonly cacheDir?: string;
  /** The region the CLI synthesizes for (env-agnostic parts resolve in it). @default 'us-east-1' */
  readonly region?: string;
  /** How many assemblies to keep. @default 3 */
  readonly keep?: number;
  /** @default 180000 */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface CachedAssembly {
  readonly dir: string;
  readonly key: string;
  /** false when this call synthesized it. */
  readonly cached: boolean;
  readonly elapsedMs: number;
}

async function filesUnder(root: string, relative: string, into: string[]): Promise<void> {
  const full = path.join(root, relative);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(full);
  } catch {
    return;
  }
  if (info.isFile()) {
    into.push(relative);
    return;
  }
  if (!info.isDirectory()) return;
  for (const entry of await readdir(full)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    await filesUnder(root, path.join(relative, entry), into);
  }
}

/** The content hash of the synthesis inputs (paths relative to `rootDir`, folders walked). */
export async function synthInputsKey(
  rootDir: string,
  region: string,
  inputs: readonly string[] = SYNTH_INPUTS,
): Promise<string> {
  const files: string[] = [];
  for (const input of inputs) await filesUnder(rootDir, input, files);
  files.sort();
  const hash = createHash('sha256').update(`region=${region}\n`);
  for (const file of files) {
    hash.update(`${file}\n`);
    hash.update(await readFile(path.join(rootDir, file)));
  }
  return hash.digest('hex').slice(0, 24);
}

async function takeLock(lock: string): Promise<boolean> {
  try {
    await mkdir(lock);
    await writeFile(path.join(lock, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number.parseInt(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && !isRunning(holder)) {
      await rm(lock, { recursive: true, force: true });
      return takeLock(lock);
    }
    return false;
  }
}

function synthesizeWithCli(
  rootDir: string,
  outDir: string,
  region: string,
  timeoutMs: number,
): Promise<void> {
  const cli = path.join(rootDir, 'node_modules', 'aws-cdk', 'bin', 'cdk');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [cli, 'synth', '--quiet', '--output', outDir],
      {
        cwd: rootDir,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          ...process.env,
          CDK_DISABLE_VERSION_CHECK: '1',
          AWS_REGION: region,
          AWS_DEFAULT_REGION: region,
          // No account lookups: nothing here has (or should use) credentials.
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
      (error, _stdout, stderr) => {
        if (error) reject(new Error(`cdk synth failed: ${error.message}\n${stderr.slice(-4000)}`));
        else resolve();
      },
    );
  });
}

async function prune(cacheDir: string, keep: number, current: string): Promise<void> {
  const entries = await readdir(cacheDir).catch(() => [] as string[]);
  const assemblies: { name: string; mtime: number }[] = [];
  for (const name of entries) {
    if (!/^[0-9a-f]{24}$/.test(name) || name === current) continue;
    const info = await stat(path.join(cacheDir, name)).catch(() => undefined);
    if (info) assemblies.push({ name, mtime: info.mtimeMs });
  }
  assemblies.sort((a, b) => b.mtime - a.mtime);
  for (const old of assemblies.slice(Math.max(0, keep - 1))) {
    await rm(path.join(cacheDir, old.name), { recursive: true, force: true });
  }
}

/** The project's assembly for the current sources: from the cache, or synthesized now. */
export function ensureProjectAssembly(options: SynthCacheOptions): Promise<CachedAssembly> {
  const region = options.region ?? 'us-east-1';
  return ensureCachedAssembly({
    ...options,
    inputs: SYNTH_INPUTS,
    synthesize: (outDir) => synthesizeWithCli(options.rootDir, outDir, region, options.timeoutMs ?? 180_000),
  });
}

/**
 * Any app's assembly, cached by the content of `inputs` (relative to `rootDir`): `synthesize`
 * writes a whole assembly into the folder it is given.
 */
export async function ensureCachedAssembly(
  options: SynthCacheOptions & {
    readonly inputs: readonly string[];
    readonly synthesize: (outDir: string) => Promise<void>;
  },
): Promise<CachedAssembly> {
  const started = Date.now();
  const region = options.region ?? 'us-east-1';
  const cacheDir = options.cacheDir ?? path.join(options.rootDir, '.local-cache', 'assemblies');
  const key = await synthInputsKey(options.rootDir, region, options.inputs);
  const dir = path.join(cacheDir, key);
  const done = (cached: boolean): CachedAssembly => ({ dir, key, cached, elapsedMs: Date.now() - started });
  if (existsSync(path.join(dir, 'manifest.json'))) return done(true);

  await mkdir(cacheDir, { recursive: true });
  const lock = path.join(cacheDir, `${key}.lock`);
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  while (!(await takeLock(lock))) {
    if (existsSync(path.join(dir, 'manifest.json'))) return done(true);
    if (Date.now() > deadline) throw new Error(`timed out waiting for another process to synthesize ${dir}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  try {
    if (existsSync(path.join(dir, 'manifest.json'))) return done(true);
    options.log?.(`synthesizing the app (cdk synth; cached as ${path.relative(options.rootDir, dir)})...`);
    const temporary = path.join(cacheDir, `${key}.tmp-${process.pid}`);
    await rm(temporary, { recursive: true, force: true });
    await options.synthesize(temporary);
    await rm(dir, { recursive: true, force: true });
    await rename(temporary, dir);
    await prune(cacheDir, options.keep ?? 3, key);
    return done(false);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
