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
  type ClientRequest,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
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
  /** The table as the request names it (name or ARN), for the condition keys of DynamoDB checks. */
  readonly table?: string;
  readonly index?: string;
  /** A transaction's item (its Put, Update, Delete or ConditionCheck), whose keys the check covers. */
  readonly item?: Record<string, unknown>;
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
      return Object.keys(asRecord(body.RequestItems)).map((name) => ({
        action,
        resource: table(name),
        table: name,
      }));
    case 'TransactGetItems':
    case 'TransactWriteItems': {
      const items = Array.isArray(body.TransactItems) ? body.TransactItems : [];
      return items.flatMap((item) =>
        Object.entries(asRecord(item)).map(([kind, value]) => ({
          action:
            operation === 'TransactGetItems' ? 'dynamodb:GetItem' : (TRANSACT_WRITE_ACTIONS[kind] ?? action),
          resource: table(asRecord(value).TableName),
          table: String(asRecord(value).TableName),
          item: asRecord(value),
        })),
      );
    }
    case 'Query':
    case 'Scan':
      if (typeof body.IndexName === 'string' && typeof body.TableName === 'string') {
        return [
          {
            action,
            resource: `${table(body.TableName)}/index/${body.IndexName}`,
            table: body.TableName,
            index: body.IndexName,
          },
        ];
      }
      break;
  }
  if (typeof body.TableName === 'string')
    return [{ action, resource: table(body.TableName), table: body.TableName }];
  return [{ action, resource: '*' }];
}

/** The partition key attributes of a table and of its indexes, from DescribeTable. */
export interface KeySchema {
  readonly partitionKey: string;
  readonly indexPartitionKeys: ReadonlyMap<string, string>;
}

const hashKeyOf = (schema: unknown): string | undefined =>
  (Array.isArray(schema) ? schema : []).map(asRecord).find((element) => element.KeyType === 'HASH')
    ?.AttributeName as string | undefined;

/** The key schema in a DescribeTable answer; undefined when the answer has none (no such table). */
export function keySchemaOf(describeTableAnswer: unknown): KeySchema | undefined {
  const table = asRecord(asRecord(describeTableAnswer).Table);
  const partitionKey = hashKeyOf(table.KeySchema);
  if (typeof partitionKey !== 'string') return undefined;
  const indexPartitionKeys = new Map<string, string>();
  for (const list of [table.GlobalSecondaryIndexes, table.LocalSecondaryIndexes]) {
    for (const index of (Array.isArray(list) ? list : []).map(asRecord)) {
      const key = hashKeyOf(index.KeySchema);
      if (typeof index.IndexName === 'string' && typeof key === 'string')
        indexPartitionKeys.set(index.IndexName, key);
    }
  }
  return { partitionKey, indexPartitionKeys };
}

/** The table name of a check (an ARN in the request names the same table). */
export const checkTableName = (check: IamCheck): string | undefined =>
  check.table === undefined ? undefined : tableNameOf(check.table);

/** An attribute value as IAM compares it: strings and numbers as written, binary as base64. */
const scalarOf = (value: unknown): string | undefined => {
  const attribute = asRecord(value);
  for (const type of ['S', 'N', 'B'] as const)
    if (typeof attribute[type] === 'string') return attribute[type];
  return undefined;
};

const unique = (values: readonly (string | undefined)[]): string[] | undefined => {
  const found = [...new Set(values.filter((value): value is string => value !== undefined))];
  return found.length > 0 ? found : undefined;
};

const nameOf = (token: string, body: Record<string, unknown>): string =>
  token.startsWith('#') ? String(asRecord(body.ExpressionAttributeNames)[token] ?? token) : token;

/** The partition key value a Query asks for: `pk = :v` (either way round) or KeyConditions' EQ. */
function queriedPartitionValue(body: Record<string, unknown>, partitionKey: string): string | undefined {
  const legacy = asRecord(asRecord(body.KeyConditions)[partitionKey]);
  if (legacy.ComparisonOperator === 'EQ' && Array.isArray(legacy.AttributeValueList))
    return scalarOf(legacy.AttributeValueList[0]);
  const expression = typeof body.KeyConditionExpression === 'string' ? body.KeyConditionExpression : '';
  const values = asRecord(body.ExpressionAttributeValues);
  for (const match of expression.matchAll(/(#?[\w.-]+|:[\w]+)\s*=\s*(#?[\w.-]+|:[\w]+)/g)) {
    const [left = '', right = ''] = [match[1], match[2]];
    const [name, value] = left.startsWith(':') ? [right, left] : [left, right];
    if (value.startsWith(':') && nameOf(name, body) === partitionKey) return scalarOf(values[value]);
  }
  return undefined;
}

/** `dynamodb:LeadingKeys`: the partition key values the request touches on the check's table. */
function leadingKeys(
  operation: string,
  body: Record<string, unknown>,
  check: IamCheck,
  schema: KeySchema,
): string[] | undefined {
  const key = schema.partitionKey;
  if (check.item) {
    return unique([scalarOf(asRecord(check.item.Key)[key] ?? asRecord(check.item.Item)[key])]);
  }
  const requests = check.table === undefined ? undefined : asRecord(body.RequestItems)[check.table];
  switch (operation) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return unique([scalarOf(asRecord(body.Key)[key])]);
    case 'PutItem':
      return unique([scalarOf(asRecord(body.Item)[key])]);
    case 'Query': {
      const indexKey = check.index === undefined ? key : schema.indexPartitionKeys.get(check.index);
      return indexKey === undefined ? undefined : unique([queriedPartitionValue(body, indexKey)]);
    }
    case 'BatchGetItem': {
      const keys = asRecord(requests).Keys;
      return unique((Array.isArray(keys) ? keys : []).map((item) => scalarOf(asRecord(item)[key])));
    }
    case 'BatchWriteItem':
      return unique(
        (Array.isArray(requests) ? requests : []).map((request) => {
          const write = asRecord(request);
          return scalarOf(
            asRecord(asRecord(write.PutRequest).Item)[key] ??
              asRecord(asRecord(write.DeleteRequest).Key)[key],
          );
        }),
      );
    default:
      return undefined;
  }
}

const UPDATE_CLAUSES = new Set(['set', 'remove', 'add', 'delete']);

/** Top-level attribute names an update expression reads or writes (paths `a.b[0]` count as `a`). */
function updatedAttributes(expression: string, body: Record<string, unknown>): string[] {
  const names: string[] = [];
  for (const match of expression.matchAll(/([.:]?)(#?[A-Za-z_][\w]*)(\s*\()?/g)) {
    const [, before, token = '', call] = match;
    if (before || call || UPDATE_CLAUSES.has(token.toLowerCase())) continue;
    names.push(nameOf(token, body));
  }
  return names;
}

const projected = (holder: Record<string, unknown>, body: Record<string, unknown>): string[] => {
  const names: string[] = [];
  if (typeof holder.ProjectionExpression === 'string') {
    for (const path of holder.ProjectionExpression.split(',')) {
      const top = /^\s*(#?[^.[\s]+)/.exec(path)?.[1];
      if (top) names.push(nameOf(top, body));
    }
  }
  if (Array.isArray(holder.AttributesToGet)) names.push(...holder.AttributesToGet.map(String));
  return names;
};

/**
 * `dynamodb:Attributes`: the top-level attribute names the request names: its projection
 * (ProjectionExpression, AttributesToGet), the attributes a PutItem writes, those an UpdateItem's
 * UpdateExpression or AttributeUpdates touch. Key-only requests without a projection name none
 * (the key is absent), as a read of the whole item cannot be limited by attribute.
 */
function attributes(operation: string, body: Record<string, unknown>, check: IamCheck): string[] | undefined {
  const names: string[] = [];
  const requests = check.table === undefined ? undefined : asRecord(body.RequestItems)[check.table];
  switch (operation) {
    case 'PutItem':
      names.push(...Object.keys(asRecord(body.Item)));
      break;
    case 'UpdateItem':
      if (typeof body.UpdateExpression === 'string')
        names.push(...updatedAttributes(body.UpdateExpression, body));
      names.push(...Object.keys(asRecord(body.AttributeUpdates)));
      break;
    case 'BatchGetItem':
      names.push(...projected(asRecord(requests), asRecord(requests)));
      break;
    case 'BatchWriteItem':
      for (const request of Array.isArray(requests) ? requests : [])
        names.push(...Object.keys(asRecord(asRecord(asRecord(request).PutRequest).Item)));
      break;
  }
  names.push(...projected(body, body));
  return unique(names);
}

/**
 * The DynamoDB condition keys of one check: dynamodb:LeadingKeys (when the table's key schema is
 * known), dynamodb:Attributes, dynamodb:Select, dynamodb:ReturnValues,
 * dynamodb:ReturnConsumedCapacity. Other keys are absent.
 */
export function dynamodbKey(
  key: string,
  operation: string,
  body: Record<string, unknown>,
  check: IamCheck,
  schema: KeySchema | undefined,
): string | string[] | undefined {
  switch (key) {
    case 'dynamodb:leadingkeys':
      return schema ? leadingKeys(operation, body, check, schema) : undefined;
    case 'dynamodb:attributes':
      return attributes(operation, body, check);
    case 'dynamodb:select':
      return typeof body.Select === 'string' ? body.Select : undefined;
    case 'dynamodb:returnvalues':
      return typeof body.ReturnValues === 'string' ? body.ReturnValues : undefined;
    case 'dynamodb:returnconsumedcapacity':
      return typeof body.ReturnConsumedCapacity === 'string' ? body.ReturnConsumedCapacity : undefined;
    default:
      return undefined;
  }
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
  /** DescribeTable's answer for a table (the caller's signed headers reused), or undefined on any error. */
  describeTable(tableName: string, headers: IncomingHttpHeaders): Promise<unknown>;
  close(): void;
}

const describeHeaders = (headers: IncomingHttpHeaders, body: string): IncomingHttpHeaders => ({
  authorization: headers.authorization,
  'x-amz-date': headers['x-amz-date'] ?? new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
  'content-type': PROTOCOL,
  'x-amz-target': `${DYNAMODB_TARGET_PREFIX}DescribeTable`,
  'content-length': String(Buffer.byteLength(body)),
});

const parseAnswer = (status: number, text: string): unknown => {
  if (status !== 200) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

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

  describeTable(tableName: string, headers: IncomingHttpHeaders): Promise<unknown> {
    const body = JSON.stringify({ TableName: tableName });
    return new Promise((resolve) => {
      const replay = Object.assign(Readable.from([Buffer.from(body)], { objectMode: false }), {
        headers: describeHeaders(headers, body),
        method: 'POST',
        url: '/',
      });
      // The few members dynalite's handler uses to answer.
      const answer = {
        statusCode: 200,
        contentType: PROTOCOL,
        setHeader: () => {},
        end: (text?: string) => resolve(parseAnswer(answer.statusCode, String(text ?? ''))),
      };
      try {
        this.handler(replay as unknown as IncomingMessage, answer as unknown as ServerResponse);
      } catch {
        resolve(undefined);
      }
    });
  }

  close(): void {}
}

const DESCRIBE_TIMEOUT_MS = 5_000;

export class DynaliteForwarder implements DynamoDbBackend {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly url: URL;

  constructor(endpoint: string) {
    this.url = new URL(endpoint);
  }

  forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const headers = { ...req.headers, host: this.url.host, 'content-length': String(body.length) };
    delete headers.connection;
    const upstream = this.post(headers, (answer) => {
      const answerHeaders = { ...answer.headers };
      delete answerHeaders.connection;
      delete answerHeaders['keep-alive'];
      res.writeHead(answer.statusCode ?? 500, answerHeaders);
      answer.pipe(res);
    });
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

  describeTable(tableName: string, headers: IncomingHttpHeaders): Promise<unknown> {
    const body = JSON.stringify({ TableName: tableName });
    return new Promise((resolve) => {
      const upstream = this.post({ ...describeHeaders(headers, body), host: this.url.host }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () =>
          resolve(parseAnswer(answer.statusCode ?? 500, Buffer.concat(chunks).toString())),
        );
        answer.on('error', () => resolve(undefined));
      });
      upstream.on('error', () => resolve(undefined));
      // A describe that never answers must not hold every later call that waits for the key schema.
      upstream.setTimeout(DESCRIBE_TIMEOUT_MS, () => {
        upstream.destroy();
        resolve(undefined);
      });
      upstream.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** A POST to dynalite over the kept-alive agent. */
  private post(headers: OutgoingHttpHeaders, onAnswer: (answer: IncomingMessage) => void): ClientRequest {
    return httpRequest(
      {
        agent: this.agent,
        hostname: this.url.hostname,
        port: this.url.port,
        method: 'POST',
        path: '/',
        headers,
      },
      onAnswer,
    );
  }
}

export const DYNAMODB_PROTOCOL = PROTOCOL;
