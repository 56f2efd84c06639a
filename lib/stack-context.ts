/**
 * CDK context (`cdk.json` or `-c key=value`) for the stack, read and checked in one place so a bad
 * value stops synth with a message that names the key, instead of surfacing at deploy or at run time.
 */
import type { Node } from 'constructs';
import {
  AI_SERVICE_TIMEOUT_MS,
  authDeadlineProblem,
  isHttpsUrl,
  isOrigin,
  JWT_RULES,
  type JwtClaimChecks,
  type JwtMethod,
  type JwtSetting,
  jwtProblems,
  stageNameProblem,
} from '../lambdas/config-rules';

export const CONTEXT_KEYS = {
  stageName: 'stageName',
  jwtJwksUrl: 'jwtJwksUrl',
  jwtSecretArn: 'jwtSecretArn',
  jwtIssuer: 'jwtIssuer',
  jwtAudience: 'jwtAudience',
  userIdClaim: 'userIdClaim',
  allowedOrigins: 'allowedOrigins',
  authDeadlineSeconds: 'authDeadlineSeconds',
  alarms: 'alarms',
  alarmTopicArn: 'alarmTopicArn',
  aiServiceUrl: 'aiServiceUrl',
  aiServiceTimeoutMs: 'aiServiceTimeoutMs',
} as const;

/** Token verification as the context gives it: an HS256 secret by its ARN (unset: a generated one). */
export type JwtContext = JwtMethod<{ readonly secretArn?: string }> & JwtClaimChecks;

/** The context key of each JWT setting, for the shared rules' messages. */
const JWT_CONTEXT_KEYS = {
  jwksUrl: CONTEXT_KEYS.jwtJwksUrl,
  issuer: CONTEXT_KEYS.jwtIssuer,
  audience: CONTEXT_KEYS.jwtAudience,
  userIdClaim: CONTEXT_KEYS.userIdClaim,
} as const satisfies Partial<Record<JwtSetting, string>>;

export interface StackContext {
  readonly stageName?: string;
  readonly jwt: JwtContext;
  readonly allowedOrigins?: readonly string[];
  readonly authDeadlineSeconds?: number;
  /** false: no alarms. */
  readonly alarms?: boolean;
  /** SNS topic the alarms notify. */
  readonly alarmTopicArn?: string;
  /** The AI service that keeps a thread per attempt; absent: none. */
  readonly aiService?: { readonly url: string; readonly timeoutMs?: number };
}

export class ContextError extends Error {
  override name = 'ContextError';
}

// A complete ARN ends in the 6-character suffix Secrets Manager appends; a partial one would
// make IAM grants miss the secret.
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
// arn:<partition>:sns:<region>:<account>:<topic name>; FIFO topic names end in .fifo.
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** Reads the stack's context keys; throws a ContextError listing every bad value. */
export function readStackContext(node: Node): StackContext {
  const problems: string[] = [];
  const get = (key: string): unknown => node.tryGetContext(key);

  const optionalString = (key: string): string | undefined => {
    const value = get(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      problems.push(`${key} must be a string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    // `-c key=` on the command line means "not set".
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  };

  const stageName = optionalString(CONTEXT_KEYS.stageName);
  const stageProblem = stageName === undefined ? undefined : stageNameProblem(stageName);
  if (stageProblem) problems.push(`${CONTEXT_KEYS.stageName} ${stageProblem}`);

  const jwt = readJwt(optionalString, problems);

  const allowedOrigins = readOrigins(get(CONTEXT_KEYS.allowedOrigins), problems);
  const authDeadlineSeconds = readDeadline(get(CONTEXT_KEYS.authDeadlineSeconds), problems);

  const alarms = readBoolean(CONTEXT_KEYS.alarms, get(CONTEXT_KEYS.alarms), problems);
  const alarmTopicArn = optionalString(CONTEXT_KEYS.alarmTopicArn);
  if (alarmTopicArn !== undefined) {
    if (!TOPIC_ARN.test(alarmTopicArn)) {
      problems.push(
        `${CONTEXT_KEYS.alarmTopicArn} must be the ARN of an SNS topic ` +
          `(arn:aws:sns:<region>:<account>:<topic name>), got '${alarmTopicArn}'`,
      );
    } else if (alarms === false) {
      problems.push(
        `${CONTEXT_KEYS.alarmTopicArn} is set but ${CONTEXT_KEYS.alarms}=false creates no alarms`,
      );
    }
  }

  const aiService = readAiService(optionalString(CONTEXT_KEYS.aiServiceUrl), get, problems);

  if (problems.length > 0) {
    throw new ContextError(`Invalid CDK context:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    jwt,
    ...(stageName !== undefined ? { stageName } : {}),
    ...(allowedOrigins !== undefined ? { allowedOrigins } : {}),
    ...(authDeadlineSeconds !== undefined ? { authDeadlineSeconds } : {}),
    ...(alarms !== undefined ? { alarms } : {}),
    ...(alarmTopicArn !== undefined ? { alarmTopicArn } : {}),
    ...(aiService !== undefined ? { aiService } : {}),
  };
}

function readJwt(optionalString: (key: string) => string | undefined, problems: string[]): JwtContext {
  const jwksUrl = optionalString(CONTEXT_KEYS.jwtJwksUrl);
  const secretArn = optionalString(CONTEXT_KEYS.jwtSecretArn);
  const claims = {
    issuer: optionalString(CONTEXT_KEYS.jwtIssuer),
    audience: optionalString(CONTEXT_KEYS.jwtAudience),
    userIdClaim: optionalString(CONTEXT_KEYS.userIdClaim),
  };
  problems.push(...jwtProblems({ jwksUrl, ...claims }, JWT_CONTEXT_KEYS));
  if (jwksUrl !== undefined && secretArn !== undefined) {
    problems.push(
      `set at most one of ${CONTEXT_KEYS.jwtJwksUrl} (RS256/ES256) and ${CONTEXT_KEYS.jwtSecretArn} (HS256)`,
    );
  }
  if (secretArn !== undefined && !SECRET_ARN.test(secretArn)) {
    problems.push(
      `${CONTEXT_KEYS.jwtSecretArn} must be the complete ARN of a Secrets Manager secret ` +
        `(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>), got '${secretArn}'`,
    );
  }
  const checks: JwtClaimChecks = {
    ...(claims.issuer !== undefined ? { issuer: claims.issuer } : {}),
    ...(claims.audience !== undefined ? { audience: claims.audience } : {}),
    ...(claims.userIdClaim !== undefined ? { userIdClaim: claims.userIdClaim } : {}),
  };
  if (jwksUrl !== undefined && JWT_RULES.jwksUrl(jwksUrl) === undefined)
    return { kind: 'jwks', jwksUrl, ...checks };
  return { kind: 'hs256', ...(secretArn !== undefined ? { secretArn } : {}), ...checks };
}

function readAiService(
  url: string | undefined,
  get: (key: string) => unknown,
  problems: string[],
): StackContext['aiService'] {
  const timeoutKey = CONTEXT_KEYS.aiServiceTimeoutMs;
  const rawTimeout = get(timeoutKey);
  const timeoutSet = rawTimeout !== undefined && rawTimeout !== null && rawTimeout !== '';
  let timeoutMs: number | undefined;
  if (timeoutSet) {
    const n =
      typeof rawTimeout === 'number'
        ? rawTimeout
        : typeof rawTimeout === 'string'
          ? Number(rawTimeout.trim())
          : Number.NaN;
    if (Number.isInteger(n) && n >= AI_SERVICE_TIMEOUT_MS.min && n <= AI_SERVICE_TIMEOUT_MS.max)
      timeoutMs = n;
    else
      problems.push(
        `${timeoutKey} must be a whole number of milliseconds from ${AI_SERVICE_TIMEOUT_MS.min} to ${AI_SERVICE_TIMEOUT_MS.max}, got ${JSON.stringify(rawTimeout)}`,
      );
  }
  if (url === undefined) {
    if (timeoutSet) problems.push(`${timeoutKey} is set but ${CONTEXT_KEYS.aiServiceUrl} is not`);
    return undefined;
  }
  if (!isHttpsUrl(url)) {
    problems.push(`${CONTEXT_KEYS.aiServiceUrl} must be an https URL, got '${url}'`);
    return undefined;
  }
  return { url, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
}

/** true/false from cdk.json, or the strings 'true'/'false' from `-c`. */
function readBoolean(key: string, value: unknown, problems: string[]): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const normalized = value.trim().toLowerCase();
    if (normalized === 'true') return true;
    if (normalized === 'false') return false;
  }
  problems.push(`${key} must be true or false, got ${JSON.stringify(value)}`);
  return undefined;
}

/** A comma-separated string (from `-c`) or a JSON array of strings (from cdk.json). */
function readOrigins(value: unknown, problems: string[]): string[] | undefined {
  const key = CONTEXT_KEYS.allowedOrigins;
  if (value === undefined || value === null) return undefined;
  let items: unknown[];
  if (typeof value === 'string') items = value.split(',');
  else if (Array.isArray(value)) items = value;
  else {
    problems.push(`${key} must be a comma-separated string or an array of strings`);
    return undefined;
  }
  const origins: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') {
      problems.push(`${key} entries must be strings, got ${JSON.stringify(item)}`);
      continue;
    }
    const origin = item.trim();
    if (origin === '') continue;
    if (isOrigin(origin)) origins.push(origin);
    else
      problems.push(
        `${key}: '${origin}' is not an origin like https://quiz.example.com (scheme://host[:port], lower case, no path or trailing slash)`,
      );
  }
  return origins;
}

function readDeadline(value: unknown, problems: string[]): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const problem = authDeadlineProblem(value);
  if (problem) {
    problems.push(`${CONTEXT_KEYS.authDeadlineSeconds} ${problem}`);
    return undefined;
  }
  return typeof value === 'number' ? value : Number(String(value).trim());
}
