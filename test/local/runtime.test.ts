/**
 * The local Lambda runtime with real child processes: handler resolution (CommonJS, ESM, nested,
 * callback style), the environment, context, one event per instance, warm reuse, timeouts,
 * crashes, faults, hot reload and idle reaping.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { InvokeResult } from '../../local/runtime/contract';
import { createFunctionRuntime, type LocalFunctionRuntime } from '../../local/runtime/index';
import { ACCOUNT, fixtureFunction, LogRecorder, REGION } from './runtime-helpers';

const okValue = (result: InvokeResult): unknown => {
  if (!result.ok)
    throw new Error(`invocation failed: ${result.kind} ${result.errorType}: ${result.errorMessage}`);
  return result.value;
};

const failure = (result: InvokeResult) => {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result;
};

const identity = (value: unknown) => value as { pid: number; invocations: number };

describe('local Lambda runtime', () => {
  const logs = new LogRecorder();
  let runtime: LocalFunctionRuntime;
  const faults = new Map<string, { killAfterMs?: number }>();
  const functions = [
    fixtureFunction('cjs', 'cjs', 'index.handler', {
      environment: { TABLE_NAME: 'answers', STAGE: 'local' },
    }),
    fixtureFunction('env', 'cjs', 'index.handler', {
      environment: { TABLE_NAME: 'answers', NODE_OPTIONS: '--enable-source-maps' },
    }),
    fixtureFunction('callback', 'cjs', 'index.callbackHandler'),
    fixtureFunction('nested', 'cjs', 'src/app.nested.handler'),
    fixtureFunction('module-type', 'esm-module-type', 'handler.handler'),
    fixtureFunction('bundling-mistake', 'bundling-mistake', 'index.handler'),
    fixtureFunction('missing-export', 'cjs', 'index.nothing'),
    fixtureFunction('concurrency', 'cjs', 'index.handler'),
    fixtureFunction('timeout', 'cjs', 'index.handler', { timeoutSeconds: 1 }),
    fixtureFunction('crash', 'cjs', 'index.handler'),
    fixtureFunction('small', 'cjs', 'index.handler', { memoryMb: 64 }),
    fixtureFunction('errors', 'cjs', 'index.handler'),
    fixtureFunction('faults', 'cjs', 'index.handler'),
    fixtureFunction('python', 'cjs', 'index.handler', { runtime: 'python3.12' }),
    fixtureFunction('no-code', 'no-such-folder', 'index.handler'),
  ];

  beforeAll(() => {
    process.env.RUNTIME_TEST_PARENT_ONLY = 'must not leak';
    runtime = createFunctionRuntime({
      functions,
      region: REGION,
      accountId: ACCOUNT,
      servicesEndpoint: 'http://127.0.0.1:4999',
      identityFor: (functionId) => ({
        accessKeyId: `AKID${functionId.length}`,
        secretAccessKey: `secret-for-${functionId}`,
      }),
      log: logs.log,
      onInvoke: (call) => faults.get(call.functionId),
    });
  });

  afterAll(async () => {
    delete process.env.RUNTIME_TEST_PARENT_ONLY;
    await runtime.stop();
  });

  it('runs a CommonJS handler and logs its output with the function name and request id', async () => {
    const result = await runtime.invoke('RuntimeTest/cjs', { action: 'log' });
    expect(okValue(result)).toBe('logged');
    expect(result.coldStart).toBe(true);
    expect(result.initDurationMs).toBeGreaterThan(0);
    const started = await logs.waitFor(/^\[RuntimeTest-cjs\] START RequestId: /);
    const requestId = started.split(' ')[3] ?? '';
    await logs.waitFor(
      new RegExp(`^\\[RuntimeTest-cjs\\] \\S+Z\\t${requestId}\\tINFO\\thello from RuntimeTest-cjs$`),
    );
    await logs.waitFor(
      new RegExp(`^\\[RuntimeTest-cjs\\] REPORT RequestId: ${requestId}\\t.*Init Duration: `),
    );
  });

  it('resolves nested handler paths, ESM by package type, and callback-style handlers', async () => {
    expect(okValue(await runtime.invoke('RuntimeTest/nested', {}))).toEqual({ from: 'src/app.js' });
    expect(okValue(await runtime.invoke('RuntimeTest/module-type', {}))).toEqual({ format: 'esm' });
    expect(okValue(await runtime.invoke('RuntimeTest/callback', {}))).toEqual({ via: 'callback' });
    const failed = failure(await runtime.invoke('RuntimeTest/callback', { fail: true }));
    expect(failed).toMatchObject({ kind: 'error', errorType: 'Error', errorMessage: 'callback failure' });
  });

  it('refuses what a Lambda sandbox would: a handler not exported, a package the bundle left out', async () => {
    expect(failure(await runtime.invoke('RuntimeTest/missing-export', {}))).toMatchObject({
      kind: 'error',
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.nothing is undefined or not exported',
    });
    // jose is in the emulator's node_modules, above the fixture folder; AWS has nothing above /var/task.
    const esm = failure(await runtime.invoke('RuntimeTest/bundling-mistake', {}));
    expect(esm).toMatchObject({ kind: 'error', errorType: 'Runtime.ImportModuleError' });
    expect(esm.errorMessage).toContain("'jose'");
    const cjs = failure(await runtime.invoke('RuntimeTest/cjs', { action: 'require', name: 'jose' }));
    expect(cjs.errorMessage).toContain("Cannot find module 'jose'");
    // The SDK clients handlers commonly import are there, as the Lambda runtime provides them.
    for (const name of [
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/util-dynamodb',
      '@aws-sdk/client-sqs',
      '@aws-sdk/client-sns',
      '@aws-sdk/client-s3',
      '@aws-sdk/client-eventbridge',
      '@aws-sdk/client-lambda',
      '@aws-sdk/client-sfn',
      '@aws-sdk/client-bedrock-runtime',
      '@aws-sdk/client-sts',
      '@aws-sdk/client-cognito-identity-provider',
    ]) {
      expect([name, okValue(await runtime.invoke('RuntimeTest/cjs', { action: 'require', name }))]).toEqual([
        name,
        'loaded',
      ]);
    }
  });

  it("gives the instance exactly the template's environment plus Lambda's, nothing of the parent's", async () => {
    const value = okValue(await runtime.invoke('RuntimeTest/env', { action: 'env' })) as {
      env: Record<string, string>;
      cwd: string;
      timezoneOffset: number;
    };
    const env = value.env;
    const definition = functions[1];
    expect(definition).toBeDefined();
    expect(env.RUNTIME_TEST_PARENT_ONLY).toBeUndefined();
    expect(env.POWERTOOLS_LOG_LEVEL).toBeUndefined();
    expect(env.HOME).toBeUndefined();
    expect(env).toMatchObject({
      TABLE_NAME: 'answers',
      NODE_OPTIONS: '--enable-source-maps',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_LAMBDA_FUNCTION_NAME: 'RuntimeTest-env',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/RuntimeTest-env',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_ACCESS_KEY_ID: `AKID${'RuntimeTest/env'.length}`,
      AWS_SECRET_ACCESS_KEY: 'secret-for-RuntimeTest/env',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4999',
      LAMBDA_TASK_ROOT: definition?.codeDir,
      _HANDLER: 'index.handler',
      TZ: ':UTC',
    });
    expect(env.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    const lambdaNames = new Set([
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
      'AWS_LAMBDA_FUNCTION_NAME',
      'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
      'AWS_LAMBDA_FUNCTION_VERSION',
      'AWS_LAMBDA_INITIALIZATION_TYPE',
      'AWS_LAMBDA_LOG_GROUP_NAME',
      'AWS_LAMBDA_LOG_STREAM_NAME',
      'AWS_EXECUTION_ENV',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_ENDPOINT_URL',
      'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
      'LAMBDA_TASK_ROOT',
      'LAMBDA_RUNTIME_DIR',
      '_HANDLER',
      'TZ',
      'LANG',
      'PATH',
      'NODE_PATH',
    ]);
    const unexpected = Object.keys(env).filter(
      (name) => !lambdaNames.has(name) && !(name in (definition?.environment ?? {})),
    );
    expect(unexpected).toEqual([]);
    expect(value.cwd).toBe(definition?.codeDir);
    expect(value.timezoneOffset).toBe(0);
  });

  it('passes a real context', async () => {
    const result = await runtime.invoke('RuntimeTest/cjs', { action: 'context' });
    const context = okValue(result) as Record<string, unknown>;
    expect(context).toMatchObject({
      functionName: 'RuntimeTest-cjs',
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:RuntimeTest-cjs`,
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/RuntimeTest-cjs',
    });
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.logStreamName).toMatch(/\[\$LATEST\][0-9a-f]{32}$/);
    expect(context.remainingMs).toBeGreaterThan(0);
    expect(context.remainingMs).toBeLessThanOrEqual(3000);
  });

  it('runs one event per instance: concurrent events cold-start a second instance, later ones reuse a warm one', async () => {
    const [first, second] = await Promise.all([
      runtime.invoke('RuntimeTest/concurrency', { action: 'sleep', ms: 300 }),
      runtime.invoke('RuntimeTest/concurrency', { action: 'sleep', ms: 300 }),
    ]);
    expect(first?.coldStart).toBe(true);
    expect(second?.coldStart).toBe(true);
    const pids = [
      identity(okValue(first as InvokeResult)).pid,
      identity(okValue(second as InvokeResult)).pid,
    ];
    expect(new Set(pids).size).toBe(2);
    expect(runtime.stats('RuntimeTest/concurrency')).toMatchObject({ instances: 2, idle: 2, coldStarts: 2 });

    const third = await runtime.invoke('RuntimeTest/concurrency', { action: 'identity' });
    expect(third.coldStart).toBe(false);
    expect(third.initDurationMs).toBeUndefined();
    const warm = identity(okValue(third));
    expect(pids).toContain(warm.pid);
    // Module state survives between invocations of one warm instance, as on Lambda.
    expect(warm.invocations).toBe(2);
  });

  it('times out as Lambda does: the invocation fails and the instance is discarded', async () => {
    const before = identity(okValue(await runtime.invoke('RuntimeTest/timeout', { action: 'identity' })));
    const timedOut = failure(await runtime.invoke('RuntimeTest/timeout', { action: 'sleep', ms: 10_000 }));
    expect(timedOut).toMatchObject({ kind: 'timeout', errorType: 'Sandbox.Timedout', coldStart: false });
    expect(timedOut.errorMessage).toMatch(/Task timed out after 1\.00 seconds$/);
    const after = await runtime.invoke('RuntimeTest/timeout', { action: 'identity' });
    expect(after.coldStart).toBe(true);
    expect(identity(okValue(after)).pid).not.toBe(before.pid);
  });

  it('fails the invocation with kind crash on process.exit or an uncaught exception, and replaces the instance', async () => {
    okValue(await runtime.invoke('RuntimeTest/crash', { action: 'identity' }));
    const exited = failure(await runtime.invoke('RuntimeTest/crash', { action: 'exit' }));
    expect(exited).toMatchObject({ kind: 'crash', errorType: 'Runtime.ExitError', coldStart: false });
    expect(exited.errorMessage).toContain('exit status 3');

    const uncaught = failure(await runtime.invoke('RuntimeTest/crash', { action: 'uncaught' }));
    expect(uncaught).toMatchObject({
      kind: 'crash',
      errorType: 'RangeError',
      errorMessage: 'uncaught on purpose',
      coldStart: true,
    });
    expect((await runtime.invoke('RuntimeTest/crash', { action: 'identity' })).coldStart).toBe(true);
  });

  it("sizes the heap from the function's memory: a handler that outgrows it crashes its instance", async () => {
    const hog = failure(await runtime.invoke('RuntimeTest/small', { action: 'hog' }));
    expect(hog).toMatchObject({ kind: 'crash', errorType: 'Runtime.ExitError' });
    expect((await runtime.invoke('RuntimeTest/small', { action: 'identity' })).coldStart).toBe(true);
  });

  it('keeps the instance warm when the handler throws', async () => {
    const thrown = failure(await runtime.invoke('RuntimeTest/errors', { action: 'throw' }));
    expect(thrown).toMatchObject({
      kind: 'error',
      errorType: 'TypeError',
      errorMessage: 'thrown on purpose',
    });
    expect((await runtime.invoke('RuntimeTest/errors', { action: 'identity' })).coldStart).toBe(false);
    // A result JSON cannot carry fails as Lambda fails it, and the instance stays usable.
    expect(failure(await runtime.invoke('RuntimeTest/errors', { action: 'bigint' }))).toMatchObject({
      kind: 'error',
      errorType: 'Runtime.MarshalError',
    });
    expect((await runtime.invoke('RuntimeTest/errors', { action: 'identity' })).coldStart).toBe(false);
  });

  it('lets chaos tests kill an instance mid-invocation, by hook or by call', async () => {
    faults.set('RuntimeTest/faults', { killAfterMs: 50 });
    const byHook = failure(await runtime.invoke('RuntimeTest/faults', { action: 'sleep', ms: 2000 }));
    faults.delete('RuntimeTest/faults');
    expect(byHook).toMatchObject({ kind: 'crash', errorType: 'Runtime.ExitError' });
    expect(byHook.errorMessage).toContain('signal: killed');

    const running = runtime.invoke('RuntimeTest/faults', { action: 'sleep', ms: 2000 });
    while (runtime.stats('RuntimeTest/faults').busy === 0)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(runtime.kill('RuntimeTest/faults')).toBe(1);
    expect(failure(await running).kind).toBe('crash');

    // An event whose instance is still starting is held by it too.
    const starting = runtime.invoke('RuntimeTest/faults', { action: 'identity' });
    expect(runtime.stats('RuntimeTest/faults').busy).toBe(0);
    expect(runtime.kill('RuntimeTest/faults')).toBe(1);
    expect(failure(await starting)).toMatchObject({ kind: 'crash', coldStart: true });

    // 'one' fails a single sandbox: of two concurrent events, one crashes and the other completes.
    const pair = [1, 2].map(() => runtime.invoke('RuntimeTest/faults', { action: 'sleep', ms: 1500 }));
    while (runtime.stats('RuntimeTest/faults').busy < 2)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(runtime.kill('RuntimeTest/faults', 'one')).toBe(1);
    const outcomes = await Promise.all(pair);
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(1);
    expect(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.kind)).sort()).toEqual(['crash', 'ok']);
  });

  it('refuses runtimes it cannot run, unknown functions and a missing code folder', async () => {
    expect(failure(await runtime.invoke('RuntimeTest/python', {}))).toMatchObject({
      kind: 'error',
      errorType: 'Runtime.InvalidRuntime',
    });
    await expect(runtime.invoke('RuntimeTest/nope', {})).rejects.toThrow(/unknown function/);
    expect(() =>
      createFunctionRuntime({
        functions: [functions[0], functions[0]].flatMap((f) => (f ? [f] : [])),
        region: REGION,
      }),
    ).toThrow(/two functions have the id RuntimeTest\/cjs/);
    const missing = failure(await runtime.invoke('RuntimeTest/no-code', {}));
    expect(missing).toMatchObject({ kind: 'error', errorType: 'Runtime.StartError' });
    expect(missing.errorMessage).toContain('ENOENT');
  });
});

describe('local Lambda runtime: reload, queueing and reaping', () => {
  const folders: string[] = [];
  const versionFolder = (version: string): string => {
    const folder = mkdtempSync(path.join(tmpdir(), 'runtime-reload-'));
    folders.push(folder);
    writeFileSync(
      path.join(folder, 'index.js'),
      `exports.handler = async (event) => {
        if (event.ms) await new Promise((resolve) => setTimeout(resolve, event.ms));
        return { version: '${version}', pid: process.pid };
      };\n`,
    );
    return folder;
  };

  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it('reloads: a busy instance finishes on the old code, idle ones retire, new events run the new code', async () => {
    const runtime = createFunctionRuntime({
      functions: [fixtureFunction('reload', versionFolder('v1'), 'index.handler')],
      region: REGION,
      log: () => {},
    });
    try {
      const [busyOld, idleOld] = await Promise.all([
        runtime.invoke('RuntimeTest/reload', { ms: 150 }),
        runtime.invoke('RuntimeTest/reload', {}),
      ]);
      expect(okValue(busyOld as InvokeResult)).toMatchObject({ version: 'v1' });
      expect(okValue(idleOld as InvokeResult)).toMatchObject({ version: 'v1' });

      const stillRunning = runtime.invoke('RuntimeTest/reload', { ms: 400 });
      while (runtime.stats('RuntimeTest/reload').busy === 0)
        await new Promise((resolve) => setTimeout(resolve, 10));
      await runtime.reload('RuntimeTest/reload', versionFolder('v2'));
      expect(runtime.stats('RuntimeTest/reload')).toMatchObject({ instances: 1, busy: 1, idle: 0 });

      const fresh = await runtime.invoke('RuntimeTest/reload', {});
      expect(fresh.coldStart).toBe(true);
      expect(okValue(fresh)).toMatchObject({ version: 'v2' });
      expect(okValue(await stillRunning)).toMatchObject({ version: 'v1' });
      expect(runtime.stats('RuntimeTest/reload')).toMatchObject({ instances: 1, idle: 1 });
    } finally {
      await runtime.stop();
    }
  });

  it('fails the event when the init phase fails: a throw, an exit, or running past initTimeoutMs', async () => {
    const runtime = createFunctionRuntime({
      functions: [
        fixtureFunction('init-throws', 'init-failures', 'throws.handler'),
        fixtureFunction('init-exits', 'init-failures', 'exits.handler'),
        fixtureFunction('init-hangs', 'init-failures', 'hangs.handler'),
        fixtureFunction('init-missing-sdk', 'init-failures', 'missing-sdk-client.handler'),
      ],
      region: REGION,
      log: () => {},
      initTimeoutMs: 1500,
    });
    try {
      const [throws, exits, hangs, missingSdk] = await Promise.all([
        runtime.invoke('RuntimeTest/init-throws', {}),
        runtime.invoke('RuntimeTest/init-exits', {}),
        runtime.invoke('RuntimeTest/init-hangs', {}),
        runtime.invoke('RuntimeTest/init-missing-sdk', {}),
      ]);
      // An SDK client the local stack does not install: Lambda would load it, so the error says how.
      const missing = failure(missingSdk as InvokeResult);
      expect(missing).toMatchObject({ kind: 'error', errorType: 'Runtime.ImportModuleError' });
      expect(missing.errorMessage).toContain("'@aws-sdk/client-iot'");
      expect(missing.errorMessage).toContain('npm install @aws-sdk/client-iot');
      expect(failure(throws as InvokeResult)).toMatchObject({
        kind: 'error',
        errorType: 'Error',
        errorMessage: 'TABLE_NAME is not set',
        coldStart: true,
      });
      expect(failure(exits as InvokeResult)).toMatchObject({ kind: 'crash', errorType: 'Runtime.ExitError' });
      expect(failure(hangs as InvokeResult)).toMatchObject({
        kind: 'timeout',
        errorType: 'Sandbox.Timedout',
      });
      // A failed init leaves no instance behind; the next event tries a fresh one.
      expect(runtime.stats('RuntimeTest/init-throws').instances).toBe(0);
    } finally {
      await runtime.stop();
    }
  });

  it('queues events beyond maxInstancesPerFunction and reaps idle instances', async () => {
    const runtime = createFunctionRuntime({
      functions: [fixtureFunction('capped', versionFolder('v1'), 'index.handler')],
      region: REGION,
      log: () => {},
      maxInstancesPerFunction: 1,
      idleTimeoutMs: 200,
    });
    try {
      const [first, second] = await Promise.all([
        runtime.invoke('RuntimeTest/capped', { ms: 100 }),
        runtime.invoke('RuntimeTest/capped', { ms: 100 }),
      ]);
      expect(first?.coldStart).toBe(true);
      expect(second?.coldStart).toBe(false);
      expect(runtime.stats('RuntimeTest/capped')).toMatchObject({
        instances: 1,
        coldStarts: 1,
        invocations: 2,
      });
      const deadline = Date.now() + 3000;
      while (runtime.stats('RuntimeTest/capped').instances > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(runtime.stats('RuntimeTest/capped').instances).toBe(0);
    } finally {
      await runtime.stop();
    }
    expect(failure(await runtime.invoke('RuntimeTest/capped', {})).errorType).toBe('Runtime.Stopped');
  });
});
