/**
 * Runtime configuration: environment variables, read and validated once per cold start.
 * The CDK construct sets these from its typed props; the local stack sets them for itself.
 */
import * as v from 'valibot';
import {
  AI_SERVICE_TIMEOUT_MS,
  AUTH_DEADLINE_SECONDS,
  authDeadlineProblem,
  DEFAULT_USER_ID_CLAIM,
  type JwtClaimChecks,
  type JwtMethod,
  type JwtSetting,
  jwtProblems,
} from './config-rules';
import { DEFAULT_PROCTOR_CLAIMS, type ProctorClaims } from './core/proctor';

/** Environment variable names, shared with the CDK construct and the local stack. */
export const ENV = {
  connectionsTable: 'CONNECTIONS_TABLE',
  assessmentsTable: 'ASSESSMENTS_TABLE',
  testsTable: 'TESTS_TABLE',
  /** The stage's @connections callback URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/prod */
  callbackUrl: 'CALLBACK_URL',
  /** ARN of a Secrets Manager secret holding the HS256 shared secret. */
  jwtSecretArn: 'JWT_SECRET_ARN',
  /** The HS256 shared secret itself: for the local stack and tests only, never set by CDK. */
  jwtSecret: 'JWT_SECRET',
  /** JWKS URL for RS256 / ES256 tokens. */
  jwksUrl: 'JWKS_URL',
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  userIdClaim: 'USER_ID_CLAIM',
  /** Comma-separated list; empty means any origin. */
  allowedOrigins: 'ALLOWED_ORIGINS',
  authDeadlineSeconds: 'AUTH_DEADLINE_SECONDS',
  /** Names the deployment in metrics (the CDK stack name); empty locally. */
  deploymentName: 'DEPLOYMENT_NAME',
  /** Local only: a DynamoDB endpoint such as http://127.0.0.1:4567. */
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  /** Base URL of the AI service that keeps a thread per attempt; unset or empty: no AI service. */
  aiServiceUrl: 'AI_SERVICE_URL',
  /** Timeout of one attempt of a call to the AI service, in milliseconds. */
  aiServiceTimeoutMs: 'AI_SERVICE_TIMEOUT_MS',
  /** The claim naming a token's role (a string or an array of strings); default `role`. */
  proctorClaim: 'PROCTOR_CLAIM',
  /** The role value that makes a token a proctor's; default `proctor`. */
  proctorRole: 'PROCTOR_ROLE',
  /** The claim listing the test ids a proctor may watch; default `proctor_tests`. */
  proctorTestsClaim: 'PROCTOR_TESTS_CLAIM',
} as const;

/** Token verification at run time: the HS256 secret by its ARN (deployed) or its value (local stack, tests). */
export type JwtConfig = JwtMethod<{ readonly secretArn: string } | { readonly secret: string }>;

export interface AppConfig {
  tables: { connections: string; assessments: string; tests: string };
  callbackUrl: string;
  jwt: JwtConfig & JwtClaimChecks & { readonly userIdClaim: string };
  allowedOrigins: string[];
  authDeadlineSeconds: number;
  dynamodbEndpoint?: string;
  deploymentName?: string;
  aiService?: { url: string; timeoutMs: number };
  /** Which claims make a token a proctor's (the proctor view). */
  proctor: ProctorClaims;
}

/** The environment variable of each JWT setting, for the shared rules' messages. */
const JWT_ENV_NAMES: Record<JwtSetting, string> = {
  jwksUrl: ENV.jwksUrl,
  issuer: ENV.jwtIssuer,
  audience: ENV.jwtAudience,
  userIdClaim: ENV.userIdClaim,
  hs256Secret: ENV.jwtSecret,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const nonEmpty = v.pipe(v.string(), v.trim(), v.minLength(1));
const optionalNonEmpty = v.optional(v.pipe(v.string(), v.trim()), '');

const EnvSchema = v.object({
  [ENV.connectionsTable]: nonEmpty,
  [ENV.assessmentsTable]: nonEmpty,
  [ENV.testsTable]: nonEmpty,
  [ENV.callbackUrl]: v.pipe(nonEmpty, v.url()),
  [ENV.jwtSecretArn]: optionalNonEmpty,
  [ENV.jwtSecret]: optionalNonEmpty,
  // The JWT settings and the deadline are checked by the rules the CDK layers share (config-rules.ts).
  [ENV.jwksUrl]: optionalNonEmpty,
  [ENV.jwtIssuer]: optionalNonEmpty,
  [ENV.jwtAudience]: optionalNonEmpty,
  [ENV.userIdClaim]: v.optional(v.pipe(v.string(), v.trim()), DEFAULT_USER_ID_CLAIM),
  [ENV.proctorClaim]: v.optional(nonEmpty, DEFAULT_PROCTOR_CLAIMS.claim),
  [ENV.proctorRole]: v.optional(nonEmpty, DEFAULT_PROCTOR_CLAIMS.role),
  [ENV.proctorTestsClaim]: v.optional(nonEmpty, DEFAULT_PROCTOR_CLAIMS.testsClaim),
  [ENV.allowedOrigins]: optionalNonEmpty,
  [ENV.authDeadlineSeconds]: v.optional(v.string(), String(AUTH_DEADLINE_SECONDS.default)),
  [ENV.deploymentName]: optionalNonEmpty,
  [ENV.dynamodbEndpoint]: v.optional(v.union([v.literal(''), v.pipe(v.string(), v.url())]), ''),
  [ENV.aiServiceUrl]: v.optional(
    v.union([
      v.literal(''),
      v.pipe(v.string(), v.url(), v.check(isHttpUrl, 'the AI service URL must be http:// or https://')),
    ]),
    '',
  ),
  [ENV.aiServiceTimeoutMs]: v.optional(
    v.pipe(
      v.string(),
      v.toNumber(),
      v.integer(),
      v.minValue(AI_SERVICE_TIMEOUT_MS.min),
      v.maxValue(AI_SERVICE_TIMEOUT_MS.max),
    ),
    String(AI_SERVICE_TIMEOUT_MS.default),
  ),
});

export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = v.safeParse(EnvSchema, env);
  if (!parsed.success) {
    const problems = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? '?'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.output;
  const deadlineProblem = authDeadlineProblem(e[ENV.authDeadlineSeconds]);
  const problems = [
    ...(deadlineProblem ? [`${ENV.authDeadlineSeconds} ${deadlineProblem}`] : []),
    ...jwtProblems(
      {
        jwksUrl: e[ENV.jwksUrl] || undefined,
        issuer: e[ENV.jwtIssuer] || undefined,
        audience: e[ENV.jwtAudience] || undefined,
        userIdClaim: e[ENV.userIdClaim],
        hs256Secret: e[ENV.jwtSecret] || undefined,
      },
      JWT_ENV_NAMES,
    ),
  ];
  const jwtSources = [e[ENV.jwtSecretArn], e[ENV.jwtSecret], e[ENV.jwksUrl]].filter((s) => s !== '');
  if (jwtSources.length !== 1) {
    problems.push(`set exactly one of ${ENV.jwtSecretArn}, ${ENV.jwtSecret}, ${ENV.jwksUrl}`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  const method: JwtConfig = e[ENV.jwtSecretArn]
    ? { kind: 'hs256', secretArn: e[ENV.jwtSecretArn] }
    : e[ENV.jwtSecret]
      ? { kind: 'hs256', secret: e[ENV.jwtSecret] }
      : { kind: 'jwks', jwksUrl: e[ENV.jwksUrl] };
  return {
    tables: {
      connections: e[ENV.connectionsTable],
      assessments: e[ENV.assessmentsTable],
      tests: e[ENV.testsTable],
    },
    callbackUrl: e[ENV.callbackUrl],
    jwt: {
      ...method,
      ...(e[ENV.jwtIssuer] ? { issuer: e[ENV.jwtIssuer] } : {}),
      ...(e[ENV.jwtAudience] ? { audience: e[ENV.jwtAudience] } : {}),
      userIdClaim: e[ENV.userIdClaim],
    },
    allowedOrigins: e[ENV.allowedOrigins]
      ? e[ENV.allowedOrigins]
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean)
      : [],
    authDeadlineSeconds: Number(e[ENV.authDeadlineSeconds].trim()),
    ...(e[ENV.dynamodbEndpoint] ? { dynamodbEndpoint: e[ENV.dynamodbEndpoint] } : {}),
    ...(e[ENV.deploymentName] ? { deploymentName: e[ENV.deploymentName] } : {}),
    ...(e[ENV.aiServiceUrl]
      ? { aiService: { url: e[ENV.aiServiceUrl], timeoutMs: e[ENV.aiServiceTimeoutMs] } }
      : {}),
    proctor: {
      claim: e[ENV.proctorClaim],
      role: e[ENV.proctorRole],
      testsClaim: e[ENV.proctorTestsClaim],
    },
  };
}

/** What the CDK construct and the local stack know when they configure the functions. */
export interface EnvironmentSettings {
  readonly tables: AppConfig['tables'];
  readonly callbackUrl: string;
  readonly jwt: JwtConfig & JwtClaimChecks;
  readonly allowedOrigins?: readonly string[];
  readonly authDeadlineSeconds?: number;
  readonly deploymentName?: string;
  readonly dynamodbEndpoint?: string;
  readonly aiService?: { readonly url: string; readonly timeoutMs?: number };
  readonly proctor?: Partial<ProctorClaims>;
}

/**
 * The one map from settings to environment variables: loadConfig reads back what this writes.
 * Unset settings are left out, so the functions keep loadConfig's defaults.
 */
export function environmentOf(settings: EnvironmentSettings): Record<string, string> {
  const { jwt, proctor, aiService } = settings;
  const env: Record<string, string> = {
    [ENV.connectionsTable]: settings.tables.connections,
    [ENV.assessmentsTable]: settings.tables.assessments,
    [ENV.testsTable]: settings.tables.tests,
    [ENV.callbackUrl]: settings.callbackUrl,
  };
  if (jwt.kind === 'jwks') env[ENV.jwksUrl] = jwt.jwksUrl;
  else if ('secretArn' in jwt) env[ENV.jwtSecretArn] = jwt.secretArn;
  else env[ENV.jwtSecret] = jwt.secret;
  const optional: [string, string | undefined][] = [
    [ENV.jwtIssuer, jwt.issuer],
    [ENV.jwtAudience, jwt.audience],
    [ENV.userIdClaim, jwt.userIdClaim],
    [ENV.allowedOrigins, settings.allowedOrigins?.length ? settings.allowedOrigins.join(',') : undefined],
    [ENV.authDeadlineSeconds, settings.authDeadlineSeconds?.toString()],
    [ENV.deploymentName, settings.deploymentName],
    [ENV.dynamodbEndpoint, settings.dynamodbEndpoint],
    [ENV.aiServiceUrl, aiService?.url],
    [ENV.aiServiceTimeoutMs, aiService?.timeoutMs?.toString()],
    [ENV.proctorClaim, proctor?.claim],
    [ENV.proctorRole, proctor?.role],
    [ENV.proctorTestsClaim, proctor?.testsClaim],
  ];
  for (const [name, value] of optional) if (value) env[name] = value;
  return env;
}

function isHttpUrl(value: string): boolean {
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}
