import * as path from 'node:path';
import { type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  LogGroupLogDestination,
  type ThrottleSettings,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  TABLE_DEFINITIONS,
  type TableDefinition,
  type TableName,
} from '../lambdas/adapters/dynamodb/table-definitions';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambdas/adapters/telemetry-names';
import { environmentOf, type JwtConfig } from '../lambdas/config';
import {
  AI_SERVICE_TIMEOUT_MS,
  AUTH_DEADLINE_SECONDS,
  authDeadlineProblem,
  DEFAULT_USER_ID_CLAIM,
  isHttpsUrl,
  isOrigin,
  type JwtClaimChecks,
  type JwtMethod,
  type JwtSetting,
  jwtProblems,
  stageNameProblem,
} from '../lambdas/config-rules';
import { type FunctionSpec, ROUTES, SCHEDULED_JOBS, type TableAccess } from '../lambdas/routes';
import { ACCESS_LOG_FORMAT } from './access-log-format';
import { BackendAlarms } from './backend-alarms';
import { BackendDashboard } from './backend-dashboard';
import { pascal } from './names';

/** The repository root: handler entries in ROUTES are relative to it, and the lock file lives there. */
const PROJECT_ROOT = path.join(__dirname, '..');

/**
 * How the Lambdas verify the JWT presented in the `auth` frame: the shape the stack's context and
 * the runtime configuration share (lambdas/config-rules.ts), with the HS256 secret as an `ISecret`.
 */
export type JwtVerification = JwtMethod<{
  /**
   * Secret whose SecretString is the HS256 shared secret (a plain string, not JSON).
   *
   * @default - a new secret with a generated 64-character value; share it with the token issuer
   */
  readonly secret?: secretsmanager.ISecret;
}> &
  JwtClaimChecks;

/** CloudWatch alarms of the backend (the list is in docs/operations.md, "Monitoring and alarms"). */
export interface BackendAlarmOptions {
  /**
   * Create the alarms.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * Topic notified when an alarm fires and when it returns to OK.
   *
   * @default - alarms without actions (visible in the CloudWatch console only)
   */
  readonly topic?: sns.ITopic;

  /**
   * API Gateway `ClientError` count (4XX before a function is called) per 5 minutes above which
   * the stage's client error alarm fires.
   *
   * @default 100
   */
  readonly clientErrorThreshold?: number;

  /**
   * Percentage of failed recoveries (reconnects with an assessment in progress that got
   * `recovery_error`) per 5 minutes above which the recovery alarm fires.
   *
   * @default 5
   */
  readonly recoveryFailureRatePercent?: number;
}

export interface AssessmentWebSocketBackendProps {
  /**
   * Name of the WebSocket stage; it is the last path segment of the URL.
   *
   * @default 'prod'
   */
  readonly stageName?: string;

  /**
   * Token verification: the method, and the `issuer`, `audience` and `userIdClaim` checks.
   *
   * @default { kind: 'hs256' } - HS256 with a generated Secrets Manager secret, `sub` as the user id
   */
  readonly jwt?: JwtVerification;

  /**
   * Required `iss` claim.
   *
   * @deprecated use `jwt.issuer`
   * @default - `iss` is not checked
   */
  readonly jwtIssuer?: string;

  /**
   * Required `aud` claim.
   *
   * @deprecated use `jwt.audience`
   * @default - `aud` is not checked
   */
  readonly jwtAudience?: string;

  /**
   * Claim that carries the user id.
   *
   * @deprecated use `jwt.userIdClaim`
   * @default 'sub'
   */
  readonly userIdClaim?: string;

  /**
   * Which token claims make a proctor (docs/protocol.md, section 12): `claim` must equal `role`
   * (or be an array containing it), and `testsClaim` lists the test ids the proctor may watch.
   *
   * @default { claim: 'role', role: 'proctor', testsClaim: 'proctor_tests' }
   */
  readonly proctor?: { readonly claim?: string; readonly role?: string; readonly testsClaim?: string };

  /**
   * Origins browsers may connect from, e.g. `https://quiz.example.com`. Requests without an
   * `Origin` header (non-browser clients) are always allowed.
   *
   * @default - any origin
   */
  readonly allowedOrigins?: readonly string[];

  /**
   * Seconds a connection may stay unauthenticated before the sweep closes it.
   *
   * @default 30
   */
  readonly authDeadlineSeconds?: number;

  /**
   * Default route throttling of the stage (steady requests per second, and burst).
   *
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttle?: ThrottleSettings;

  /**
   * Retention of the Lambda and access log groups.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Memory of every function, in MB.
   *
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * CloudWatch alarms on the functions, the stage, the application's `internal_error` metric and
   * the tables.
   *
   * @default - alarms enabled, without actions
   */
  readonly alarms?: BackendAlarmOptions;

  /**
   * Create the CloudWatch dashboard (docs/operations.md, "The dashboard").
   *
   * @default true
   */
  readonly dashboard?: boolean;

  /**
   * The AI service that keeps one thread per attempt (docs/architecture.md, "The AI service").
   *
   * @default - none: thread ids are local names and answers go nowhere else
   */
  readonly aiService?: AiServiceOptions;
}

/** Where the functions reach the AI service; they call it over the internet, with no extra IAM grant. */
export interface AiServiceOptions {
  /** HTTPS base URL of the service's API, e.g. `https://ai.example.com/v1`. */
  readonly url: string;

  /**
   * Timeout of one attempt of a call; a call tries up to 3 times, within 6 s per invocation.
   *
   * @default Duration.seconds(2)
   */
  readonly timeout?: Duration;
}

const DEFAULT_THROTTLE: ThrottleSettings = { rateLimit: 500, burstLimit: 1000 };
/** Well under API Gateway's 29 s integration timeout, so a stuck call fails in Lambda first. */
const ROUTE_TIMEOUT = Duration.seconds(10);
/**
 * The sweep starts no new batch after 50 s (its budget in lambdas/core/sweep.ts); this leaves the
 * last batch 8 s and still ends before the next run, a minute later.
 */
const JOB_TIMEOUT = Duration.seconds(58);

/**
 * API Gateway WebSocket API, its Lambdas and DynamoDB tables for the assessment protocol v1.
 * Routes, scheduled jobs and the access each function needs come from `lambdas/routes.ts`, and
 * the tables from `lambdas/adapters/dynamodb/table-definitions.ts`, the same lists the local stack uses.
 */
export class AssessmentWebSocketBackend extends Construct {
  public readonly webSocketApi: WebSocketApi;
  public readonly stage: WebSocketStage;
  public readonly tables: Readonly<Record<TableName, dynamodb.Table>>;
  /** Every function, by its name in ROUTES / SCHEDULED_JOBS. */
  public readonly functions: Readonly<Record<string, NodejsFunction>>;
  /** The HS256 secret; undefined in JWKS mode. */
  public readonly jwtSecret?: secretsmanager.ISecret;
  /** `wss://<api-id>.execute-api.<region>.amazonaws.com/<stage>` */
  public readonly webSocketUrl: string;
  /** `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`, the @connections endpoint. */
  public readonly callbackUrl: string;
  public readonly accessLogGroup: logs.LogGroup;
  /** The CloudWatch alarms; empty when `alarms.enabled` is false. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** The CloudWatch dashboard; undefined when `dashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AssessmentWebSocketBackendProps = {}) {
    super(scope, id);
    const stageName = props.stageName ?? 'prod';
    const { jwt, jwtNames, jwtConflicts } = jwtOf(props);
    const authDeadlineSeconds = props.authDeadlineSeconds ?? AUTH_DEADLINE_SECONDS.default;
    const allowedOrigins = props.allowedOrigins ?? [];
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const clientErrorThreshold = props.alarms?.clientErrorThreshold ?? 100;
    validateProps({
      ...props,
      stageName,
      jwt,
      jwtNames,
      jwtConflicts,
      authDeadlineSeconds,
      allowedOrigins,
      clientErrorThreshold,
    });

    this.tables = {
      connections: createTable(this, 'ConnectionsTable', TABLE_DEFINITIONS.connections, {
        pointInTimeRecovery: false,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      assessments: createTable(this, 'AssessmentsTable', TABLE_DEFINITIONS.assessments, {
        pointInTimeRecovery: true,
        removalPolicy: RemovalPolicy.RETAIN,
      }),
      tests: createTable(this, 'TestsTable', TABLE_DEFINITIONS.tests, {
        pointInTimeRecovery: true,
        removalPolicy: RemovalPolicy.RETAIN,
      }),
    };
    Validations.of(this.tables.connections).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Connection records are ephemeral (TTL 3 h, recreated on reconnect); a point-in-time restore of ' +
        'them would point at connections API Gateway has long closed.',
    });

    // The functions get the secret's ARN, never its value: they read it from Secrets Manager.
    let method: JwtConfig;
    if (jwt.kind === 'hs256') {
      const secret =
        jwt.secret ??
        // The cast: under exactOptionalPropertyTypes aws-cdk-lib's Secret does not satisfy its own
        // ISecret (secretFullArn is `string | undefined` on the class, optional on the interface).
        (new secretsmanager.Secret(this, 'JwtSecret', {
          description: 'HS256 shared secret for verifying assessment WebSocket tokens',
          generateSecretString: { passwordLength: 64, excludePunctuation: true },
        }) as secretsmanager.ISecret);
      this.jwtSecret = secret;
      method = { kind: 'hs256', secretArn: secret.secretArn };
      if (!jwt.secret) {
        Validations.of(secret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'The HS256 key is shared with the external token issuer; a rotation Lambda cannot update the ' +
            'issuer, so rotation is a coordinated manual procedure (docs/operations.md).',
        });
      }
    } else {
      method = { kind: 'jwks', jwksUrl: jwt.jwksUrl };
    }

    this.webSocketApi = new WebSocketApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-${id}`,
      description: 'Assessment WebSocket API (protocol v1)',
      routeSelectionExpression: '$request.body.action',
    });
    Validations.of(this.webSocketApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Protocol v1 authenticates in-band: the client sends its JWT in the `auth` frame (browsers cannot set ' +
        'headers on a WebSocket upgrade, and a token in the URL would end up in logs). Before a valid auth, every ' +
        'other frame is refused (not_authenticated), and the sweep closes the connection after the auth deadline.',
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName,
      autoDeploy: true,
      throttle: props.throttle ?? DEFAULT_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });
    this.callbackUrl = this.stage.callbackUrl;
    this.webSocketUrl = this.stage.url;

    // Every function gets the whole configuration: lambdas/config.ts validates all of it at cold
    // start. Names and URLs grant nothing; permissions stay per function (see grantAccess).
    const { issuer, audience, userIdClaim } = jwt;
    const checks = {
      userIdClaim,
      ...(issuer !== undefined ? { issuer } : {}),
      ...(audience !== undefined ? { audience } : {}),
    };
    const environment: Record<string, string> = {
      ...environmentOf({
        tables: {
          connections: this.tables.connections.tableName,
          assessments: this.tables.assessments.tableName,
          tests: this.tables.tests.tableName,
        },
        callbackUrl: this.stage.callbackUrl,
        jwt: { ...method, ...checks },
        allowedOrigins,
        authDeadlineSeconds,
        deploymentName: Stack.of(this).stackName,
        ...(props.aiService
          ? {
              aiService: {
                url: props.aiService.url,
                ...(props.aiService.timeout ? { timeoutMs: props.aiService.timeout.toMilliseconds() } : {}),
              },
            }
          : {}),
        ...(props.proctor ? { proctor: props.proctor } : {}),
      }),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      // The bundles ship source maps; without this flag stack traces point into minified code.
      NODE_OPTIONS: '--enable-source-maps',
    };
    const functionOptions = { environment, logRetention, memorySize: props.memorySize ?? 256 };

    const functions: Record<string, NodejsFunction> = {};
    for (const route of ROUTES) {
      const fn = this.createFunction(route, { ...functionOptions, timeout: ROUTE_TIMEOUT });
      functions[route.name] = fn;
      this.webSocketApi.addRoute(route.routeKey, {
        integration: new WebSocketLambdaIntegration(`${pascal(route.name)}Integration`, fn),
        // Two-way: the handler's last reply frame is the route response (no PostToConnection).
        returnResponse: route.twoWay,
      });
    }
    for (const job of SCHEDULED_JOBS) {
      // The next run comes within minutes: retrying a failed run would only overlap with it.
      const fn = this.createFunction(job, { ...functionOptions, timeout: JOB_TIMEOUT, retryAttempts: 0 });
      functions[job.name] = fn;
      new events.Rule(this, `${pascal(job.name)}Schedule`, {
        description: `Runs the ${job.name} job every ${job.everyMinutes} minute(s)`,
        schedule: events.Schedule.rate(Duration.minutes(job.everyMinutes)),
        targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
      });
    }
    this.functions = functions;

    const alarms =
      props.alarms?.enabled === false
        ? undefined
        : new BackendAlarms(this, 'Alarms', {
            functions,
            webSocketApi: this.webSocketApi,
            stage: this.stage,
            tables: this.tables,
            clientErrorThreshold,
            recoveryFailureRatePercent: props.alarms?.recoveryFailureRatePercent ?? 5,
            ...(props.alarms?.topic ? { topic: props.alarms.topic } : {}),
          });
    this.alarms = alarms?.alarms ?? [];
    if (props.dashboard !== false) {
      this.dashboard = new BackendDashboard(this, 'Dashboard', {
        functions,
        webSocketApi: this.webSocketApi,
        stage: this.stage,
        tables: this.tables,
        alarms: this.alarms,
        ...(alarms ? { recoveryAlarm: alarms.recoveryFailureRate } : {}),
      }).dashboard;
    }
  }

  private createFunction(
    spec: FunctionSpec,
    options: {
      environment: Record<string, string>;
      logRetention: logs.RetentionDays;
      memorySize: number;
      timeout: Duration;
      retryAttempts?: number;
    },
  ): NodejsFunction {
    const id = pascal(spec.name);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: options.logRetention });
    // A role of our own instead of AWSLambdaBasicExecutionRole, whose log permissions cover every
    // log group in the account.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${spec.name} function of the assessment WebSocket backend`,
    });
    logGroup.grantWrite(role);

    const fn = new NodejsFunction(this, `${id}Function`, {
      description: `Assessment WebSocket backend: ${spec.name}`,
      entry: path.join(PROJECT_ROOT, spec.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: options.memorySize,
      timeout: options.timeout,
      role,
      logGroup,
      environment: options.environment,
      ...(options.retryAttempts === undefined ? {} : { retryAttempts: options.retryAttempts }),
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node24',
        format: OutputFormat.CJS,
        // Bundle AWS SDK v3 instead of using the runtime's copy: the version is the one in
        // package-lock.json, and esbuild drops the unused parts, which shortens cold starts.
        externalModules: [],
      },
    });
    this.grantAccess(fn, role, spec);
    return fn;
  }

  private grantAccess(fn: NodejsFunction, role: iam.Role, spec: FunctionSpec): void {
    // Exactly the actions routes.ts lists, on the table ARN; a Query on indexes on `<arn>/index/*`
    // only. (Table.grant would add the index ARN to every action of an indexed table.)
    const indexedTables: TableName[] = [];
    for (const [name, actions] of Object.entries(spec.tables) as [TableName, TableAccess][]) {
      const table = this.tables[name];
      const onTable = actions
        .filter((action) => action !== 'QueryIndexes')
        .map((action) => `dynamodb:${action}`);
      if (onTable.length > 0) {
        iam.Grant.addToPrincipal({ grantee: fn, actions: onTable, resourceArns: [table.tableArn] });
      }
      if (actions.includes('QueryIndexes')) {
        if (TABLE_DEFINITIONS[name].indexes.length === 0) {
          throw new Error(`routes.ts: ${spec.name} queries the indexes of ${name}, which has none`);
        }
        iam.Grant.addToPrincipal({
          grantee: fn,
          actions: ['dynamodb:Query'],
          resourceArns: [`${table.tableArn}/index/*`],
        });
        indexedTables.push(name);
      }
    }
    if (spec.manageConnections) this.stage.grantManagementApiAccess(fn);
    if (spec.readsJwtSecret && this.jwtSecret) this.jwtSecret.grantRead(fn);

    // The acknowledgements name the exact wildcard resources (as cdk-nag renders them), so any
    // other wildcard still fails the check.
    const stack = Stack.of(this);
    const logicalId = (construct: Construct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
    for (const name of indexedTables) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId(this.tables[name])}.Arn>/index/*]`,
        reason: `Queries the ${name} table's own GSIs (sparse deadline indexes); the wildcard covers only that table's indexes.`,
      });
    }
    if (spec.manageConnections) {
      const arn = [
        'arn',
        nagRendering(stack.partition, 'AWS::Partition'),
        'execute-api',
        nagRendering(stack.region, 'AWS::Region'),
        nagRendering(stack.account, 'AWS::AccountId'),
        `<${logicalId(this.webSocketApi)}>/${this.stage.stageName}/*/@connections/*`,
      ].join(':');
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${arn}]`,
        reason:
          'Connection ids are assigned by API Gateway at run time; the grant is limited to @connections of this API and stage.',
      });
    }
  }
}

/** cdk-nag shows a pseudo parameter as <AWS::Region>, and a concrete value as itself. */
function nagRendering(value: string, pseudoParameter: string): string {
  return Token.isUnresolved(value) ? `<${pseudoParameter}>` : value;
}

interface TableOptions {
  readonly pointInTimeRecovery: boolean;
  readonly removalPolicy: RemovalPolicy;
}

function createTable(
  scope: Construct,
  id: string,
  definition: TableDefinition,
  options: TableOptions,
): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: attribute(definition.partitionKey),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: options.pointInTimeRecovery },
    removalPolicy: options.removalPolicy,
    ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
  });
  for (const index of definition.indexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: attribute(index.partitionKey),
      sortKey: attribute(index.sortKey),
      projectionType:
        index.projection === 'ALL' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY,
    });
  }
  return table;
}

function attribute(key: { name: string; type: 'S' | 'N' }): dynamodb.Attribute {
  return {
    name: key.name,
    type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
  };
}

/**
 * The verification with its claim checks, taking the deprecated top-level `jwtIssuer`,
 * `jwtAudience` and `userIdClaim` where `jwt` leaves them out, and the name each came by.
 */
function jwtOf(props: AssessmentWebSocketBackendProps): {
  jwt: JwtVerification & { readonly userIdClaim: string };
  jwtNames: Record<Exclude<JwtSetting, 'hs256Secret'>, string>;
  jwtConflicts: string[];
} {
  const given = props.jwt ?? { kind: 'hs256' };
  const deprecated = { issuer: 'jwtIssuer', audience: 'jwtAudience', userIdClaim: 'userIdClaim' } as const;
  const jwtNames = {
    jwksUrl: 'jwt.jwksUrl',
    issuer: 'jwt.issuer',
    audience: 'jwt.audience',
    userIdClaim: 'jwt.userIdClaim',
  };
  const jwtConflicts: string[] = [];
  const claims: { issuer?: string; audience?: string; userIdClaim?: string } = {};
  // A blank issuer or audience means "not checked", as in the context and the environment; a
  // blank user id claim is an error everywhere.
  const setting = (claim: keyof typeof deprecated, value: string | undefined) =>
    claim !== 'userIdClaim' && value?.trim() === '' ? undefined : value;
  for (const claim of ['issuer', 'audience', 'userIdClaim'] as const) {
    const inJwt = setting(claim, given[claim]);
    const old = setting(claim, props[deprecated[claim]]);
    if (inJwt !== undefined && old !== undefined && inJwt !== old) {
      jwtConflicts.push(`set jwt.${claim} or the deprecated ${deprecated[claim]}, not both`);
    }
    if (inJwt === undefined && old !== undefined) jwtNames[claim] = deprecated[claim];
    const value = inJwt ?? old;
    if (value !== undefined) claims[claim] = value;
  }
  return {
    jwt: { ...methodOf(given), ...claims, userIdClaim: claims.userIdClaim ?? DEFAULT_USER_ID_CLAIM },
    jwtNames,
    jwtConflicts,
  };
}

/** The verification method alone, without its claim checks. */
function methodOf(jwt: JwtVerification): JwtVerification {
  const { issuer: _issuer, audience: _audience, userIdClaim: _userIdClaim, ...method } = jwt;
  return method;
}

function validateProps(props: {
  stageName: string;
  jwt: JwtVerification;
  jwtNames: Record<Exclude<JwtSetting, 'hs256Secret'>, string>;
  jwtConflicts: string[];
  authDeadlineSeconds: number;
  allowedOrigins: readonly string[];
  clientErrorThreshold: number;
  aiService?: AiServiceOptions;
}): void {
  const problems: string[] = [...props.jwtConflicts];
  const stageProblem = Token.isUnresolved(props.stageName) ? undefined : stageNameProblem(props.stageName);
  if (stageProblem) problems.push(`stageName ${stageProblem}`);
  const deadlineProblem = Token.isUnresolved(props.authDeadlineSeconds)
    ? undefined
    : authDeadlineProblem(props.authDeadlineSeconds);
  if (deadlineProblem) problems.push(`authDeadlineSeconds ${deadlineProblem}`);
  const { jwt } = props;
  problems.push(
    ...jwtProblems(
      {
        jwksUrl: jwt.kind === 'jwks' ? jwt.jwksUrl : undefined,
        issuer: jwt.issuer,
        audience: jwt.audience,
        userIdClaim: jwt.userIdClaim,
      },
      props.jwtNames,
      (value) => Token.isUnresolved(value),
    ),
  );
  for (const origin of props.allowedOrigins) {
    if (!Token.isUnresolved(origin) && !isOrigin(origin)) {
      problems.push(
        `allowedOrigins: '${origin}' is not an origin like https://quiz.example.com (scheme://host[:port], no path)`,
      );
    }
  }
  if (
    !Token.isUnresolved(props.clientErrorThreshold) &&
    !(Number.isFinite(props.clientErrorThreshold) && props.clientErrorThreshold >= 0)
  ) {
    problems.push(`alarms.clientErrorThreshold must be a number >= 0, got ${props.clientErrorThreshold}`);
  }
  if (props.aiService) {
    const { url, timeout } = props.aiService;
    if (!Token.isUnresolved(url) && !isHttpsUrl(url)) {
      problems.push(`aiService.url must be an https URL, got '${url}'`);
    }
    if (timeout && !timeout.isUnresolved()) {
      const ms = timeout.toMilliseconds();
      if (ms < AI_SERVICE_TIMEOUT_MS.min || ms > AI_SERVICE_TIMEOUT_MS.max) {
        problems.push(
          `aiService.timeout must be from ${AI_SERVICE_TIMEOUT_MS.min} ms to ${AI_SERVICE_TIMEOUT_MS.max} ms, got ${ms} ms`,
        );
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(`AssessmentWebSocketBackend: ${problems.join('; ')}`);
  }
}

/** Kept here too: they were exported from this module before lambdas/config-rules.ts owned them. */
export { isHttpsUrl, isOrigin };
