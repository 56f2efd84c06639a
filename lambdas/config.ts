/**
 * Runtime configuration: environment variables, read and validated once per cold start.
 * The CDK construct sets these from its typed props; the local stack sets them for itself.
 */
import * as v from 'valibot';
import { AI_SERVICE_TIMEOUT_MS, AUTH_DEADLINE_SECONDS } from './config-rules';
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

export type JwtConfig =
  | { mode: 'hs256-secret'; secret: string }
  | { mode: 'hs256-secret-arn'; secretArn: string }
  | { mode: 'jwks'; jwksUrl: string };

export interface AppConfig {
  tables: { connections: string; assessments: string; tests: string };
  callbackUrl: string;
  jwt: JwtConfig & { issuer?: string; audience?: string; userIdClaim: string };
  allowedOrigins: string[];
  authDeadlineSeconds: number;
  dynamodbEndpoint?: string;
  deploymentName?: string;
  aiService?: { url: string; timeoutMs: number };
  /** Which claims make a token a proctor's (the proctor view). */
  proctor: ProctorClaims;
}

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
  [ENV.jwksUrl]: v.optional(v.union([v.literal(''), v.pipe(v.string(), v.url())]), ''),
  [ENV.jwtIssuer]: optionalNonEmpty,
  [ENV.jwtAudience]: optionalNonEmpty,
  [ENV.userIdClaim]: v.optional(nonEmpty, 'sub'),
  [ENV.proctorClaim]: v.optional(nonEmpty, DEFAULT_PROCTOR_CLAIMS.claim),
  [ENV.proctorRole]: v.optional(nonEmpty, DEFAULT_PROCTOR_CLAIMS.role),
  [ENV.proctorTestsClaim]: v.optional(nonEmpty, DEFAULT_PROCTOR_CLAIMS.testsClaim),
  [ENV.allowedOrigins]: optionalNonEmpty,
  [ENV.authDeadlineSeconds]: v.optional(
    v.pipe(
      v.string(),
      v.toNumber(),
      v.integer(),
      v.minValue(AUTH_DEADLINE_SECONDS.min),
      v.maxValue(AUTH_DEADLINE_SECONDS.max),
    ),
    String(AUTH_DEADLINE_SECONDS.default),
  ),
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
  const jwtSources = [e[ENV.jwtSecretArn], e[ENV.jwtSecret], e[ENV.jwksUrl]].filter((s) => s !== '');
  if (jwtSources.length !== 1) {
    throw new ConfigError(
      `invalid configuration: set exactly one of ${ENV.jwtSecretArn}, ${ENV.jwtSecret}, ${ENV.jwksUrl}`,
    );
  }
  const jwtBase: JwtConfig = e[ENV.jwtSecretArn]
    ? { mode: 'hs256-secret-arn', secretArn: e[ENV.jwtSecretArn] }
    : e[ENV.jwtSecret]
      ? { mode: 'hs256-secret', secret: e[ENV.jwtSecret] }
      : { mode: 'jwks', jwksUrl: e[ENV.jwksUrl] };
  return {
    tables: {
      connections: e[ENV.connectionsTable],
      assessments: e[ENV.assessmentsTable],
      tests: e[ENV.testsTable],
    },
    callbackUrl: e[ENV.callbackUrl],
    jwt: {
      ...jwtBase,
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
    authDeadlineSeconds: e[ENV.authDeadlineSeconds],
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

function isHttpUrl(value: string): boolean {
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}
