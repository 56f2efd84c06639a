/**
 * A local Lambda runtime: runs the functions of a cloud assembly as the Lambda Node.js runtime does.
 *
 *   const runtime = createFunctionRuntime({
 *     functions,                      // FunctionDefinition[] from the assembly reader
 *     region: 'us-east-1',            // AWS_REGION / AWS_DEFAULT_REGION in every instance
 *     accountId: '000000000000',      // only used for an ARN when a definition has none
 *     servicesEndpoint: 'http://127.0.0.1:4566', // AWS_ENDPOINT_URL: DynamoDB, Secrets Manager, SSM, ...
 *     identityFor: (functionId) => ({ accessKeyId, secretAccessKey }), // the instance's credentials
 *     outboundRoutes: [               // HTTPS to these hosts goes to a local port as plain HTTP
 *       { host: '*.execute-api.us-east-1.amazonaws.com', target: 'http://127.0.0.1:3001' },
 *       { host: 'localhost', target: 'http://127.0.0.1:3001' },   // e.g. the gateway's domainName
 *     ],
 *     log: (line) => console.log(line), // every instance's output, one line at a time
 *   });
 *   const result = await runtime.invoke('Stack/ConnectFn', event); // InvokeResult, never throws for handler faults
 *   await runtime.reload('Stack/ConnectFn', newCodeDir);
 *   await runtime.stop();
 *
 * Options:
 * - functions: the functions it can run, by `id`. Functions whose runtime is not `nodejsNN.x`
 *   fail every invocation with errorType 'Runtime.InvalidRuntime' (see `unsupportedRuntime`).
 * - region, accountId: the local account; accountId is used only when a definition's arn is empty.
 * - servicesEndpoint: set as AWS_ENDPOINT_URL, so SDK clients created without an endpoint reach it.
 *   Omitted: no AWS_ENDPOINT_URL (calls would go to AWS).
 * - identityFor(functionId): the access key pair set as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, by
 *   which the services endpoint knows the caller. @default a key id derived from the function id.
 * - outboundRoutes: `host` is a host name (`abc.example.com`) or `*.suffix` (any subdomain), case
 *   insensitive, port ignored; `target` is `http://host:port`. Matching `https.request`/`https.get`
 *   (the AWS SDK's transport) keep method, path and headers, Host included; matching `fetch` calls get
 *   `x-forwarded-host` instead (fetch cannot send Host). Other hosts are not touched. An endpoint set
 *   in code beats AWS_ENDPOINT_URL, so this is how `https://${domainName}/${stage}` reaches the local
 *   @connections API. @default []
 * - log: receives each line an instance writes (stdout and stderr), prefixed `[functionName] `;
 *   handler console lines look like Lambda's (`<time>\t<requestId>\tINFO\t<message>`).
 *   @default writes to process.stdout. Pass `() => {}` for silence.
 * - lifecycleLogs: START / END / REPORT lines per invocation (REPORT carries `Init Duration` on a
 *   cold start). @default true
 * - maxInstancesPerFunction: beyond this many concurrent instances of one function, events wait for
 *   a free instance instead of cold-starting another (Lambda would throttle at reserved concurrency;
 *   a laptop has fewer cores than Lambda). @default 16
 * - idleTimeoutMs: an instance idle this long is stopped (Lambda keeps idle sandboxes for minutes;
 *   here they cost a process each). @default 300000 (5 min)
 * - initTimeoutMs: how long loading the handler may take (Lambda's init phase has 10 s of its own);
 *   past it the event fails with kind 'timeout' and the instance is discarded. @default 10000
 * - onInvoke(call): a fault hook for chaos tests, run before each event reaches its instance; may
 *   return { delayMs } and/or { killAfterMs } (the instance is killed mid-invocation -> kind 'crash').
 *
 * Beyond FunctionRuntime: kill(functionId, which) kills running (or all) instances of a function,
 * stats(functionId) counts instances, cold starts and invocations.
 *
 * The model: each instance is a child process (own process.env, TZ, cwd = the code folder,
 * globals) running one event at a time; a new instance when all are busy (cold start); the
 * template's timeout kills the instance (kind 'timeout', errorType 'Sandbox.Timedout'); an uncaught
 * exception, unhandled rejection or process.exit fails the running event with kind 'crash' and the
 * instance is replaced; a handler that throws fails with kind 'error' and the instance stays warm.
 * Init failures (a throw, an exit, initTimeoutMs) fail the event that started the instance.
 *
 * Where it differs from Lambda (on purpose or by necessity):
 * - Node is the local one (20+), whatever `nodejsNN.x` the template names; the SDK's "old Node"
 *   warning is silenced when the local Node is older than the runtime named.
 * - The runtime's packages are the @aws-sdk, @smithy, @aws-crypto and @aws scopes of this project's
 *   node_modules (add a client with npm install); Lambda also has the SDK's other dependencies
 *   (tslib, fast-xml-parser, ...) on its path, here only the scopes resolve. No aws-sdk v2.
 * - Import hooks are registered only for ES module handlers: a CommonJS handler's own dynamic
 *   import() of the SDK follows plain Node resolution.
 * - Memory is approximated by V8's heap limits (old space 90% of MemorySize, semi space 5%, as
 *   Lambda's bootstrap sets them, with --expose-gc); the process as a whole is not capped;
 *   the 6 MB payload limits, reserved concurrency and throttling are not enforced.
 * - callbackWaitsForEmptyEventLoop is ignored (the event ends when the callback is called or the
 *   promise settles); a synchronous two-argument handler's return value is its result.
 * - No AWS_SESSION_TOKEN, X-Ray (_X_AMZN_TRACE_ID) or AWS_LAMBDA_RUNTIME_API; logs are text only
 *   (AWS_LAMBDA_LOG_FORMAT=JSON is not applied).
 */
import type { FunctionDefinition, FunctionIdentity, FunctionRuntime, InvokeResult } from './contract';
import { instanceEnvironment, newLogStreamName, runtimeNodeMajor } from './environment';
import { FunctionInstance } from './instance';
import { instanceFiles, layerRoot } from './instance-files';
import { FunctionPool, type FunctionStats, type InvokeCall, type InvokeFault, type KillTarget } from './pool';
import type { OutboundRouteSpec } from './protocol';

export type { FunctionStats, InvokeCall, InvokeFault };

export interface OutboundRoute {
  /** `abc.example.com` or `*.execute-api.us-east-1.amazonaws.com`; case insensitive, port ignored. */
  readonly host: string;
  /** `http://127.0.0.1:3001`: the plain-HTTP server that answers for that host. */
  readonly target: string;
  /**
   * Only requests signed with Signature Version 4 take this route; others go where they were
   * headed. @default false
   */
  readonly signedOnly?: boolean;
}

export interface FunctionRuntimeOptions {
  readonly functions: readonly FunctionDefinition[];
  readonly region: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  readonly servicesEndpoint?: string;
  readonly identityFor?: (functionId: string) => FunctionIdentity;
  /** @default [] */
  readonly outboundRoutes?: readonly OutboundRoute[];
  /** @default a line to process.stdout */
  readonly log?: (line: string) => void;
  /** @default true */
  readonly lifecycleLogs?: boolean;
  /** @default 16 */
  readonly maxInstancesPerFunction?: number;
  /** @default 300_000 */
  readonly idleTimeoutMs?: number;
  /** @default 10_000 */
  readonly initTimeoutMs?: number;
  readonly onInvoke?: (call: InvokeCall) => InvokeFault | undefined | Promise<InvokeFault | undefined>;
}

export interface LocalFunctionRuntime extends FunctionRuntime {
  /** Kills the instances of a function that hold an event, running or starting ('busy', default), one of those ('one'), or all of them. Returns how many. */
  kill(functionId: string, which?: KillTarget): number;
  stats(functionId: string): FunctionStats;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
export const DEFAULT_MAX_INSTANCES_PER_FUNCTION = 16;
export const DEFAULT_INIT_TIMEOUT_MS = 10_000;

/** Why this runtime cannot run a function, or undefined when it can. */
export function unsupportedRuntime(definition: FunctionDefinition): string | undefined {
  return runtimeNodeMajor(definition.runtime) > 0
    ? undefined
    : `runtime ${definition.runtime} is not supported locally (Node.js runtimes only)`;
}

export function createFunctionRuntime(options: FunctionRuntimeOptions): LocalFunctionRuntime {
  const files = instanceFiles();
  const accountId = options.accountId ?? '000000000000';
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const lifecycleLogs = options.lifecycleLogs ?? true;
  const outboundRoutes: OutboundRouteSpec[] = (options.outboundRoutes ?? []).map((route) => ({
    host: route.host.toLowerCase(),
    target: route.target,
    ...(route.signedOnly ? { signedOnly: true } : {}),
  }));
  const identityFor = options.identityFor ?? defaultIdentity;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;

  const pools = new Map<string, FunctionPool>();
  const unsupported = new Map<string, string>();
  if ((options.maxInstancesPerFunction ?? 1) < 1)
    throw new Error('maxInstancesPerFunction must be at least 1');
  for (const given of options.functions) {
    if (pools.has(given.id)) throw new Error(`two functions have the id ${given.id}`);
    const definition = given.arn
      ? given
      : { ...given, arn: `arn:aws:lambda:${options.region}:${accountId}:function:${given.functionName}` };
    const reason = unsupportedRuntime(definition);
    if (reason) unsupported.set(definition.id, reason);
    pools.set(
      definition.id,
      new FunctionPool(definition, {
        functionId: definition.id,
        maxInstances: options.maxInstancesPerFunction ?? DEFAULT_MAX_INSTANCES_PER_FUNCTION,
        onInvoke: options.onInvoke,
        startInstance: (current, generation) => {
          const logStreamName = newLogStreamName(new Date(), crypto.randomUUID());
          const optDir = layerRoot(current.layers);
          return new FunctionInstance({
            definition: current,
            environment: instanceEnvironment({
              definition: current,
              region: options.region,
              identity: identityFor(current.id),
              servicesEndpoint: options.servicesEndpoint,
              sdkRoot: files.sdkRoot,
              ...(optDir ? { optDir } : {}),
              logStreamName,
            }),
            mainPath: files.mainPath,
            sdkRoot: files.sdkRoot,
            ...(optDir ? { optDir } : {}),
            logStreamName,
            outboundRoutes,
            lifecycleLogs,
            log,
            generation,
            initTimeoutMs: options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS,
          });
        },
      }),
    );
  }

  const reaper = setInterval(
    () => {
      const idleSince = Date.now() - idleTimeoutMs;
      for (const pool of pools.values()) pool.reap(idleSince);
    },
    Math.min(30_000, Math.max(100, idleTimeoutMs / 2)),
  );
  reaper.unref();

  const poolOf = (functionId: string): FunctionPool => {
    const pool = pools.get(functionId);
    if (!pool) throw new Error(`unknown function ${functionId}; known: ${[...pools.keys()].join(', ')}`);
    return pool;
  };

  return {
    async invoke(functionId, event): Promise<InvokeResult> {
      const pool = poolOf(functionId);
      const reason = unsupported.get(functionId);
      if (reason) {
        return {
          ok: false,
          kind: 'error',
          errorType: 'Runtime.InvalidRuntime',
          errorMessage: reason,
          durationMs: 0,
          coldStart: false,
        };
      }
      return pool.invoke(event);
    },
    async reload(functionId, codeDir) {
      poolOf(functionId).reload(codeDir);
    },
    async stop() {
      clearInterval(reaper);
      await Promise.all([...pools.values()].map((pool) => pool.stop()));
    },
    kill(functionId, which = 'busy') {
      return poolOf(functionId).kill(which);
    },
    stats(functionId) {
      return poolOf(functionId).stats();
    },
  };
}

function defaultIdentity(functionId: string): FunctionIdentity {
  const hex = Buffer.from(functionId).toString('hex').toUpperCase().slice(0, 16).padEnd(16, '0');
  return { accessKeyId: `LOCAL${hex}`, secretAccessKey: 'local-secret' };
}
