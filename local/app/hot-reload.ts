/**
 * Hot reload for the project's own functions: watches the sources the bundles are built from
 * (lambdas/, protocol/), and when a file changes re-bundles, with esbuild and the options the
 * construct gives NodejsFunction (CommonJS, minified, source maps, SDK bundled), every function
 * whose bundle read that file; then `reload` points the function at the new bundle. Instances
 * started after that run the new code; busy ones finish their event first; connections stay up.
 *
 * Which entry a function has comes from its construct path (`.../<Name>Function/Resource`) and
 * lambdas/routes.ts, the list the construct itself is built from.
 */
import { type FSWatcher, watch } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { build } from 'esbuild';
import { ROUTES, SCHEDULED_JOBS } from '../../lambdas/routes';
import { pascal } from '../../lib/names';
import type { LocalFunction } from '../assembly/template';

export interface HotReloadOptions {
  readonly rootDir: string;
  readonly functions: readonly LocalFunction[];
  /** Where new bundles are written (one folder per function and generation). */
  readonly outDir: string;
  readonly reload: (functionId: string, codeDir: string) => Promise<void>;
  readonly log: (line: string) => void;
  /** @default ['lambdas', 'protocol'] */
  readonly watchDirs?: readonly string[];
  /** @default 150 */
  readonly debounceMs?: number;
}

export interface HotReload {
  /** Re-bundles the functions whose bundle read one of `changedFiles` (absolute), or all when omitted. */
  rebuild(changedFiles?: readonly string[]): Promise<string[]>;
  stop(): Promise<void>;
}

/** The project's handler entry of a function, found through its construct path. */
export function entryOf(fn: LocalFunction): string | undefined {
  const construct = fn.cdkPath?.split('/').slice(-2, -1)[0];
  if (!construct) return undefined;
  return [...ROUTES, ...SCHEDULED_JOBS].find((spec) => `${pascal(spec.name)}Function` === construct)?.entry;
}

export function startHotReload(options: HotReloadOptions): HotReload {
  const targets = options.functions
    .map((fn) => ({ fn, entry: entryOf(fn) }))
    .filter((t): t is { fn: LocalFunction; entry: string } => t.entry !== undefined);
  const inputs = new Map<string, Set<string>>();
  let generation = 0;
  let queue: Promise<unknown> = Promise.resolve();

  const bundle = async (fn: LocalFunction, entry: string, gen: number): Promise<void> => {
    const outDir = path.join(options.outDir, fn.logicalId, String(gen));
    await mkdir(outDir, { recursive: true });
    const result = await build({
      entryPoints: [path.join(options.rootDir, entry)],
      outfile: path.join(outDir, 'index.js'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      minify: true,
      sourcemap: true,
      metafile: true,
      logLevel: 'silent',
    });
    inputs.set(
      fn.id,
      new Set(Object.keys(result.metafile.inputs).map((file) => path.resolve(options.rootDir, file))),
    );
    await options.reload(fn.id, outDir);
    // The previous generation may still serve a busy instance; older ones are gone by now.
    await rm(path.join(options.outDir, fn.logicalId, String(gen - 2)), { recursive: true, force: true });
  };

  const rebuild = (changedFiles?: readonly string[]): Promise<string[]> => {
    const run = async () => {
      const gen = ++generation;
      const chosen = targets.filter(
        ({ fn }) =>
          changedFiles === undefined ||
          !inputs.has(fn.id) ||
          changedFiles.some((file) => inputs.get(fn.id)?.has(file)),
      );
      const started = Date.now();
      try {
        await Promise.all(chosen.map(({ fn, entry }) => bundle(fn, entry, gen)));
        if (chosen.length > 0) {
          options.log(
            `hot reload: ${chosen.map(({ fn }) => fn.functionName).join(', ')} re-bundled in ${Date.now() - started} ms`,
          );
        }
      } catch (error) {
        options.log(
          `hot reload failed (the previous code keeps running): ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      return chosen.map(({ fn }) => fn.id);
    };
    const next = queue.then(run, run);
    queue = next;
    return next;
  };

  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const changed = new Set<string>();
  for (const dir of options.watchDirs ?? ['lambdas', 'protocol']) {
    const absolute = path.join(options.rootDir, dir);
    try {
      const watcher = watch(absolute, { recursive: true }, (_event, file) => {
        if (!file || !/\.(ts|js|mjs|cjs|json)$/.test(file)) return;
        changed.add(path.join(absolute, file.toString()));
        clearTimeout(timer);
        timer = setTimeout(() => {
          const files = [...changed];
          changed.clear();
          // Before a function's first re-bundle its inputs are unknown: it is rebuilt on any change.
          void rebuild(files);
        }, options.debounceMs ?? 150);
      });
      watchers.push(watcher);
    } catch (error) {
      options.log(
        `hot reload: cannot watch ${absolute}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  return {
    rebuild,
    async stop() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
      await queue.catch(() => {});
    },
  };
}
