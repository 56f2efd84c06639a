/**
 * Rules on configuration values, owned here once: the runtime's environment schema, the CDK
 * construct's props and the stack's context keys all check against these.
 */
import { DEFAULT_AUTH_DEADLINE_SECONDS } from '../protocol';

/** Whole seconds an unauthenticated connection may stay open. */
export const AUTH_DEADLINE_SECONDS = { min: 1, max: 7200, default: DEFAULT_AUTH_DEADLINE_SECONDS } as const;

export function isValidAuthDeadlineSeconds(value: number): boolean {
  return Number.isInteger(value) && value >= AUTH_DEADLINE_SECONDS.min && value <= AUTH_DEADLINE_SECONDS.max;
}

/** API Gateway's rule for stage names. */
export const STAGE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Milliseconds one attempt of a call to the AI service may take. A call tries up to 3 times within
 * the 6 s an invocation may spend on the service (lambdas/core/ai-thread.ts), inside the routes'
 * 10 s Lambda timeout.
 */
export const AI_SERVICE_TIMEOUT_MS = { min: 100, max: 5000, default: 2000 } as const;

/**
 * How a token is verified. The stack's context, the construct's props and the runtime's
 * configuration all use this shape, and differ only in how an HS256 secret is held (`Hs256Secret`):
 * an ARN in the context, an `ISecret` on the construct, an ARN or the value itself at run time.
 */
export type JwtMethod<Hs256Secret extends object> =
  | ({ readonly kind: 'hs256' } & Hs256Secret)
  | {
      readonly kind: 'jwks' /** HTTPS URL of the issuer's JWKS (RS256 / ES256 keys). */;
      readonly jwksUrl: string;
    };

/** What a verified token must also say, whatever the method. */
export interface JwtClaimChecks {
  /** Required `iss`; unset: not checked. */
  readonly issuer?: string;
  /** Required `aud`; unset: not checked. */
  readonly audience?: string;
  /** Claim that carries the user id; unset: `sub`. */
  readonly userIdClaim?: string;
}

export const DEFAULT_USER_ID_CLAIM = 'sub';

/** Shorter HS256 secrets are refused: they can be guessed offline from any one token. */
export const HS256_MIN_SECRET_LENGTH = 16;

/** Registered claims that never identify a user (RFC 7519, section 4.1). */
const NON_IDENTITY_CLAIMS = ['iss', 'aud', 'exp', 'nbf', 'iat', 'jti'];

/**
 * One rule per JWT setting: undefined when the value is good, else what is wrong with it, worded
 * to follow the setting's name in whichever layer reports it.
 */
export const JWT_RULES = {
  jwksUrl: (value: string) => (isHttpsUrl(value) ? undefined : `must be an https URL, got '${value}'`),
  issuer: (value: string) => stringOrUriProblem(value),
  audience: (value: string) => stringOrUriProblem(value),
  userIdClaim: (value: string) =>
    value.trim() === ''
      ? 'must not be empty'
      : NON_IDENTITY_CLAIMS.includes(value)
        ? `must name the claim that identifies the user, not '${value}' (one of ${NON_IDENTITY_CLAIMS.join(', ')})`
        : undefined,
  hs256Secret: (value: string) =>
    value.length >= HS256_MIN_SECRET_LENGTH
      ? undefined
      : `must be at least ${HS256_MIN_SECRET_LENGTH} characters, got ${value.length}`,
} as const satisfies Record<string, (value: string) => string | undefined>;

export type JwtSetting = keyof typeof JWT_RULES;

/**
 * Checks the JWT settings that are set, each reported under the name its layer gives it (a context
 * key, a construct prop, an environment variable). `skip` leaves out values known only later (CDK tokens).
 */
export function jwtProblems<S extends JwtSetting>(
  values: Partial<Record<S, string | undefined>>,
  names: Record<S, string>,
  skip: (value: string) => boolean = () => false,
): string[] {
  const problems: string[] = [];
  for (const setting of Object.keys(names) as S[]) {
    const value = values[setting];
    if (value === undefined || skip(value)) continue;
    const problem = JWT_RULES[setting](value);
    if (problem !== undefined) problems.push(`${names[setting]} ${problem}`);
  }
  return problems;
}

/** RFC 7519's StringOrURI: any string, but one with a ':' must be a URI. */
function stringOrUriProblem(value: string): string | undefined {
  if (value.trim() === '') return 'must not be empty';
  if (value.trim() !== value) return `must not start or end with spaces, got '${value}'`;
  if (value.includes(':') && !isUrl(value)) return `contains ':' so must be a URI, got '${value}'`;
  return undefined;
}

/** The rule for `authDeadlineSeconds` in every layer, worded to follow the setting's name. */
export function authDeadlineProblem(value: unknown): string | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  return isValidAuthDeadlineSeconds(n) ? undefined : authDeadlineText(value);
}

function authDeadlineText(value: unknown): string {
  const { min, max } = AUTH_DEADLINE_SECONDS;
  return `must be a whole number of seconds from ${min} to ${max}, got ${JSON.stringify(value)}`;
}

/** The rule for a stage name in every layer. */
export function stageNameProblem(value: string): string | undefined {
  return STAGE_NAME_PATTERN.test(value) ? undefined : `must match [A-Za-z0-9_-]{1,128}, got '${value}'`;
}

export function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

function isUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** True for a browser Origin header value: scheme, host and optional port, nothing else. */
export function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}
