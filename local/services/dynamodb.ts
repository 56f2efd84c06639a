/**
 * DynamoDB: the IAM checks each operation needs, then the request forwarded unchanged to dynalite
 * (over a keep-alive connection, the answer streamed back).
 *
 * What IAM checks (per the service authorization reference):
 * - item and table operations: `dynamodb:<Op>` on `table/<TableName>`;
 * - Query and Scan with IndexName: on `table/<TableName>/index/<IndexName>`;
 * - BatchGetItem / BatchWriteItem: `dynamodb:BatchGetItem` / `dynamodb:BatchWriteItem` on every table;
 * - TransactGetItems: `dynamodb:GetItem` per item; TransactWriteItems: `dynamodb:PutItem`,
 *   `UpdateItem`, `DeleteItem` or `ConditionCheckItem` per item, each on its table;
 * - ListTables and other account-level operations: on `*`.
 * dynalite has no transactions and no PartiQL: an authorized Transact* call, and any PartiQL call
 * (whose IAM actions depend on its statement), is refused with a message that says so.
 */
import {
  Agent,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { Readable } from 'node:stream';
import { type AccountScope, dynamodbTableArn } from '../iam/arns';
import { replyError } from './replies';

const PROTOCOL = 'application/x-amz-json-1.0';
export const DYNAMODB_TARGET_PREFIX = 'DynamoDB_20120810.';
const DYNAMODB_ERROR = 'com.amazonaws.dynamodb.v20120810#';

export interface IamCheck {
  readonly action: string;
  readonly resource: string;
}

const asRecord = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

const TRANSACT_WRITE_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/** DynamoDB accepts a table's ARN wherever it takes a table name. */
const tableArnOf = (scope: AccountScope, name: unknown): string => {
  const text = String(name);
  return text.startsWith('arn:') ? text : dynamodbTableArn(scope, text);
};

/** `arn:aws:dynamodb:r:a:table/T` -> `T`; a plain name stays as it is. */
const tableNameOf = (name: string): string => {
  if (!name.startsWith('arn:')) return name;
  const at = name.indexOf(':table/');
  return at < 0 ? name : name.slice(at + ':table/'.length);
};

/**
 * Replaces table ARNs in the request with the names dynalite knows (in place); true when it did.
 * The IAM checks have already seen the ARNs.
 */
export function tableArnsToNames(body: Record<string, unknown>): boolean {
  let changed = false;
  const rename = (holder: Record<string, unknown>) => {
    if (typeof holder.TableName === 'string' && holder.TableName.startsWith('arn:')) {
      holder.TableName = tableNameOf(holder.TableName);
      changed = true;
    }
  };
  rename(body);
  const requestItems = asRecord(body.RequestItems);
  for (const key of Object.keys(requestItems)) {
    if (!key.startsWith('arn:')) continue;
    requestItems[tableNameOf(key)] = requestItems[key];
    delete requestItems[key];
    changed = true;
  }
  if (Array.isArray(body.TransactItems)) {
    for (const item of body.TransactItems)
      for (const value of Object.values(asRecord(item))) rename(asRecord(value));
  }
  return changed;
}

/** The checks for one request, in the order AWS would report the first refusal. */
export function dynamodbChecks(
  scope: AccountScope,
  operation: string,
  body: Record<string, unknown>,
): IamCheck[] {
  const action = `dynamodb:${operation}`;
  const table = (name: unknown) => tableArnOf(scope, name);
  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys(asRecord(body.RequestItems)).map((name) => ({ action, resource: table(name) }));
    case 'TransactGetItems':
    case 'TransactWriteItems': {
      const items = Array.isArray(body.TransactItems) ? body.TransactItems : [];
      return items.flatMap((item) =>
        Object.entries(asRecord(item)).map(([kind, value]) => ({
          action:
            operation === 'TransactGetItems' ? 'dynamodb:GetItem' : (TRANSACT_WRITE_ACTIONS[kind] ?? action),
          resource: table(asRecord(value).TableName),
        })),
      );
    }
    case 'Query':
    case 'Scan':
      if (typeof body.IndexName === 'string' && typeof body.TableName === 'string') {
        return [{ action, resource: `${table(body.TableName)}/index/${body.IndexName}` }];
      }
      break;
  }
  if (typeof body.TableName === 'string') return [{ action, resource: table(body.TableName) }];
  return [{ action, resource: '*' }];
}

export interface DynamoDbFaults {
  /** Share of authorized calls refused as throttled (400), from 0 to 1. @default 0 */
  readonly throttleRate?: number;
  /** The error a throttled call gets. @default 'ProvisionedThroughputExceededException' */
  readonly throttleError?: 'ProvisionedThroughputExceededException' | 'ThrottlingException';
  /** Share of authorized calls answered with InternalServerError (500), from 0 to 1. @default 0 */
  readonly serverErrorRate?: number;
  /** Milliseconds added before each authorized call that is let through. @default 0 */
  readonly latencyMs?: number;
  /**
   * Only these operations get faults, e.g. `['PutItem', 'UpdateItem']`.
   *
   * @default - every operation
   */
  readonly operations?: readonly string[];
  /**
   * Only calls that touch one of these tables (physical names) get faults.
   *
   * @default - every table
   */
  readonly tables?: readonly string[];
}

/** Whether the faults apply to this call (its operation and the tables of its checks). */
export function faultsApply(faults: DynamoDbFaults, operation: string, checks: readonly IamCheck[]): boolean {
  if (faults.operations && !faults.operations.includes(operation)) return false;
  if (!faults.tables) return true;
  const wanted = faults.tables;
  return checks.some((check) => {
    const at = check.resource.indexOf(':table/');
    if (at < 0) return false;
    const name = check.resource.slice(at + ':table/'.length).split('/')[0] ?? '';
    return wanted.includes(name);
  });
}

export function validateFaults(faults: DynamoDbFaults): void {
  for (const [name, rate] of [
    ['throttleRate', faults.throttleRate],
    ['serverErrorRate', faults.serverErrorRate],
  ] as const) {
    if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0 && rate <= 1)) {
      throw new Error(`dynamodb fault ${name} must be a number from 0 to 1, got ${String(rate)}`);
    }
  }
  const latency = faults.latencyMs;
  if (latency !== undefined && !(Number.isFinite(latency) && latency >= 0 && latency <= 600_000)) {
    throw new Error(`dynamodb fault latencyMs must be a number from 0 to 600000, got ${String(latency)}`);
  }
}

/** Answers the call with an injected fault, or returns false to let it through. */
export function injectFault(
  res: ServerResponse,
  faults: DynamoDbFaults,
  random: () => number,
): 'throttled' | 'server-error' | false {
  const throttleRate = faults.throttleRate ?? 0;
  const serverErrorRate = faults.serverErrorRate ?? 0;
  if (throttleRate === 0 && serverErrorRate === 0) return false;
  const draw = random();
  if (draw < throttleRate) {
    if (faults.throttleError === 'ThrottlingException') {
      replyError(
        res,
        PROTOCOL,
        400,
        'com.amazon.coral.availability#ThrottlingException',
        'Rate of requests exceeds the allowed throughput.',
      );
    } else {
      replyError(
        res,
        PROTOCOL,
        400,
        `${DYNAMODB_ERROR}ProvisionedThroughputExceededException`,
        'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      );
    }
    return 'throttled';
  }
  if (draw < throttleRate + serverErrorRate) {
    replyError(res, PROTOCOL, 500, `${DYNAMODB_ERROR}InternalServerError`, 'Internal server error');
    return 'server-error';
  }
  return false;
}

/** Operations dynalite cannot run, with what to do instead. */
const UNAVAILABLE: Record<string, string> = {
  TransactWriteItems:
    'dynalite, the local DynamoDB, has no transactions. Design on single-item conditional writes.',
  TransactGetItems:
    'dynalite, the local DynamoDB, has no transactions. Read the items with GetItem or BatchGetItem.',
  ExecuteStatement: 'dynalite, the local DynamoDB, has no PartiQL. Use the item and query operations.',
  BatchExecuteStatement: 'dynalite, the local DynamoDB, has no PartiQL. Use the item and query operations.',
  ExecuteTransaction: 'dynalite, the local DynamoDB, has no PartiQL or transactions.',
};

/** True when dynalite cannot run the operation (transactions, PartiQL). */
export const isUnavailable = (operation: string): boolean => Object.hasOwn(UNAVAILABLE, operation);

export function refuseUnavailable(res: ServerResponse, operation: string): void {
  replyError(
    res,
    PROTOCOL,
    400,
    'com.amazon.coral.service#UnknownOperationException',
    `${operation} is not available locally: ${UNAVAILABLE[operation] ?? 'dynalite does not implement it.'}`,
  );
}

/** Where authorized DynamoDB calls go. */
export interface DynamoDbBackend {
  forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void;
  close(): void;
}

/**
 * dynalite running in this process: the call is handed to its request handler with the body
 * already read, and it answers on our response, which saves a second HTTP round trip per call.
 */
export class InProcessDynalite implements DynamoDbBackend {
  private readonly handler: (req: IncomingMessage, res: ServerResponse) => void;

  constructor(server: Server) {
    const handler = server.listeners('request')[0];
    if (typeof handler !== 'function') throw new Error('the dynalite server has no request handler');
    this.handler = handler as (req: IncomingMessage, res: ServerResponse) => void;
  }

  forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const replay = Object.assign(Readable.from([body], { objectMode: false }), {
      headers: req.headers,
      method: req.method,
      url: req.url,
    });
    this.handler(replay as unknown as IncomingMessage, res);
  }

  close(): void {}
}

export class DynaliteForwarder implements DynamoDbBackend {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly url: URL;

  constructor(endpoint: string) {
    this.url = new URL(endpoint);
  }

  forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const headers = { ...req.headers, host: this.url.host, 'content-length': String(body.length) };
    delete headers.connection;
    const upstream = httpRequest(
      {
        agent: this.agent,
        hostname: this.url.hostname,
        port: this.url.port,
        method: 'POST',
        path: '/',
        headers,
      },
      (answer) => {
        const answerHeaders = { ...answer.headers };
        delete answerHeaders.connection;
        delete answerHeaders['keep-alive'];
        res.writeHead(answer.statusCode ?? 500, answerHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      replyError(
        res,
        PROTOCOL,
        500,
        `${DYNAMODB_ERROR}InternalServerError`,
        `local DynamoDB unreachable: ${error.message}`,
      );
    });
    upstream.end(body);
  }

  close(): void {
    this.agent.destroy();
  }
}

export const DYNAMODB_PROTOCOL = PROTOCOL;
