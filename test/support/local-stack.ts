/**
 * Starts the local stack (`local/start.ts`) in a child process, for end-to-end and browser tests.
 *
 *   const stack = await startLocalStackProcess({ authDeadlineSeconds: 1 });
 *   const ws = new WebSocket(`${stack.wsUrl}?test_id=demo`);
 *   const token = await stack.token('alice');
 *   ...
 *   await stack.stop();
 *
 * Why a child process: the handler modules read their environment once per process (a Lambda
 * cold start), so stacks with different settings cannot share one process. Each call gets its
 * own process, a random port and in-memory DynamoDB (`--memory`, unless `dataDir` is given), so test files can run in
 * parallel. The child stops when `stop()` is called, and also when this process dies (it
 * watches its stdin), so no stack outlives a test run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { ensureProjectAssembly } from '../../local/app/synth-cache';
import { DEFAULT_IN_PROCESS } from '../../local/default-mode';

export interface LocalStackProcessOptions {
  /** Close unauthenticated sockets after this many seconds. @default 30 */
  authDeadlineSeconds?: number;
  /** Idle timeout in seconds (fractions allowed). @default 600 */
  idleTimeoutSeconds?: number;
  /** Maximum connection age in seconds (fractions allowed). @default 7200 */
  maxConnectionSeconds?: number;
  /** How often the scheduled sweep runs. @default 5000 */
  sweepIntervalMs?: number;
  /** @default 'local' */
  stage?: string;
  /** Browser origins allowed to connect. @default any */
  allowedOrigins?: string[];
  /** Folder of test definitions. @default test-definitions */
  testDefinitionsDir?: string;
  /** @default 'local-dev-secret' */
  jwtSecret?: string;
  /**
   * Keep DynamoDB data on disk in this folder (to test persistence across restarts).
   * @default in memory
   */
  dataDir?: string;
  /** Extra environment variables for the child. */
  env?: Record<string, string>;
  /** @default 30000 */
  readyTimeoutMs?: number;
  /** Copy the child's output to this process's stderr as it comes (also: LOCAL_STACK_DEBUG=1). */
  echo?: boolean;
  /** Run this cloud assembly instead of the project's own (`--assembly`). */
  assembly?: string;
  /**
   * true: the handlers run in the stack's process (`--in-process`, the former mode); false: the
   * project's synthesized assembly runs (`--from-assembly`). @default LOCAL_STACK_MODE=in-process|assembly, else the stack's default
   */
  inProcess?: boolean;
  /** More flags for local/start.ts. */
  extraArgs?: string[];
}

export interface LocalStackProcess {
  /** e.g. ws://localhost:41234/local */
  readonly wsUrl: string;
  /** e.g. http://localhost:41234 */
  readonly httpUrl: string;
  /** The @connections endpoint, e.g. http://127.0.0.1:41234/local */
  readonly managementEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly tableNames: { connections: string; assessments: string; tests: string };
  readonly port: number;
  /** Every WebSocket API served (the first is `wsUrl`). */
  readonly apis: readonly {
    name: string;
    apiId: string;
    wsUrl: string;
    managementEndpoint: string;
    routes: string[];
  }[];
  /** The stack's process id (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  /** A token from the stack's dev endpoint (HS256, `sub` = userId). */
  token(userId: string, ttlSeconds?: number): Promise<string>;
  /** Everything the child printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** The child's exit code once it has exited (0 after a clean stop), else null. */
  exitCode(): number | null;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). Safe to call twice. */
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..', '..');

function flags(options: LocalStackProcessOptions): string[] {
  const args = ['--port', '0', '--json-ready', '--stop-on-stdin-end', '--no-hot-reload'];
  if (options.assembly !== undefined) args.push('--assembly', options.assembly);
  // LOCAL_STACK_MODE chooses how the project's own app runs; a foreign assembly always runs as one.
  const inProcess = options.inProcess ?? (options.assembly === undefined ? modeFromEnvironment() : undefined);
  if (inProcess === true) args.push('--in-process');
  if (inProcess === false && options.assembly === undefined) args.push('--from-assembly');
  args.push(...(options.extraArgs ?? []));
  if (options.dataDir === undefined) args.push('--memory');
  else args.push('--data-dir', options.dataDir);
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(`--${name}`, String(value));
  };
  add('auth-deadline-seconds', options.authDeadlineSeconds);
  add('idle-timeout-seconds', options.idleTimeoutSeconds);
  add('max-connection-seconds', options.maxConnectionSeconds);
  add('sweep-interval-ms', options.sweepIntervalMs);
  add('stage', options.stage);
  add('allowed-origins', options.allowedOrigins?.join(','));
  add('test-definitions-dir', options.testDefinitionsDir);
  add('jwt-secret', options.jwtSecret);
  return args;
}

function modeFromEnvironment(): boolean | undefined {
  const mode = process.env.LOCAL_STACK_MODE;
  return mode === 'in-process' ? true : mode === 'assembly' ? false : undefined;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startLocalStackProcess(
  options: LocalStackProcessOptions = {},
): Promise<LocalStackProcess> {
  const echo = options.echo ?? Boolean(process.env.LOCAL_STACK_DEBUG);
  // Synthesize (or find in the cache) here first: parallel test files then share one synthesis,
  // and the child's ready timeout measures the stack's start, not a cold synth.
  if (
    options.assembly === undefined &&
    (options.inProcess ?? modeFromEnvironment() ?? DEFAULT_IN_PROCESS) === false
  ) {
    await ensureProjectAssembly({ rootDir: ROOT });
  }
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'local', 'start.ts'), ...flags(options)],
    {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const record = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (echo) process.stderr.write(chunk);
  };
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  child.stdin?.on('error', () => {}); // the child may be gone already when we close it

  type Ready = {
    wsUrl: string;
    httpUrl: string;
    managementEndpoint: string;
    dynamodbEndpoint: string;
    tableNames: LocalStackProcess['tableNames'];
    port: number;
    apis: { name: string; apiId: string; wsUrl: string; managementEndpoint: string; routes: string[] }[];
  };
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{"localStackReady":true')) continue;
        finish();
        resolve(JSON.parse(line) as Ready);
        return;
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      finish();
      reject(
        new Error(`local stack exited before it was ready (code ${code}, signal ${signal}):\n${output}`),
      );
    };
    const timer = setTimeout(() => {
      finish();
      child.kill('SIGKILL');
      reject(new Error(`local stack not ready within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });

  let stopping: Promise<void> | undefined;
  return {
    ...ready,
    pid: child.pid,
    async token(userId, ttlSeconds) {
      const query = new URLSearchParams({ user_id: userId });
      if (ttlSeconds !== undefined) query.set('ttl_seconds', String(ttlSeconds));
      const response = await fetch(`http://127.0.0.1:${ready.port}/dev/token?${query}`);
      const body = (await response.json()) as { token?: string; message?: string };
      if (!response.ok || !body.token)
        throw new Error(`dev token failed: ${response.status} ${body.message}`);
      return body.token;
    },
    output: () => output,
    exitCode: () => child.exitCode,
    stop() {
      stopping ??= (async () => {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, 10_000))) {
          child.kill('SIGKILL');
          await waitForExit(child, 5_000);
        }
        child.stdin?.destroy();
        child.stdout?.destroy();
        child.stderr?.destroy();
      })();
      return stopping;
    },
  };
}
