/**
 * The local stack's composition. By default it runs the project's own cloud assembly (synthesized
 * and cached by app/synth-cache.ts) through assembly-stack.ts, as AWS would run it: bundles,
 * template environment, IAM policies, timeouts, schedule and secret; then it adds the project's
 * conveniences (dev tokens, demo page, test definitions, the local JWT secret, hot reload).
 * `assembly` runs any other assembly instead, without those conveniences. `inProcess` keeps the
 * former mode, where the TypeScript handlers run in this process (no IAM, no isolation).
 */

import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient } from '../lambdas/adapters/dynamodb/client';
import { ensureTables } from '../lambdas/adapters/dynamodb/create-tables';
import type { TableName } from '../lambdas/adapters/dynamodb/table-definitions';
import { putTestDefinition } from '../lambdas/adapters/dynamodb/test-catalog';
import { ENV, environmentOf, loadConfig } from '../lambdas/config';
import { ROUTES, SCHEDULED_JOBS } from '../lambdas/routes';
import { startFakeAiService } from '../scripts/fake-ai-service';
import { readTestDefinitionFiles } from '../scripts/test-definition-files';
import { type HotReload, startHotReload } from './app/hot-reload';
import { ensureProjectAssembly } from './app/synth-cache';
import type { LocalFunction, NotRun, WebSocketApiDescription } from './assembly/template';
import {
  type AssemblyStackOptions,
  closeServer,
  listen,
  type RunningAssembly,
  startAssemblyStack,
} from './assembly-stack';
import { ConnectionPool } from './connection-pool';
import { lockDataDir } from './data-lock';
import { DEFAULT_IN_PROCESS } from './default-mode';
import { createDemoHandler, loadDemoAssetFactory } from './demo-assets';
import { DEFAULT_DEV_SECRET, handleDevTokenRequest } from './dev-token';
import { attachGateway, type Gateway, type RouteTarget } from './gateway';
import type { LambdaHandler } from './lambda-context';
import { handleManagementRequest } from './management-api';
import { type Scheduler, startScheduler } from './scheduler';

export interface LocalStackOptions {
  /** HTTP + WebSocket port; 0 picks a free one. @default 3001 */
  readonly port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** @default 'local' */
  readonly stage?: string;
  /** 'disk' keeps DynamoDB data in `dataDir` across restarts. @default 'disk' */
  readonly persistence?: 'disk' | 'memory';
  /** @default '<repo>/.local-data' (git-ignored) */
  readonly dataDir?: string;
  /** HS256 secret for tokens. @default 'local-dev-secret' */
  readonly jwtSecret?: string;
  /** @default 30 */
  readonly authDeadlineSeconds?: number;
  /** @default 600000 (10 min, as on AWS) */
  readonly idleTimeoutMs?: number;
  /** @default 7200000 (2 h, as on AWS) */
  readonly maxConnectionMs?: number;
  /**
   * How often the scheduled jobs (`rate(...)` rules) run.
   * @default 5000; with `assembly`, each rule's own rate
   */
  readonly sweepIntervalMs?: number;
  /** Origins allowed to connect; empty allows any. @default [] */
  readonly allowedOrigins?: readonly string[];
  /** Folder of `*.json` test definitions loaded at start. @default '<repo>/test-definitions' */
  readonly testDefinitionsDir?: string;
  /** No log lines. @default false */
  readonly quiet?: boolean;
  /** Repository root, where handler modules and demo/ are found. @default the parent of local/ */
  readonly rootDir?: string;
  /** Run this cloud assembly (any CDK WebSocket app) instead of the project's own. */
  readonly assembly?: string;
  /** The local region ARNs resolve in. @default 'us-east-1' */
  readonly region?: string;
  /** The local account ARNs resolve in. @default '000000000000' */
  readonly accountId?: string;
  /**
   * true: run the TypeScript handlers in this process (the former mode: no bundles, IAM or
   * isolation); false: run the project's synthesized assembly. @default DEFAULT_IN_PROCESS
   */
  readonly inProcess?: boolean;
  /** Re-bundle a function when its sources change (the project's app only). @default true */
  readonly hotReload?: boolean;
  /** Print what the functions log. @default true unless quiet */
  readonly functionLogs?: boolean;
  /** Concurrent instances per function (see assembly-stack.ts). */
  readonly maxInstancesPerFunction?: number;
  /** Chaos runs: answers some @connections calls with a fault (see assembly-stack.ts). */
  readonly connectionsFault?: AssemblyStackOptions['connectionsFault'];
  /**
   * 'fake': start the fake AI service (scripts/fake-ai-service.ts) and point the functions'
   * AI_SERVICE_URL at it (the project's app only). @default no AI service
   */
  readonly aiService?: 'fake';
}

export interface ServedApiSummary {
  readonly name: string;
  readonly apiId: string;
  readonly wsUrl: string;
  readonly managementEndpoint: string;
  readonly routes: readonly string[];
}

export interface LocalStack {
  /** e.g. ws://localhost:3001/local */
  readonly wsUrl: string;
  /** e.g. http://localhost:3001 (demo page at /demo/, dev tokens at /dev/token) */
  readonly httpUrl: string;
  /** The @connections endpoint the handlers use, e.g. http://127.0.0.1:3001/local */
  readonly managementEndpoint: string;
  readonly dynamodbEndpoint: string;
  /** The project's tables by role (connections, assessments, tests); a foreign app's by logical id. */
  readonly tableNames: Record<string, string>;
  readonly port: number;
  readonly persistence: 'disk' | 'memory';
  /** Where the DynamoDB data lives (null in memory). */
  readonly dataDir: string | null;
  /** The test ids loaded from the test definitions folder. */
  readonly testIds: readonly string[];
  /** 'assembly' (the default), 'foreign' (--assembly) or 'in-process'. */
  readonly mode: 'assembly' | 'foreign' | 'in-process';
  /** Every WebSocket API served (the first is `wsUrl`). */
  readonly apis: readonly ServedApiSummary[];
  /** Resources of the assembly that are not run, and why. */
  readonly notRun: readonly NotRun[];
  readonly warnings: readonly string[];
  /** The AWS services endpoint the functions call (empty in-process). */
  readonly servicesEndpoint: string;
  /** The assembly that runs, and whether it came from the synth cache. */
  readonly assembly?: { readonly dir: string; readonly cached: boolean; readonly synthMs: number };
  /** The running assembly (absent in-process), for tests that reach inside. */
  readonly running?: RunningAssembly;
  /** The fake AI service the functions call (with `aiService: 'fake'`). */
  readonly aiServiceUrl?: string;
  /** Closes every connection (each gets `$disconnect`), stops the jobs and servers. */
  stop(): Promise<void>;
}

export const LOCAL_TABLE_NAMES: Record<TableName, string> = {
  connections: 'local-connections',
  assessments: 'local-assessments',
  tests: 'local-tests',
};

let running = false;

function loadHandler(rootDir: string, entry: string): LambdaHandler {
  const modulePath = path.resolve(rootDir, entry);
  let loaded: { handler?: unknown };
  try {
    loaded = require(modulePath) as { handler?: unknown };
  } catch (error) {
    throw new Error(
      `cannot load handler module ${entry}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof loaded.handler !== 'function')
    throw new Error(`${entry} does not export a function named handler`);
  return loaded.handler as LambdaHandler;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (running) {
    throw new Error('a local stack is already running in this process (handlers read their env once)');
  }
  running = true;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => {});
  };
  try {
    if (options.assembly === undefined && (options.inProcess ?? DEFAULT_IN_PROCESS)) {
      return await startInProcess(options, cleanups, cleanup);
    }
    return await startFromAssembly(options, cleanups, cleanup);
  } catch (error) {
    await cleanup();
    running = false;
    throw error;
  }
}

async function startInProcess(
  options: LocalStackOptions,
  cleanups: (() => Promise<void>)[],
  cleanup: () => Promise<void>,
): Promise<LocalStack> {
  const rootDir = options.rootDir ?? path.resolve(__dirname, '..');
  const host = options.host ?? '127.0.0.1';
  const stage = options.stage ?? 'local';
  const persistence = options.persistence ?? 'disk';
  const dataDir = persistence === 'disk' ? path.resolve(rootDir, options.dataDir ?? '.local-data') : null;
  const jwtSecret = options.jwtSecret ?? DEFAULT_DEV_SECRET;
  const region = process.env.AWS_REGION || 'us-east-1';
  const log = options.quiet ? () => {} : (line: string) => console.log(`[local] ${line}`);

  // Validate the test definitions before anything starts: a bad file stops the stack at once.
  const testDefinitionsDir = path.resolve(rootDir, options.testDefinitionsDir ?? 'test-definitions');
  const definitions = await readTestDefinitionFiles([testDefinitionsDir]);

  // 1. DynamoDB.
  if (dataDir) cleanups.push(await lockDataDir(dataDir));
  const dynamo = dynalite({
    ...(dataDir ? { path: path.join(dataDir, 'dynamodb') } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const dynamoPort = await listen(dynamo, 0, '127.0.0.1');
  cleanups.push(() => closeServer(dynamo));
  const dynamodbEndpoint = `http://127.0.0.1:${dynamoPort}`;

  // 2. The HTTP server (its port is needed for the callback URL before handlers load).
  const pool = new ConnectionPool();
  const demo = createDemoHandler(loadDemoAssetFactory(rootDir));
  const server = createServer((req, res) => {
    if (handleManagementRequest(req, res, pool, { stage })) return;
    if (handleDevTokenRequest(req, res, jwtSecret)) return;
    if (demo(req, res)) return;
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'Not Found' }));
  });
  const port = await listen(server, options.port ?? 3001, host);
  cleanups.push(() => closeServer(server));
  const managementEndpoint = `http://127.0.0.1:${port}/${stage}`;

  // 3. The handlers' environment, set before any handler module is loaded (cold start).
  const aiServiceUrl = await startAiService(options, cleanups, log);
  const env: Record<string, string> = {
    ...environmentOf({
      tables: LOCAL_TABLE_NAMES,
      callbackUrl: managementEndpoint,
      jwt: { kind: 'hs256', secret: jwtSecret },
      allowedOrigins: options.allowedOrigins ?? [],
      authDeadlineSeconds: options.authDeadlineSeconds ?? 30,
      dynamodbEndpoint,
      ...(aiServiceUrl ? { aiService: { url: aiServiceUrl } } : {}),
    }),
    AWS_REGION: region,
    // Never real credentials: everything this process signs goes to loopback servers.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  // Settings this stack leaves unset must not leak in from the shell (a JWT_SECRET_ARN, say).
  for (const name of Object.values(ENV)) delete process.env[name];
  Object.assign(process.env, env);
  // The handlers validate this same environment at their cold start; doing it now makes a bad
  // flag fail the start with the reason, instead of every later invocation.
  loadConfig(process.env);
  // Metrics are CloudWatch EMF lines on stdout: noise without CloudWatch. Opt back in with
  // POWERTOOLS_METRICS_DISABLED=false.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;

  // 4. Tables and test definitions.
  const dynamoClient = new DynamoDBClient({
    endpoint: dynamodbEndpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  cleanups.push(async () => dynamoClient.destroy());
  await ensureTables(dynamoClient, LOCAL_TABLE_NAMES);
  const documents = createDocumentClient({ client: dynamoClient });
  for (const definition of definitions) {
    await putTestDefinition(documents, LOCAL_TABLE_NAMES.tests, definition);
  }

  // 5. Handlers, gateway and scheduled jobs.
  const routes: Record<string, RouteTarget> = {};
  for (const route of ROUTES) {
    routes[route.routeKey] = {
      name: `local-${route.name}`,
      handler: loadHandler(rootDir, route.entry),
      twoWay: route.twoWay,
    };
  }
  const jobs = SCHEDULED_JOBS.map((job) => ({
    name: `local-${job.name}`,
    handler: loadHandler(rootDir, job.entry),
    intervalMs: options.sweepIntervalMs ?? 5000,
  }));
  const gateway: Gateway = attachGateway({
    server,
    stage,
    routes,
    pool,
    region,
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    ...(options.maxConnectionMs !== undefined ? { maxConnectionMs: options.maxConnectionMs } : {}),
    log,
  });
  cleanups.push(() => gateway.close());
  const scheduler: Scheduler = startScheduler(jobs, { region, log });
  cleanups.push(() => scheduler.stop());

  let stopped: Promise<void> | undefined;
  return {
    wsUrl: `ws://localhost:${port}/${stage}`,
    httpUrl: `http://localhost:${port}`,
    managementEndpoint,
    dynamodbEndpoint,
    tableNames: { ...LOCAL_TABLE_NAMES },
    port,
    persistence,
    dataDir,
    testIds: definitions.map((d) => d.test_id),
    mode: 'in-process',
    apis: [
      {
        name: 'in-process',
        apiId: 'localwsapi',
        wsUrl: `ws://localhost:${port}/${stage}`,
        managementEndpoint,
        routes: ROUTES.map((r) => r.routeKey),
      },
    ],
    notRun: [],
    warnings: [],
    servicesEndpoint: '',
    ...(aiServiceUrl ? { aiServiceUrl } : {}),
    stop() {
      stopped ??= cleanup().finally(() => {
        running = false;
      });
      return stopped;
    },
  };
}

function summary(api: {
  description: WebSocketApiDescription;
  wsUrl: string;
  managementEndpoint: string;
}): ServedApiSummary {
  return {
    name: api.description.name,
    apiId: api.description.apiId,
    wsUrl: api.wsUrl,
    managementEndpoint: api.managementEndpoint,
    routes: api.description.routes.map(
      (r) =>
        `${r.routeKey}${'mock' in r ? ' (MOCK)' : ''}${'http' in r ? ' (HTTP_PROXY)' : ''}${'notRun' in r ? ' (not run)' : ''}${r.twoWay ? ' (two-way)' : ''}${r.authorizer ? ' (authorizer)' : ''}`,
    ),
  };
}

/** The project's tables by the environment variables its functions read them from. */
const PROJECT_TABLE_VARIABLES: Record<TableName, string> = {
  connections: ENV.connectionsTable,
  assessments: ENV.assessmentsTable,
  tests: ENV.testsTable,
};

async function startFromAssembly(
  options: LocalStackOptions,
  cleanups: (() => Promise<void>)[],
  cleanup: () => Promise<void>,
): Promise<LocalStack> {
  const rootDir = options.rootDir ?? path.resolve(__dirname, '..');
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const persistence = options.persistence ?? 'disk';
  const foreign = options.assembly !== undefined;
  const dataDir =
    persistence === 'disk'
      ? path.resolve(rootDir, options.dataDir ?? (foreign ? '.local-data/foreign' : '.local-data'))
      : null;
  const jwtSecret = options.jwtSecret ?? DEFAULT_DEV_SECRET;
  const quiet = options.quiet ?? false;
  const log = quiet ? () => {} : (line: string) => console.log(`[local] ${line}`);
  const functionLog =
    quiet || options.functionLogs === false ? () => {} : (line: string) => console.log(line);

  const definitions = foreign
    ? []
    : await readTestDefinitionFiles([
        path.resolve(rootDir, options.testDefinitionsDir ?? 'test-definitions'),
      ]);

  const synthStarted = Date.now();
  const assembly = foreign
    ? { dir: path.resolve(options.assembly as string), cached: true, elapsedMs: 0 }
    : await ensureProjectAssembly({ rootDir, region, log });
  const synthMs = Date.now() - synthStarted;
  const workDir = path.join(rootDir, '.local-cache', 'code', String(process.pid));
  cleanups.push(() => rm(workDir, { recursive: true, force: true }));

  const aiServiceUrl = foreign ? undefined : await startAiService(options, cleanups, log);
  const environmentFor = (fn: LocalFunction): Record<string, string> => {
    if (foreign) return {};
    // The project's local flags, applied over the template's values (docs/local-stack.md).
    const settings = {
      ...(options.authDeadlineSeconds !== undefined
        ? { [ENV.authDeadlineSeconds]: String(options.authDeadlineSeconds) }
        : {}),
      ...(options.allowedOrigins && options.allowedOrigins.length > 0
        ? { [ENV.allowedOrigins]: options.allowedOrigins.join(',') }
        : {}),
      ...(aiServiceUrl ? { [ENV.aiServiceUrl]: aiServiceUrl } : {}),
      // Metrics are CloudWatch EMF lines on stdout: noise without CloudWatch.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    // The functions validate this environment at their cold start; doing it now makes a bad flag
    // fail the start with the reason, instead of every later invocation.
    if (fn.environment[ENV.connectionsTable] !== undefined) loadConfig({ ...fn.environment, ...settings });
    return settings;
  };

  const demo = foreign ? undefined : createDemoHandler(loadDemoAssetFactory(rootDir));
  const assemblyRun = await startAssemblyStack({
    assemblyDir: assembly.dir,
    region,
    accountId,
    ...(options.stage !== undefined ? { stage: options.stage } : foreign ? {} : { stage: 'local' }),
    port: options.port ?? 3001,
    host: options.host ?? '127.0.0.1',
    ...(dataDir ? { dataDir } : {}),
    workDir,
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    ...(options.maxConnectionMs !== undefined ? { maxConnectionMs: options.maxConnectionMs } : {}),
    // Another app's rate schedules keep the template's rate unless the flag asks for another.
    ...(options.sweepIntervalMs !== undefined || !foreign
      ? { scheduleIntervalMs: options.sweepIntervalMs ?? 5000 }
      : {}),
    // The template generates the JWT secret; dev tokens are signed with the local one.
    secretValue: (secret, app) =>
      !foreign && app.functions.some((fn) => fn.environment[ENV.jwtSecretArn] === secret.arn)
        ? jwtSecret
        : undefined,
    environmentFor,
    ...(demo
      ? {
          extraHttp: (req, res) => handleDevTokenRequest(req, res, jwtSecret) || demo(req, res),
        }
      : {}),
    ...(options.maxInstancesPerFunction !== undefined
      ? { maxInstancesPerFunction: options.maxInstancesPerFunction }
      : {}),
    ...(options.connectionsFault ? { connectionsFault: options.connectionsFault } : {}),
    log,
    functionLog,
  });
  cleanups.push(() => assemblyRun.stop());
  const first = assemblyRun.apis[0];
  if (!first) throw new Error('no WebSocket API to serve');

  const tableNames: Record<string, string> = {};
  if (foreign) {
    for (const table of assemblyRun.app.tables) tableNames[table.logicalId] = table.tableName;
  } else {
    for (const [role, variable] of Object.entries(PROJECT_TABLE_VARIABLES)) {
      const name = assemblyRun.app.functions.map((fn) => fn.environment[variable]).find(Boolean);
      if (!name) throw new Error(`no function of the project's assembly has ${variable} in its environment`);
      tableNames[role] = name;
    }
    const documents = createDocumentClient({ client: assemblyRun.adminDynamoDb });
    for (const definition of definitions) {
      await putTestDefinition(documents, tableNames.tests as string, definition);
    }
  }

  let hotReload: HotReload | undefined;
  if (!foreign && options.hotReload !== false) {
    hotReload = startHotReload({
      rootDir,
      functions: assemblyRun.app.functions,
      outDir: path.join(workDir, 'hot'),
      reload: (functionId, codeDir) => assemblyRun.runtime.reload(functionId, codeDir),
      log,
    });
    const reloader = hotReload;
    cleanups.push(() => reloader.stop());
  }

  let stopped: Promise<void> | undefined;
  return {
    wsUrl: first.wsUrl,
    httpUrl: first.httpUrl,
    managementEndpoint: first.managementEndpoint,
    dynamodbEndpoint: assemblyRun.dynamodbEndpoint,
    tableNames,
    port: first.port,
    persistence,
    dataDir,
    testIds: definitions.map((d) => d.test_id),
    mode: foreign ? 'foreign' : 'assembly',
    apis: assemblyRun.apis.map(summary),
    notRun: assemblyRun.app.notRun,
    warnings: assemblyRun.app.warnings,
    servicesEndpoint: assemblyRun.servicesEndpoint,
    assembly: { dir: assembly.dir, cached: assembly.cached, synthMs },
    running: assemblyRun,
    ...(aiServiceUrl ? { aiServiceUrl } : {}),
    stop() {
      stopped ??= cleanup().finally(() => {
        running = false;
      });
      return stopped;
    },
  };
}

/** With `aiService: 'fake'`, starts the fake AI service on a free port; its URL, else undefined. */
async function startAiService(
  options: LocalStackOptions,
  cleanups: (() => Promise<void>)[],
  log: (line: string) => void,
): Promise<string | undefined> {
  if (options.aiService !== 'fake') return undefined;
  const fake = await startFakeAiService({ onRequest: (line) => log(`fake AI service: ${line}`) });
  cleanups.push(() => fake.close());
  return fake.url;
}
