/**
 * The AWS APIs that functions reach through `AWS_ENDPOINT_URL`: DynamoDB (forwarded to dynalite),
 * Secrets Manager and SSM Parameter Store (in memory), each call checked against the calling
 * function's IAM policy first and refused as AWS refuses it. The same registry authorizes the
 * `@connections` calls the management API serves (`authorizeManagementRequest`).
 *
 * Usage (the composition):
 *   const services = await startAwsServices({ region, accountId, dynalite, functions, secrets, parameters });
 *   (dynalite: the in-process dynalite server; or dynamodbEndpoint: its URL)
 *   runtime env per function: AWS_ENDPOINT_URL=services.endpoint, plus services.identityFor(fn.id)
 *   as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY;
 *   management API, before serving POST/GET/DELETE /<stage>/@connections/<id>:
 *     const verdict = services.authorizeManagementRequest(req, { apiId, stage, connectionId });
 *     if (!verdict.allowed) return sendDenial(res, verdict);
 *
 * Refusals:
 * - no SigV4 Authorization header: 400 MissingAuthenticationTokenException;
 * - an access key no function was given: 400 UnrecognizedClientException ("The security token
 *   included in the request is invalid."), as DynamoDB, Secrets Manager and SSM answer;
 * - a call the policy does not allow: 400 AccessDeniedException, message
 *   `User: <assumed-role ARN> is not authorized to perform: <action> on resource: <ARN> because no
 *   identity-based policy allows the <action> action` (or `with an explicit deny in an
 *   identity-based policy`). DynamoDB's `__type` is `com.amazon.coral.service#AccessDeniedException`
 *   with the text under `Message`, as DynamoDB sends it; the SDK names the error AccessDeniedException.
 *
 * Fault injection (for chaos runs): a share of authorized DynamoDB calls throttled (400
 * ProvisionedThroughputExceededException or ThrottlingException) or failed (500
 * InternalServerError), or delayed, optionally only for some operations or tables; set with
 * `faults` at start or `setFaults` at run time.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AccountScope, accessDeniedMessage, type ConnectionsMethod, connectionsArn } from '../iam/arns';
import type { RequestContext } from '../iam/conditions';
import type { Decision } from '../iam/evaluate';
import type { FunctionIdentity, PolicyStatement } from '../runtime/contract';
import {
  accessKeyOf,
  CallerRegistry,
  decide,
  type RegisteredCaller,
  type ServiceCaller,
  signedServiceOf,
} from './callers';
import { requestContext } from './context';
import {
  checkTableName,
  DYNAMODB_PROTOCOL,
  DYNAMODB_TARGET_PREFIX,
  DynaliteForwarder,
  type DynamoDbBackend,
  type DynamoDbFaults,
  dynamodbChecks,
  dynamodbKey,
  faultsApply,
  type IamCheck,
  InProcessDynalite,
  injectFault,
  isUnavailable,
  type KeySchema,
  keySchemaOf,
  refuseUnavailable,
  tableArnsToNames,
  validateFaults,
} from './dynamodb';
import {
  type JsonProtocol,
  parseObject,
  readBody,
  replyError,
  replyErrorInProtocol,
  replyJson,
} from './replies';
import { SECRETS_MANAGER_TARGET_PREFIX, type SecretInput, SecretsStore } from './secrets-manager';
import { type ParameterInput, ParameterStore, SSM_TARGET_PREFIX } from './ssm';

export type { Decision } from '../iam/evaluate';
export type { ServiceCaller } from './callers';
export type { DynamoDbFaults } from './dynamodb';
export type { SecretInput } from './secrets-manager';
export type { ParameterInput } from './ssm';

export interface AwsServicesOptions {
  /** The local account's region, as in every ARN. @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** @default 'aws' */
  readonly partition?: string;
  /**
   * dynalite's URL, e.g. `http://127.0.0.1:4567`, where authorized DynamoDB calls are forwarded.
   * Table names in requests are its physical names. Give this or `dynalite`.
   */
  readonly dynamodbEndpoint?: string;
  /**
   * The dynalite server, when it runs in this process: authorized calls are handed to its request
   * handler directly, without a second HTTP round trip. Wins over `dynamodbEndpoint`.
   */
  readonly dynalite?: Server;
  /** Functions that may call (more can be added with `registerFunction`). */
  readonly functions?: readonly ServiceCaller[];
  readonly secrets?: readonly SecretInput[];
  readonly parameters?: readonly ParameterInput[];
  readonly faults?: ServiceFaults;
  /**
   * Called with every IAM decision the services make (allowed and refused), e.g. to log refusals
   * or to record which grants a run used. Keep it cheap: it runs on every call.
   */
  readonly onDecision?: (decision: IamDecisionEvent) => void;
  /** Source of randomness for fault injection (tests pass a fixed sequence). @default Math.random */
  readonly random?: () => number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
}

export interface IamDecisionEvent {
  readonly functionId: string;
  readonly action: string;
  readonly resource: string;
  readonly decision: Decision;
}

export interface ServiceFaults {
  readonly dynamodb?: DynamoDbFaults;
}

export interface ServiceStats {
  /** Requests answered, by outcome. */
  readonly requests: number;
  readonly denied: number;
  readonly unrecognized: number;
  readonly throttled: number;
  readonly serverErrors: number;
}

export type ManagementAuthorization =
  | { readonly allowed: true; readonly functionId: string }
  | {
      readonly allowed: false;
      readonly status: 403;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: string;
    };

export interface ManagementTarget {
  readonly apiId: string;
  readonly stage: string;
  /** The connection id as decoded from the path. */
  readonly connectionId: string;
}

export interface AwsServices {
  /** `http://127.0.0.1:PORT`: the value of AWS_ENDPOINT_URL for every function. */
  readonly endpoint: string;
  readonly port: number;
  /** The access key the function must sign with; throws for a function never registered. */
  identityFor(functionId: string): FunctionIdentity;
  /** Adds a function (or replaces its policy and role name, keeping its key); returns its identity. */
  registerFunction(caller: ServiceCaller): FunctionIdentity;
  /** Replaces a registered function's policy (e.g. a test removing one grant). */
  setPolicy(functionId: string, policy: readonly PolicyStatement[]): void;
  /** Adds or replaces a secret; returns its ARN. */
  putSecret(secret: SecretInput): string;
  /** The ARN of a secret by name, ARN or partial ARN; undefined when there is none. */
  secretArn(secretId: string): string | undefined;
  putParameter(parameter: ParameterInput): void;
  /** Checks an `@connections` request against the signing function's policy. */
  authorizeManagementRequest(
    request: { readonly method?: string | undefined; readonly headers: IncomingHttpHeaders },
    target: ManagementTarget,
  ): ManagementAuthorization;
  setFaults(faults: ServiceFaults): void;
  stats(): ServiceStats;
  stop(): Promise<void>;
}

/** BatchWriteItem's 16 MB request limit, with room to spare. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;
const JSON_1_1: JsonProtocol = 'application/x-amz-json-1.1';
const CORAL = 'com.amazon.coral.service#';

/** Sends a refusal from `authorizeManagementRequest` as the management API's answer. */
export function sendDenial(
  res: ServerResponse,
  denial: Extract<ManagementAuthorization, { allowed: false }>,
): void {
  res.writeHead(denial.status, { ...denial.headers, 'content-length': Buffer.byteLength(denial.body) });
  res.end(denial.body);
}

export async function startAwsServices(options: AwsServicesOptions): Promise<AwsServices> {
  const scope: AccountScope = {
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    ...(options.partition ? { partition: options.partition } : {}),
  };
  const callers = new CallerRegistry(scope);
  for (const fn of options.functions ?? []) callers.register(fn);
  const secrets = new SecretsStore(scope);
  for (const secret of options.secrets ?? []) secrets.put(secret);
  const parameters = new ParameterStore(scope);
  for (const parameter of options.parameters ?? []) parameters.put(parameter);
  let faults: ServiceFaults = {};
  const setFaults = (next: ServiceFaults) => {
    validateFaults(next.dynamodb ?? {});
    faults = next;
  };
  setFaults(options.faults ?? {});
  const random = options.random ?? Math.random;
  const forwarder = dynamoDbBackend(options);
  const counters = { requests: 0, denied: 0, unrecognized: 0, throttled: 0, serverErrors: 0 };
  const onDecision = options.onDecision;
  const judge = (
    caller: RegisteredCaller,
    action: string,
    resource: string,
    context?: RequestContext,
  ): Decision => {
    const decision = decide(caller, action, resource, context);
    onDecision?.({ functionId: caller.functionId, action, resource, decision });
    return decision;
  };

  /**
   * Key schemas for dynamodb:LeadingKeys, asked of dynalite once per table, and only for callers
   * whose policy reads that key. A CreateTable, DeleteTable or UpdateTable through this endpoint
   * forgets the table's entry; one made directly on dynalite (the composition's admin client) is
   * not seen, so a table recreated there with another partition key keeps the old one here.
   */
  const keySchemas = new Map<string, Promise<KeySchema | undefined>>();
  const keySchemaFor = (tableName: string, req: IncomingMessage): Promise<KeySchema | undefined> => {
    let found = keySchemas.get(tableName);
    if (!found) {
      found = forwarder.describeTable(tableName, req.headers).then((answer) => {
        const schema = keySchemaOf(answer);
        if (!schema) keySchemas.delete(tableName);
        return schema;
      });
      keySchemas.set(tableName, found);
    }
    return found;
  };

  /** The context of each DynamoDB check, or undefined when the caller's policy has no conditions. */
  const dynamodbContexts = async (
    req: IncomingMessage,
    caller: RegisteredCaller,
    operation: string,
    request: Record<string, unknown>,
    checks: readonly IamCheck[],
  ): Promise<(check: IamCheck) => RequestContext> => {
    const schemas = new Map<string, KeySchema | undefined>();
    if (caller.conditionKeys.has('dynamodb:leadingkeys')) {
      for (const check of checks) {
        const name = checkTableName(check);
        if (name !== undefined && !schemas.has(name)) schemas.set(name, await keySchemaFor(name, req));
      }
    }
    return (check) => {
      const name = checkTableName(check);
      const schema = name === undefined ? undefined : schemas.get(name);
      return requestContext(
        scope,
        caller,
        (key) => dynamodbKey(key, operation, request, check, schema),
        req.headers,
      );
    };
  };

  /** Runs the checks; answers the first refusal and returns false, or returns true. */
  const authorize = (
    res: ServerResponse,
    protocol: JsonProtocol,
    caller: RegisteredCaller,
    checks: readonly IamCheck[],
    deniedType: string,
    messageKey: 'message' | 'Message',
    shownResource?: string,
    contextOf?: (check: IamCheck) => RequestContext,
  ): boolean => {
    for (const check of checks) {
      const decision = judge(caller, check.action, check.resource, contextOf?.(check));
      if (decision === 'allow') continue;
      counters.denied++;
      const message = accessDeniedMessage(
        caller.principalArn,
        check.action,
        shownResource ?? check.resource,
        decision,
      );
      replyError(res, protocol, 400, deniedType, message, messageKey);
      return false;
    }
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    counters.requests++;
    const body = await readBody(req, MAX_BODY_BYTES);
    const target = req.headers['x-amz-target'];
    const isDynamo = typeof target === 'string' && target.startsWith(DYNAMODB_TARGET_PREFIX);
    const protocol: JsonProtocol = isDynamo ? DYNAMODB_PROTOCOL : JSON_1_1;
    const accessKey = accessKeyOf(req.headers);
    if (accessKey === null) {
      replyError(
        res,
        protocol,
        400,
        `${CORAL}MissingAuthenticationTokenException`,
        'Request is missing Authentication Token',
      );
      return;
    }
    const caller = callers.byAccessKey(accessKey);
    if (!caller && typeof target !== 'string') {
      // A REST or query call: a handler signing with keys of its own reaches here, as every signed
      // call to an AWS endpoint does, and must be told so in a protocol its client can read.
      counters.unrecognized++;
      const service = signedServiceOf(req.headers);
      const formEncoded = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      replyErrorInProtocol(
        res,
        { service, contentType: req.headers['content-type'] },
        403,
        service === 's3'
          ? 'InvalidAccessKeyId'
          : formEncoded
            ? 'InvalidClientTokenId'
            : 'UnrecognizedClientException',
        `The security token included in the request is invalid: the local stack serves every signed call to an AWS endpoint, and no function was given the access key ${accessKey}.`,
      );
      return;
    }
    if (!caller) {
      counters.unrecognized++;
      replyError(
        res,
        protocol,
        400,
        `${CORAL}UnrecognizedClientException`,
        'The security token included in the request is invalid.',
      );
      return;
    }
    if (body === null) {
      replyError(res, protocol, 413, `${CORAL}RequestEntityTooLarge`, 'Request entity too large');
      return;
    }
    if (typeof target !== 'string') {
      const service = signedServiceOf(req.headers);
      replyErrorInProtocol(
        res,
        { service, contentType: req.headers['content-type'] },
        400,
        'UnsupportedServiceException',
        `The local stack does not emulate ${service ?? 'this service'} (it emulates DynamoDB, Secrets Manager, SSM Parameter Store and @connections).`,
      );
      return;
    }
    const request = parseObject(body);
    if (request === null) {
      replyError(
        res,
        protocol,
        400,
        'SerializationException',
        'Start of structure or map found where not expected.',
      );
      return;
    }
    const dot = target.indexOf('.');
    const operation = target.slice(dot + 1);

    if (isDynamo) {
      const unavailable = isUnavailable(operation);
      // PartiQL's IAM actions depend on its statement, which dynalite could not run anyway.
      if (unavailable && !operation.startsWith('Transact')) {
        refuseUnavailable(res, operation);
        return;
      }
      const checks = dynamodbChecks(scope, operation, request);
      // Roles without conditions (this project's) skip even the await.
      const contexts =
        caller.conditionKeys.size === 0
          ? undefined
          : await dynamodbContexts(req, caller, operation, request, checks);
      if (
        !authorize(
          res,
          protocol,
          caller,
          checks,
          `${CORAL}AccessDeniedException`,
          'Message',
          undefined,
          contexts,
        )
      )
        return;
      if (operation === 'CreateTable' || operation === 'DeleteTable' || operation === 'UpdateTable') {
        for (const check of checks) {
          const name = checkTableName(check);
          if (name !== undefined) keySchemas.delete(name);
        }
      }
      if (unavailable) {
        refuseUnavailable(res, operation);
        return;
      }
      const dynamoFaults = faults.dynamodb;
      const faulty = dynamoFaults !== undefined && faultsApply(dynamoFaults, operation, checks);
      if (faulty) {
        const fault = injectFault(res, dynamoFaults, random);
        if (fault === 'throttled') counters.throttled++;
        if (fault === 'server-error') counters.serverErrors++;
        if (fault) return;
      }
      // Rare (a table ARN as TableName), so only then is the body written again.
      const forwarded = tableArnsToNames(request) ? Buffer.from(JSON.stringify(request)) : body;
      const latencyMs = faulty ? (dynamoFaults.latencyMs ?? 0) : 0;
      if (latencyMs > 0) setTimeout(() => forwarder.forward(req, forwarded, res), latencyMs);
      else forwarder.forward(req, forwarded, res);
      return;
    }
    if (target.startsWith(SECRETS_MANAGER_TARGET_PREFIX)) {
      const { check, shownResource } = secrets.check(operation, request);
      const context =
        caller.conditionKeys.size === 0
          ? undefined
          : () => requestContext(scope, caller, (key) => secrets.conditionKey(key, request), req.headers);
      if (
        !authorize(res, JSON_1_1, caller, [check], 'AccessDeniedException', 'Message', shownResource, context)
      )
        return;
      const answer = secrets.answer(operation, request);
      if (answer.kind === 'ok') replyJson(res, 200, JSON_1_1, answer.body);
      else replyError(res, JSON_1_1, 400, answer.type, answer.message, 'Message');
      return;
    }
    if (target.startsWith(SSM_TARGET_PREFIX)) {
      const checks = parameters.checks(operation, request);
      // SSM adds no condition keys of its own to these reads: the global keys only.
      const context =
        caller.conditionKeys.size === 0
          ? undefined
          : () => requestContext(scope, caller, undefined, req.headers);
      if (!authorize(res, JSON_1_1, caller, checks, 'AccessDeniedException', 'message', undefined, context))
        return;
      const answer = parameters.answer(operation, request);
      if (answer.kind === 'ok') replyJson(res, 200, JSON_1_1, answer.body);
      else replyError(res, JSON_1_1, 400, answer.type, answer.message);
      return;
    }
    replyError(
      res,
      JSON_1_1,
      400,
      'UnknownOperationException',
      `The local stack does not emulate ${target.slice(0, dot)} (it emulates DynamoDB, Secrets Manager, SSM Parameter Store and @connections).`,
    );
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      replyError(
        res,
        JSON_1_1,
        500,
        'InternalFailure',
        error instanceof Error ? error.message : String(error),
      );
    });
  });
  // Longer than the SDK's idle sockets live, so a reused socket is never closed under a request.
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://${host}:${port}`,
    port,
    identityFor: (functionId) => callers.identityFor(functionId),
    registerFunction: (caller) => callers.register(caller),
    setPolicy: (functionId, policy) => callers.setPolicy(functionId, policy),
    putSecret: (secret) => secrets.put(secret),
    secretArn: (secretId) => secrets.find(secretId)?.arn,
    putParameter: (parameter) => parameters.put(parameter),
    authorizeManagementRequest: managementAuthorizer(scope, callers, judge, counters),
    setFaults,
    stats: () => ({ ...counters }),
    stop: () =>
      new Promise<void>((resolve) => {
        forwarder.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function dynamoDbBackend(options: AwsServicesOptions): DynamoDbBackend {
  if (options.dynalite) return new InProcessDynalite(options.dynalite);
  if (options.dynamodbEndpoint) return new DynaliteForwarder(options.dynamodbEndpoint);
  throw new Error('startAwsServices needs dynamodbEndpoint or dynalite');
}

/**
 * Checks `@connections` requests against the signing function's policy. Shared with the services
 * worker's front (worker.ts), which answers these in the gateway's thread from its own registry.
 */
export function managementAuthorizer(
  scope: AccountScope,
  callers: CallerRegistry,
  judge: (caller: RegisteredCaller, action: string, resource: string, context?: RequestContext) => Decision,
  counters: { unrecognized: number; denied: number },
): AwsServices['authorizeManagementRequest'] {
  return (request, target) => {
    const accessKey = accessKeyOf(request.headers);
    if (accessKey === null) {
      return managementRefusal('ForbiddenException', { message: 'Missing Authentication Token' });
    }
    const caller = callers.byAccessKey(accessKey);
    if (!caller) {
      counters.unrecognized++;
      return managementRefusal('UnrecognizedClientException', {
        message: 'The security token included in the request is invalid.',
      });
    }
    const method = (request.method ?? 'GET').toUpperCase() as ConnectionsMethod;
    const resource = connectionsArn(scope, target.apiId, target.stage, method, target.connectionId);
    const action = 'execute-api:ManageConnections';
    // execute-api adds no condition keys of its own to @connections calls: the global keys only.
    const context =
      caller.conditionKeys.size === 0 ? undefined : requestContext(scope, caller, undefined, request.headers);
    const decision = judge(caller, action, resource, context);
    if (decision === 'allow') return { allowed: true, functionId: caller.functionId };
    counters.denied++;
    return managementRefusal('AccessDeniedException', {
      Message: accessDeniedMessage(caller.principalArn, action, resource, decision, { withReason: false }),
    });
  };
}

function managementRefusal(errorType: string, body: Record<string, string>): ManagementAuthorization {
  return {
    allowed: false,
    status: 403,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': errorType },
    body: JSON.stringify(body),
  };
}
