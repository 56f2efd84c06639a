/**
 * Runs a cloud assembly locally: reads it (assembly/), starts dynalite and the AWS services
 * endpoint (services/, IAM enforced), one HTTP + WebSocket server per WebSocket API (gateway,
 * @connections), the function runtime (runtime/, one isolated instance per event), and the
 * schedules. Nothing here knows the project's own app; local/stack.ts adds its conveniences.
 *
 * Wiring decisions:
 * - Each API stage is served at `ws://localhost:<port>/<stage>`; the first on `port`, the next ones
 *   on the following ports (or any free ones when `port` is 0). The stages of one API share their
 *   @connections (each port answers for every stage's path), since the functions reach them all
 *   through the API's one execute-api host; each stage has its own connections and throttling.
 * - Events carry `domainName: <apiId>.execute-api.<region>.amazonaws.com`, as on AWS, and the
 *   runtime leads HTTPS to that host back to the API's port: a handler that builds
 *   `https://${domainName}/${stage}` reaches the local @connections API without code changes.
 * - `stage` renames the served stage; the template's name stays valid in @connections paths, and
 *   IAM checks use the template's name (the ARNs in the policies carry it).
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { readAssembly } from './assembly/manifest';
import {
  type AppDescription,
  describeApp,
  type LocalFunction,
  type SecretDescription,
  type StageDescription,
  type TableDescription,
  type WebSocketApiDescription,
} from './assembly/template';
import { ConnectionPool } from './connection-pool';
import { lockDataDir } from './data-lock';
import { attachGateway, type Gateway, type RouteTarget } from './gateway';
import { runHttpProxyIntegration } from './gateway/http-integration';
import { runMockIntegration } from './gateway/mock-integration';
import { handleManagementRequest, type ManagementCall, type ManagementRefusal } from './management-api';
import { createFunctionRuntime, type LocalFunctionRuntime } from './runtime';
import { signedAwsCallRoutes } from './runtime/aws-endpoints';
import type { InvokeResult } from './runtime/contract';
import { parseSchedule } from './schedule-expression';
import { type ScheduledJob, type Scheduler, startScheduler } from './scheduler';
import { type AwsServicesInWorker, startAwsServicesWorker } from './services/worker';

export interface AssemblyStackOptions {
  /** A cloud assembly folder (with manifest.json). */
  readonly assemblyDir: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** Serve every API's stage under this name. @default the template's stage name */
  readonly stage?: string;
  /** The first API's port; 0 = any free port for every API. @default 3001 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** DynamoDB data folder; undefined keeps it in memory. */
  readonly dataDir?: string;
  /** Where inline and zipped function code is unpacked. */
  readonly workDir: string;
  readonly idleTimeoutMs?: number;
  readonly maxConnectionMs?: number;
  /** Runs every rate(...) schedule at this interval instead of the template's. */
  readonly scheduleIntervalMs?: number;
  /** A value replacing a secret's template value (undefined keeps it). */
  readonly secretValue?: (secret: SecretDescription, app: AppDescription) => string | undefined;
  /** Variables added to (or replacing in) a function's environment. */
  readonly environmentFor?: (fn: LocalFunction) => Readonly<Record<string, string>>;
  /** Extra HTTP routes on the first API's port (the project's demo page and dev tokens). */
  readonly extraHttp?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * Concurrent instances per function; beyond it events wait for a free instance (Lambda would
   * start more, but on a laptop more processes than cores only add switching: on 2 cores, 2 per
   * function gave 15-40 % more messages per second than 4, and 8 less than half). @default one per CPU, at least 2
   */
  readonly maxInstancesPerFunction?: number;
  /** Notable events (cold starts, failures, refusals). @default none */
  readonly log?: (line: string) => void;
  /** What the functions print. @default none */
  readonly functionLog?: (line: string) => void;
  /**
   * Fault injection for chaos runs: an @connections call that passed IAM gets this answer
   * instead (e.g. 410 Gone, 429 LimitExceeded, 500). Undefined lets the call through.
   * @default none
   */
  readonly connectionsFault?: (call: ManagementCall) => ManagementRefusal | undefined;
}

export interface ServedApi {
  readonly description: WebSocketApiDescription;
  readonly port: number;
  /** The stage name in the URL. */
  readonly stage: string;
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** e.g. http://127.0.0.1:3001/local */
  readonly managementEndpoint: string;
  readonly gateway: Gateway;
}

export interface RunningAssembly {
  readonly app: AppDescription;
  readonly apis: readonly ServedApi[];
  readonly dynamodbEndpoint: string;
  readonly servicesEndpoint: string;
  readonly services: AwsServicesInWorker;
  readonly runtime: LocalFunctionRuntime;
  readonly scheduler: Scheduler;
  /** A DynamoDB client on dynalite itself (no IAM): for loading data. */
  readonly adminDynamoDb: DynamoDBClient;
  stop(): Promise<void>;
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

export function createTableInput(table: TableDescription): CreateTableCommandInput {
  const indexes = (list: TableDescription['globalSecondaryIndexes']) =>
    list.map((index) => ({
      IndexName: index.IndexName,
      KeySchema: [...index.KeySchema],
      Projection: {
        ProjectionType: (index.Projection.ProjectionType ?? 'ALL') as 'ALL' | 'KEYS_ONLY' | 'INCLUDE',
        ...(index.Projection.NonKeyAttributes ? { NonKeyAttributes: index.Projection.NonKeyAttributes } : {}),
      },
    }));
  return {
    TableName: table.tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...table.attributeDefinitions],
    KeySchema: [...table.keySchema],
    ...(table.globalSecondaryIndexes.length > 0
      ? { GlobalSecondaryIndexes: indexes(table.globalSecondaryIndexes) }
      : {}),
    ...(table.localSecondaryIndexes.length > 0
      ? { LocalSecondaryIndexes: indexes(table.localSecondaryIndexes) }
      : {}),
  };
}

async function ensureTable(client: DynamoDBClient, table: TableDescription): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(table)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) {
      throw new Error(
        `cannot create table ${table.tableName} (${table.id}): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table.tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (attempt > 200) throw new Error(`table ${table.tableName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Writes inline code and unpacks zipped code where the description says the function's code lives. */
async function materializeCode(fn: LocalFunction): Promise<void> {
  if (fn.code.kind === 'folder') return;
  await rm(fn.codeDir, { recursive: true, force: true });
  await mkdir(fn.codeDir, { recursive: true });
  if (fn.code.kind === 'inline') {
    // Lambda stores Code.ZipFile as index.js (CommonJS) for Node.js runtimes.
    await writeFile(path.join(fn.codeDir, 'index.js'), fn.code.source);
    return;
  }
  await promisify(execFile)('unzip', ['-q', '-o', fn.code.path, '-d', fn.codeDir]);
}

/**
 * The account and region the services and functions run in: the stacks' own when they all agree
 * (a stack's environment wins over the flags, which only place env-agnostic stacks), since every
 * ARN in the policies names them and IAM would otherwise refuse each call. Stacks in several
 * regions or accounts run in the flags' (or the defaults'), with a warning.
 */
export function localEnvironment(
  app: Pick<AppDescription, 'stacks'>,
  options: Pick<AssemblyStackOptions, 'region' | 'accountId'>,
  log: (line: string) => void = () => {},
): { region: string; accountId: string } {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const regions = [...new Set(app.stacks.map((s) => s.region))];
  const accounts = [...new Set(app.stacks.map((s) => s.accountId))];
  if (regions.length > 1 || accounts.length > 1) {
    log(
      `the stacks span ${regions.join(', ')} / accounts ${accounts.join(', ')}: AWS calls run in ${region} / ${accountId}, so calls to resources of the others may be refused`,
    );
  }
  return {
    region: regions.length === 1 ? (regions[0] as string) : region,
    accountId: accounts.length === 1 ? (accounts[0] as string) : accountId,
  };
}

export async function startAssemblyStack(options: AssemblyStackOptions): Promise<RunningAssembly> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    return await start(options, cleanups, cleanup);
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function start(
  options: AssemblyStackOptions,
  cleanups: (() => Promise<void>)[],
  cleanup: () => Promise<void>,
): Promise<RunningAssembly> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => {});
  const app = describeApp(readAssembly(options.assemblyDir), {
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    workDir: options.workDir,
  });
  if (app.apis.length === 0)
    throw new Error(
      `${options.assemblyDir} has no WebSocket API (AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET)`,
    );
  // Two stages under one path: the @connections calls of the second would reach the first's pool.
  for (const api of app.apis) {
    if (options.stage === undefined || api.stage === undefined) continue;
    if ((api.otherStages ?? []).some((stage) => stage.name === options.stage))
      throw new Error(
        `stage ${options.stage} would serve ${api.name}'s first stage (${api.stage.name}) under the name of another of its stages: pick a name none of its stages has`,
      );
  }
  const { region, accountId } = localEnvironment(app, options, log);
  const regionOfStack = new Map(app.stacks.map((s) => [s.stackName, s.region]));

  const functions = app.functions.map((fn) => {
    const extra = options.environmentFor?.(fn) ?? {};
    return Object.keys(extra).length > 0 ? { ...fn, environment: { ...fn.environment, ...extra } } : fn;
  });
  await Promise.all(functions.map(materializeCode));

  // 1. DynamoDB (dynalite) and the AWS services endpoint, which knows every function's policy, in a
  // worker thread: the request path of every SDK call runs on the second core.
  if (options.dataDir) cleanups.push(await lockDataDir(options.dataDir));
  const services = await startAwsServicesWorker({
    region,
    accountId,
    ...(options.dataDir ? { dynalitePath: path.join(options.dataDir, 'dynamodb') } : {}),
    functions,
    secrets: app.secrets.map((secret) => ({
      name: secret.name,
      arn: secret.arn,
      secretString: options.secretValue?.(secret, app) ?? secret.value,
    })),
    parameters: app.parameters.map((p) => ({
      name: p.name,
      value: p.value,
      type: p.type === 'StringList' || p.type === 'SecureString' ? p.type : 'String',
    })),
    // Nothing can restart the worker with its data mid-run: say plainly that every call now fails.
    onFailure: (message) =>
      log(
        `[services] ${message}\n[services] DynamoDB, Secrets Manager and SSM calls will fail until the local stack is restarted.`,
      ),
  });
  cleanups.push(() => services.stop());
  const dynamodbEndpoint = services.dynamodbEndpoint;
  const adminDynamoDb = new DynamoDBClient({
    endpoint: dynamodbEndpoint,
    region,
    credentials: { accessKeyId: 'local-admin', secretAccessKey: 'local-admin' },
  });
  cleanups.push(async () => adminDynamoDb.destroy());
  // 2. The tables.
  for (const table of app.tables) await ensureTable(adminDynamoDb, table);

  // 3. One HTTP server per API stage (its port is needed for the runtime's outbound routes).
  type ServedStage = {
    description: WebSocketApiDescription;
    stageDescription: StageDescription | undefined;
    server: Server;
    port: number;
    stage: string;
    templateStage: string;
    pool: ConnectionPool;
    domainName: string;
    region: string;
  };
  const served: ServedStage[] = [];
  for (const description of app.apis) {
    const apiRegion = regionOfStack.get(description.stackName) ?? region;
    // Every stage's @connections answers on every stage's port: the functions reach the API's one
    // execute-api host, which leads to the first stage's port, with the stage in the path.
    const stagesOfApi: ServedStage[] = [];
    const handleManagement = (req: IncomingMessage, res: ServerResponse): boolean =>
      stagesOfApi.some((entry) =>
        handleManagementRequest(req, res, entry.pool, {
          stage: entry.stage,
          stageAliases: entry.stage === entry.templateStage ? [] : [entry.templateStage],
          policyStage: entry.templateStage,
          authorize: async (request, call) => {
            const verdict = services.authorizeManagementRequest(request, {
              apiId: description.apiId,
              stage: call.stage,
              connectionId: call.connectionId,
            });
            if (!verdict.allowed) {
              log(`[@connections] refused ${call.method} ${call.connectionId}: ${verdict.body}`);
              return verdict;
            }
            return options.connectionsFault?.(call);
          },
        }),
      );
    const stages = description.stage ? [description.stage, ...(description.otherStages ?? [])] : [undefined];
    for (const [stageIndex, stageDescription] of stages.entries()) {
      const index = served.length;
      const templateStage = stageDescription?.name ?? options.stage ?? 'local';
      // --stage renames the API's first stage; further stages keep their names.
      const stage = stageIndex === 0 ? (options.stage ?? templateStage) : templateStage;
      const server = createServer((req, res) => {
        if (handleManagement(req, res)) return;
        if (index === 0 && options.extraHttp?.(req, res)) return;
        req.resume();
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Not Found' }));
      });
      const wanted = options.port ?? 3001;
      const port = await listen(server, wanted === 0 ? 0 : wanted + index, host);
      cleanups.push(() => closeServer(server));
      const entry: ServedStage = {
        description,
        stageDescription,
        server,
        port,
        stage,
        templateStage,
        pool: new ConnectionPool(),
        domainName: `${description.apiId}.execute-api.${apiRegion}.amazonaws.com`,
        region: apiRegion,
      };
      stagesOfApi.push(entry);
      served.push(entry);
    }
  }

  // 4. The function runtime.
  const runtime = createFunctionRuntime({
    functions,
    region,
    accountId,
    servicesEndpoint: services.endpoint,
    identityFor: (functionId) => services.identityFor(functionId),
    outboundRoutes: [
      ...served.map((api) => ({ host: api.domainName, target: `http://127.0.0.1:${api.port}` })),
      // An SDK call that names an AWS host itself (SQS takes it from the QueueUrl, some handlers set
      // an endpoint in code) would leave the machine signed with a local key AWS refuses: it goes to
      // the local services instead, which serve it or say they do not emulate it.
      ...signedAwsCallRoutes(services.endpoint),
    ],
    log: options.functionLog ?? (() => {}),
    lifecycleLogs: false,
    maxInstancesPerFunction: options.maxInstancesPerFunction ?? Math.max(2, availableParallelism()),
  });
  cleanups.push(() => runtime.stop());
  const nameOf = new Map(functions.map((fn) => [fn.id, fn.functionName]));
  const invoke = async (functionId: string, event: unknown): Promise<InvokeResult> => {
    const result = await runtime.invoke(functionId, event);
    if (result.coldStart) log(`[${nameOf.get(functionId)}] cold start (${Math.round(result.durationMs)} ms)`);
    return result;
  };

  // 5. Gateways.
  const apis: ServedApi[] = [];
  for (const api of served) {
    const routes: Record<string, RouteTarget> = {};
    let connectAuthorizer: Parameters<typeof attachGateway>[0]['connectAuthorizer'];
    let connectRequiresSignature = false;
    for (const route of api.description.routes) {
      if ('notRun' in route) {
        // API Gateway would run it; here its messages fail as a broken integration's do (logged
        // with the reason) instead of reaching $default. A $disconnect has no one to tell.
        if (route.routeKey === '$disconnect') continue;
        const reason = route.notRun;
        routes[route.routeKey] = {
          name: `not run: ${route.logicalId}`,
          twoWay: route.twoWay,
          handler: async () => {
            throw new Error(`this route is not run locally (${reason})`);
          },
        };
        continue;
      }
      if ('http' in route) {
        const http = route.http;
        routes[route.routeKey] = {
          name: `HTTP_PROXY ${http.logicalId}`,
          twoWay: route.twoWay,
          handler: async (event) => runHttpProxyIntegration(http, event),
        };
        continue;
      }
      if ('mock' in route) {
        const mock = route.mock;
        // Errors are thrown from the handler: the gateway logs them and answers as AWS does.
        routes[route.routeKey] = {
          name: `MOCK ${mock.logicalId}`,
          twoWay: route.twoWay,
          handler: async (event) => runMockIntegration(mock, event),
        };
        continue;
      }
      const functionId = route.functionId;
      routes[route.routeKey] = {
        name: nameOf.get(functionId) ?? functionId,
        twoWay: route.twoWay,
        invoke: (event) => invoke(functionId, event),
      };
      if (route.iamAuthorization && route.routeKey === '$connect') connectRequiresSignature = true;
      if (route.authorizer && route.routeKey === '$connect') {
        const authorizer = route.authorizer;
        connectAuthorizer = {
          name: authorizer.name,
          identitySources: authorizer.identitySources,
          invoke: (event) => invoke(authorizer.functionId, event),
        };
      } else if (route.authorizer) {
        log(
          `[${api.description.name}] route ${route.routeKey}: authorizers run on $connect only (as on AWS)`,
        );
      }
    }
    const gateway = attachGateway({
      server: api.server,
      stage: api.stage,
      routes,
      pool: api.pool,
      apiId: api.description.apiId,
      accountId,
      region: api.region,
      domainName: api.domainName,
      routeSelectionExpression: api.description.routeSelectionExpression,
      ...(connectAuthorizer ? { connectAuthorizer } : {}),
      ...(connectRequiresSignature ? { connectRequiresSignature } : {}),
      ...(api.stageDescription
        ? {
            throttle: {
              ...(api.stageDescription.defaultThrottle
                ? { defaultRoute: api.stageDescription.defaultThrottle }
                : {}),
              routes: api.stageDescription.routeThrottle,
            },
          }
        : {}),
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      ...(options.maxConnectionMs !== undefined ? { maxConnectionMs: options.maxConnectionMs } : {}),
      log,
    });
    // Closed before the runtime stops, so every $disconnect still runs.
    cleanups.push(() => gateway.close());
    apis.push({
      description: api.description,
      port: api.port,
      stage: api.stage,
      wsUrl: `ws://localhost:${api.port}/${api.stage}`,
      httpUrl: `http://localhost:${api.port}`,
      managementEndpoint: `http://127.0.0.1:${api.port}/${api.stage}`,
      gateway,
    });
  }

  // 6. Schedules.
  const jobs: ScheduledJob[] = [];
  for (const schedule of app.schedules) {
    if (!schedule.enabled) continue;
    const parsed = parseSchedule(schedule.expression);
    for (const target of schedule.targets) {
      const timing =
        parsed.kind === 'rate'
          ? { intervalMs: options.scheduleIntervalMs ?? parsed.intervalMs }
          : { cron: schedule.expression };
      jobs.push({
        name: schedule.ruleName,
        functionName: nameOf.get(target.functionId) ?? target.functionId,
        accountId,
        ...(target.input !== undefined ? { input: target.input } : {}),
        ...timing,
        invoke: (event) => invoke(target.functionId, event),
      });
    }
  }
  const scheduler = startScheduler(jobs, { region, log });
  cleanups.push(() => scheduler.stop());

  let stopped: Promise<void> | undefined;
  return {
    app,
    apis,
    dynamodbEndpoint,
    servicesEndpoint: services.endpoint,
    services,
    runtime,
    scheduler,
    adminDynamoDb,
    stop() {
      stopped ??= cleanup();
      return stopped;
    },
  };
}
