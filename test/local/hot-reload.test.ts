/**
 * Hot reload: a change to a handler's source re-bundles the function that reads it (and only that
 * one), and the function runtime runs the new bundle on the next invocation.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { entryOf, type HotReload, startHotReload } from '../../local/app/hot-reload';
import type { LocalFunction } from '../../local/assembly/template';
import { createFunctionRuntime, type LocalFunctionRuntime } from '../../local/runtime';

const fn = (name: string, codeDir: string): LocalFunction => ({
  id: `Stack/${name}Function`,
  stackName: 'Stack',
  logicalId: `Backend${name}Function`,
  cdkPath: `Stack/Backend/${name}Function/Resource`,
  functionName: `stack-${name.toLowerCase()}`,
  arn: `arn:aws:lambda:us-east-1:000000000000:function:stack-${name.toLowerCase()}`,
  handler: 'index.handler',
  runtime: 'nodejs22.x',
  codeDir,
  code: { kind: 'folder', path: codeDir },
  timeoutSeconds: 5,
  memoryMb: 128,
  environment: {},
  policy: [],
});

function waitFor<T>(get: () => T | undefined, timeoutMs: number): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      const value = get();
      if (value !== undefined) return resolve(value);
      if (Date.now() - started > timeoutMs) return reject(new Error(`nothing within ${timeoutMs} ms`));
      setTimeout(poll, 25);
    };
    poll();
  });
}

describe('hot reload', () => {
  let root: string;
  let hot: HotReload | undefined;
  let runtime: LocalFunctionRuntime | undefined;
  const reloads: { functionId: string; codeDir: string }[] = [];

  const writeHandler = (file: string, version: string) =>
    writeFileSync(
      path.join(root, 'lambdas', 'handlers', file),
      `import { VERSION } from '../version';\nexport const handler = async () => ({ file: '${file}', version: VERSION, local: '${version}' });\n`,
    );

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'hot-reload-'));
    mkdirSync(path.join(root, 'lambdas', 'handlers'), { recursive: true });
    writeFileSync(path.join(root, 'lambdas', 'version.ts'), `export const VERSION = 'v1';\n`);
    writeHandler('connect.ts', 'a');
    writeHandler('auth.ts', 'a');
  });

  afterAll(async () => {
    await hot?.stop();
    await runtime?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('finds a function entry through its construct path and lambdas/routes.ts', () => {
    expect(entryOf(fn('Connect', '/x'))).toBe('lambdas/handlers/connect.ts');
    expect(entryOf(fn('Sweep', '/x'))).toBe('lambdas/handlers/sweep.ts');
    expect(entryOf({ ...fn('Connect', '/x'), cdkPath: 'Other/Thing/Resource' })).toBeUndefined();
  });

  it('re-bundles only the functions that read a changed file, and the runtime runs the new code', async () => {
    const functions = [fn('Connect', path.join(root, 'none')), fn('Auth', path.join(root, 'none'))];
    hot = startHotReload({
      rootDir: root,
      functions,
      outDir: path.join(root, 'out'),
      reload: async (functionId, codeDir) => {
        reloads.push({ functionId, codeDir });
        await runtime?.reload(functionId, codeDir);
      },
      log: () => {},
      debounceMs: 50,
    });
    expect((await hot.rebuild()).sort()).toEqual(['Stack/AuthFunction', 'Stack/ConnectFunction']);
    const first = reloads.find((r) => r.functionId === 'Stack/ConnectFunction');
    runtime = createFunctionRuntime({
      functions: functions.map((f) => ({ ...f, codeDir: first?.codeDir ?? '' })),
      region: 'us-east-1',
      log: () => {},
      lifecycleLogs: false,
    });
    const before = await runtime.invoke('Stack/ConnectFunction', {});
    expect(before).toMatchObject({ ok: true, value: { file: 'connect.ts', version: 'v1', local: 'a' } });

    // A file only connect.ts reads: only Connect is re-bundled.
    reloads.length = 0;
    writeHandler('connect.ts', 'b');
    await waitFor(() => reloads.find((r) => r.functionId === 'Stack/ConnectFunction'), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reloads.map((r) => r.functionId)).toEqual(['Stack/ConnectFunction']);
    expect(await runtime.invoke('Stack/ConnectFunction', {})).toMatchObject({
      ok: true,
      value: { version: 'v1', local: 'b' },
    });

    // A file both read: both are re-bundled.
    reloads.length = 0;
    writeFileSync(path.join(root, 'lambdas', 'version.ts'), `export const VERSION = 'v2';\n`);
    await waitFor(() => (reloads.length >= 2 ? reloads : undefined), 10_000);
    expect(reloads.map((r) => r.functionId).sort()).toEqual(['Stack/AuthFunction', 'Stack/ConnectFunction']);
    expect(await runtime.invoke('Stack/ConnectFunction', {})).toMatchObject({
      ok: true,
      value: { version: 'v2' },
    });
  }, 60_000);
});
