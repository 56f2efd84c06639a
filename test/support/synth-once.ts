/**
 * jest globalSetup: synthesizes (or finds in the cache) the project's cloud assembly once, before
 * the test files start, so the stacks the e2e suites spawn in parallel start from the cache
 * instead of all waiting on one cold synthesis inside their beforeAll time limits.
 */
import * as path from 'node:path';
import { ensureProjectAssembly } from '../../local/app/synth-cache';
import { DEFAULT_IN_PROCESS } from '../../local/default-mode';

export default async function synthOnce(): Promise<void> {
  const mode = process.env.LOCAL_STACK_MODE;
  const inProcess = mode === 'in-process' ? true : mode === 'assembly' ? false : DEFAULT_IN_PROCESS;
  if (inProcess) return;
  const assembly = await ensureProjectAssembly({ rootDir: path.resolve(__dirname, '..', '..') });
  if (!assembly.cached)
    process.stderr.write(`\nsynthesized the app for the local stack in ${assembly.elapsedMs} ms\n`);
}
