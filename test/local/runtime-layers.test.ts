/**
 * Layers in the local Lambda runtime, with real child processes: what a function with layers sees
 * as /opt and on NODE_PATH, for require() and import, in Lambda's precedence (the runtime's
 * node<major> folder before the shared one, a later layer's files over an earlier one's, a zipped
 * layer unpacked); and what it must not see (node_modules above the layer, /opt without layers).
 * The layers live under the project's .local-cache, so the project's node_modules is above them,
 * as it is above an assembly's asset folders.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { InvokeResult } from '../../local/runtime/contract';
import { createFunctionRuntime, type LocalFunctionRuntime } from '../../local/runtime/index';
import { layerRoot } from '../../local/runtime/instance-files';
import { ACCOUNT, fixtureFunction, REGION } from './runtime-helpers';

const ROOT = path.resolve(__dirname, '..', '..');

function write(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

const answer = (result: InvokeResult): unknown => {
  if (!result.ok) throw new Error(`invocation failed: ${result.errorType}: ${result.errorMessage}`);
  return result.value;
};

const failure = (result: InvokeResult) => {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result;
};

describe('local Lambda runtime: layers', () => {
  let dir: string;
  let runtime: LocalFunctionRuntime;

  beforeAll(() => {
    mkdirSync(path.join(ROOT, '.local-cache'), { recursive: true });
    dir = mkdtempSync(path.join(ROOT, '.local-cache', 'runtime-layers-'));
    const first = path.join(dir, 'first');
    write(path.join(first, 'nodejs/node_modules/pick/index.js'), "exports.from = 'first, shared folder';");
    write(
      path.join(first, 'nodejs/node24/node_modules/pick/index.js'),
      "exports.from = 'first, node24 folder';",
    );
    write(path.join(first, 'nodejs/who.js'), "exports.from = 'first';");
    write(path.join(first, 'nodejs/who.mjs'), "export const from = 'first';");
    // The emulator's node_modules (with jose) is above this folder; /opt has nothing above it.
    write(path.join(first, 'nodejs/leaky.js'), "module.exports = require('jose');");
    write(
      path.join(first, 'nodejs/node_modules/esm-pick/package.json'),
      JSON.stringify({ name: 'esm-pick', type: 'module', exports: './index.js' }),
    );
    write(
      path.join(first, 'nodejs/node_modules/esm-pick/index.js'),
      "export const from = 'first, ES module';",
    );
    const second = path.join(dir, 'second');
    write(path.join(second, 'nodejs/node_modules/pick/index.js'), "exports.from = 'second, shared folder';");
    write(path.join(second, 'nodejs/who.js'), "exports.from = 'second';");
    execFileSync('zip', ['-q', '-r', path.join(dir, 'second.zip'), 'nodejs'], { cwd: second });

    const handlers = path.join(dir, 'handlers');
    write(path.join(handlers, 'index.js'), 'exports.handler = async (event) => require(event.name).from;\n');
    write(
      path.join(handlers, 'esm.mjs'),
      'export const handler = async (event) => {\n  const loaded = await import(event.name);\n  return loaded.from ?? loaded.default?.from ?? "loaded";\n};\n',
    );
    const layers = [first, path.join(dir, 'second.zip')];
    runtime = createFunctionRuntime({
      functions: [
        fixtureFunction('two-on-24', handlers, 'index.handler', { runtime: 'nodejs24.x', layers }),
        fixtureFunction('two-on-22', handlers, 'index.handler', { runtime: 'nodejs22.x', layers }),
        fixtureFunction('esm', handlers, 'esm.handler', { runtime: 'nodejs22.x', layers: [first] }),
        fixtureFunction('none', handlers, 'index.handler'),
        fixtureFunction('esm-none', handlers, 'esm.handler'),
      ],
      region: REGION,
      accountId: ACCOUNT,
      log: () => {},
      lifecycleLogs: false,
    });
  });

  afterAll(async () => {
    await runtime?.stop();
    if (!dir) return;
    // The merged /opt of this run's layers is keyed by their paths, which no later run repeats.
    const merged = layerRoot([path.join(dir, 'first'), path.join(dir, 'second.zip')]);
    if (merged) rmSync(merged, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it("resolves a package from the runtime's node<major> folder first, then the shared one, a later layer winning there", async () => {
    expect(answer(await runtime.invoke('RuntimeTest/two-on-24', { name: 'pick' }))).toBe(
      'first, node24 folder',
    );
    expect(answer(await runtime.invoke('RuntimeTest/two-on-22', { name: 'pick' }))).toBe(
      'second, shared folder',
    );
  });

  it("leads /opt paths to the layers merged in list order (the zipped second layer's file over the first's)", async () => {
    expect(answer(await runtime.invoke('RuntimeTest/two-on-22', { name: '/opt/nodejs/who' }))).toBe('second');
    expect(answer(await runtime.invoke('RuntimeTest/esm', { name: '/opt/nodejs/who.mjs' }))).toBe('first');
    expect(answer(await runtime.invoke('RuntimeTest/esm', { name: 'file:///opt/nodejs/who.js' }))).toBe(
      'first',
    );
  });

  it('imports packages from the layers in an ES module, as the Node.js 18+ runtimes search NODE_PATH', async () => {
    expect(answer(await runtime.invoke('RuntimeTest/esm', { name: 'esm-pick' }))).toBe('first, ES module');
    expect(answer(await runtime.invoke('RuntimeTest/esm', { name: 'pick' }))).toBe('first, shared folder');
    // The runtime's SDK is still on the path after the layers.
    expect(answer(await runtime.invoke('RuntimeTest/esm', { name: '@aws-sdk/client-dynamodb' }))).toBe(
      'loaded',
    );
  });

  it('keeps code in a layer from packages above it, and /opt empty without layers', async () => {
    const leaky = failure(await runtime.invoke('RuntimeTest/two-on-22', { name: '/opt/nodejs/leaky' }));
    expect(leaky.errorMessage).toContain("Cannot find module 'jose'");
    expect(leaky.errorMessage).toContain('/opt/nodejs/leaky.js');
    const esmLeaky = failure(await runtime.invoke('RuntimeTest/esm', { name: 'jose' }));
    expect(esmLeaky.errorMessage).toContain("Cannot find package 'jose'");
    const none = failure(await runtime.invoke('RuntimeTest/none', { name: 'pick' }));
    expect(none.errorMessage).toContain("Cannot find module 'pick'");
    const noOpt = failure(await runtime.invoke('RuntimeTest/none', { name: '/opt/nodejs/who' }));
    expect(noOpt.errorMessage).toContain("Cannot find module '/opt/nodejs/who'");
    const esmNoOpt = failure(await runtime.invoke('RuntimeTest/esm-none', { name: '/opt/nodejs/who.mjs' }));
    expect(esmNoOpt.errorMessage).toMatch(/Cannot find module '\/opt\/nodejs\/who\.mjs'/);
  });
});
