/**
 * The AWS services endpoint and dynalite in a worker thread: the same `AwsServices` as
 * `startAwsServices`, with the request path (SigV4 attribution, IAM, dynalite) on the second core.
 * Profiles of the local stack under load showed its one event loop busy above 80 % with the
 * gateway, @connections, the services endpoint, a loopback HTTP hop to dynalite and dynalite's
 * expression parsing all on it; here the thread that holds the sockets keeps only the gateway,
 * the IPC to the function instances and @connections.
 *
 *   const services = await startAwsServicesWorker({ region, accountId, dynalitePath, functions, secrets, parameters });
 *   services.endpoint          // AWS_ENDPOINT_URL for the functions
 *   services.dynamodbEndpoint  // dynalite itself, unchecked: for the composition's admin client
 *
 * The key pairs are made here and handed to the worker, so `identityFor` and
 * `authorizeManagementRequest` (the @connections check, which the gateway's thread needs
 * synchronously) answer from a registry in this thread with the same policies. Changes
 * (`registerFunction`, `setPolicy`, `putSecret`, `putParameter`, `setFaults`) apply here at once
 * and reach the worker in order as messages: a call a function makes in the same instant may
 * still be served under the previous state; `await applied()` when that matters.
 * `stats()` adds the worker's counters as last reported (every 100 ms while they change, and on
 * `applied()`) to this thread's @connections refusals. Not offered: `onDecision` and `random` (functions cannot cross
 * threads); use `startAwsServices` in the same thread for those.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildSync } from 'esbuild';
import type { AccountScope } from '../iam/arns';
import type { FunctionIdentity } from '../runtime/contract';
import { CallerRegistry, decide, type ServiceCaller } from './callers';
import { validateFaults } from './dynamodb';
import { type AwsServices, type AwsServicesOptions, managementAuthorizer, type ServiceStats } from './index';
import { SecretsStore } from './secrets-manager';
import type { FromWorker, ToWorker, WorkerStartData } from './worker-protocol';

/**
 * The in-process options that can cross into a worker thread: no server object, no callbacks that
 * would run there (`onDecision`, `random`), dynalite by its data folder instead.
 */
export interface AwsServicesWorkerOptions
  extends Pick<
    AwsServicesOptions,
    'region' | 'accountId' | 'partition' | 'functions' | 'secrets' | 'parameters' | 'faults' | 'host' | 'port'
  > {
  /** dynalite's LevelDB folder; undefined keeps the data in memory. */
  readonly dynalitePath?: string;
  /** Called when the worker fails after it started (every later call would fail). */
  readonly onFailure?: (message: string) => void;
}

export interface AwsServicesInWorker extends AwsServices {
  /** dynalite's own URL (no IAM): for loading tables and data. */
  readonly dynamodbEndpoint: string;
  /** Resolves once every change made before the call applies in the worker (and `stats()` is current). */
  applied(): Promise<void>;
}

/** How long a stopping worker may take to close dynalite before it is terminated. */
const STOP_TIMEOUT_MS = 5000;

let bundledScript: string | undefined;

/**
 * worker-main.ts bundled once per content (packages stay external), so the worker starts the same
 * way under tsx, jest or a compiled build, without a TypeScript loader of its own.
 */
function workerScript(): string {
  if (bundledScript) return bundledScript;
  const result = buildSync({
    entryPoints: [path.join(__dirname, 'worker-main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild produced no output for the services worker');
  const hash = createHash('sha256').update(output.contents).digest('hex').slice(0, 16);
  // Under the project's node_modules so that the external packages (dynalite) resolve from it.
  const dir = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'local-aws-services');
  const file = path.join(dir, `worker-${hash}.cjs`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, output.contents);
    renameSync(temporary, file);
  }
  bundledScript = file;
  return file;
}

export async function startAwsServicesWorker(
  options: AwsServicesWorkerOptions,
): Promise<AwsServicesInWorker> {
  const scope: AccountScope = {
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    ...(options.partition ? { partition: options.partition } : {}),
  };
  const callers = new CallerRegistry(scope);
  const secrets = new SecretsStore(scope);
  const withIdentity = (caller: ServiceCaller): ServiceCaller & { identity: FunctionIdentity } => ({
    id: caller.id,
    functionName: caller.functionName,
    policy: caller.policy,
    ...(caller.roleName !== undefined ? { roleName: caller.roleName } : {}),
    ...(caller.roleArn !== undefined ? { roleArn: caller.roleArn } : {}),
    identity: callers.register(caller),
  });
  const secretInputs = (options.secrets ?? []).map((secret) => ({ ...secret, arn: secrets.put(secret) }));
  validateFaults(options.faults?.dynamodb ?? {});
  const data: WorkerStartData = {
    options: {
      region: scope.region,
      accountId: scope.accountId,
      ...(scope.partition ? { partition: scope.partition } : {}),
      functions: (options.functions ?? []).map(withIdentity),
      secrets: secretInputs,
      parameters: options.parameters ?? [],
      faults: options.faults ?? {},
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
    },
    ...(options.dynalitePath ? { dynalitePath: options.dynalitePath } : {}),
  };

  const worker = new Worker(workerScript(), { workerData: data });
  const send = (message: ToWorker) => worker.postMessage(message);
  let workerStats: ServiceStats = { requests: 0, denied: 0, unrecognized: 0, throttled: 0, serverErrors: 0 };
  const management = { unrecognized: 0, denied: 0 };
  let stopping = false;
  let onStopped: (() => void) | undefined;
  let syncs = 0;
  const pendingSyncs = new Map<number, () => void>();

  const ready = await new Promise<Extract<FromWorker, { t: 'ready' }>>((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      if (message.t === 'ready') {
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve(message);
      } else if (message.t === 'failed') {
        void worker.terminate();
        reject(new Error(`the services worker could not start: ${message.message}`));
      }
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });

  worker.on('message', (message: FromWorker) => {
    if (message.t === 'stats') workerStats = message.stats;
    else if (message.t === 'synced') {
      workerStats = message.stats;
      pendingSyncs.get(message.id)?.();
      pendingSyncs.delete(message.id);
    } else if (message.t === 'stopped') onStopped?.();
    else if (message.t === 'failed') options.onFailure?.(message.message);
  });
  worker.on('error', (error) => options.onFailure?.(error.stack ?? error.message));
  worker.on('exit', (code) => {
    if (!stopping) options.onFailure?.(`the services worker exited with code ${code}`);
    onStopped?.();
    for (const resolve of pendingSyncs.values()) resolve();
    pendingSyncs.clear();
  });

  return {
    endpoint: ready.endpoint,
    port: ready.port,
    dynamodbEndpoint: ready.dynamodbEndpoint,
    identityFor: (functionId) => callers.identityFor(functionId),
    registerFunction: (caller) => {
      const registered = withIdentity(caller);
      send({ t: 'register', caller: registered });
      return registered.identity;
    },
    setPolicy: (functionId, policy) => {
      callers.setPolicy(functionId, policy);
      send({ t: 'policy', functionId, policy });
    },
    putSecret: (secret) => {
      const arn = secrets.put(secret);
      send({ t: 'secret', secret: { ...secret, arn } });
      return arn;
    },
    secretArn: (secretId) => secrets.find(secretId)?.arn,
    applied: () =>
      new Promise<void>((resolve) => {
        if (stopping) return resolve();
        syncs += 1;
        pendingSyncs.set(syncs, resolve);
        send({ t: 'sync', id: syncs });
      }),
    putParameter: (parameter) => send({ t: 'parameter', parameter }),
    authorizeManagementRequest: managementAuthorizer(scope, callers, decide, management),
    setFaults: (faults) => {
      validateFaults(faults.dynamodb ?? {});
      send({ t: 'faults', faults });
    },
    stats: () => ({
      ...workerStats,
      denied: workerStats.denied + management.denied,
      unrecognized: workerStats.unrecognized + management.unrecognized,
    }),
    stop: async () => {
      if (stopping) return;
      stopping = true;
      const stopped = new Promise<void>((resolve) => {
        onStopped = resolve;
      });
      send({ t: 'stop' });
      const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await stopped;
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}
