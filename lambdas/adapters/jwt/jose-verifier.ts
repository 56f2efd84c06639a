/**
 * JWT verification with jose: pinned algorithms, `exp` required, `iss` / `aud` when configured,
 * bounded clock leeway. The user id comes only from the verified token.
 */
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { isValidUserId, MAX_USER_ID_BYTES, TOKEN_CLOCK_LEEWAY_SECONDS } from '../../../protocol';
import { JWT_RULES } from '../../config-rules';
import type { TokenCheck, TokenVerifier } from '../../core/ports';
import { type ProctorClaims, proctorTestsOf } from '../../core/proctor';

export type KeySource = { kind: 'hs256'; secret: () => Promise<string> } | { kind: 'jwks'; jwksUrl: string };

/** The key to verify tokens with cannot be had (a secret unreadable or too short): a server fault, never the token's. */
export class TokenKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokenKeyError';
  }
}

export interface JoseVerifierOptions {
  key: KeySource;
  issuer?: string;
  audience?: string;
  /** Claim holding the user id. */
  userIdClaim: string;
  /** Claims that make a token a proctor's; without them no token is. */
  proctor?: ProctorClaims;
  /** For tests: the verification time. */
  now?: () => number;
}

export class JoseTokenVerifier implements TokenVerifier {
  private readonly getKey: () => Promise<Uint8Array | JWTVerifyGetKey>;
  private readonly algorithms: string[];

  constructor(private readonly options: JoseVerifierOptions) {
    const { key } = options;
    if (key.kind === 'hs256') {
      this.algorithms = ['HS256'];
      let cached: Promise<Uint8Array> | undefined;
      this.getKey = () => {
        cached ??= key.secret().then((secret) => {
          // The secret from Secrets Manager is only known here; JWT_SECRET was checked at cold start.
          const problem = JWT_RULES.hs256Secret(secret);
          if (problem) throw new TokenKeyError(`the HS256 secret ${problem}`);
          return new TextEncoder().encode(secret);
        });
        // A failed fetch (e.g. Secrets Manager throttling) is retried on the next call.
        cached.catch(() => {
          cached = undefined;
        });
        return cached;
      };
    } else {
      this.algorithms = ['RS256', 'ES256'];
      const jwks = createRemoteJWKSet(new URL(key.jwksUrl));
      this.getKey = async () => jwks;
    }
  }

  async verify(token: string): Promise<TokenCheck> {
    const key = await this.getKey();
    let payload: JWTPayload;
    try {
      const result = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], {
        algorithms: this.algorithms,
        requiredClaims: ['exp'],
        clockTolerance: TOKEN_CLOCK_LEEWAY_SECONDS,
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience ? { audience: this.options.audience } : {}),
        ...(this.options.now ? { currentDate: new Date(this.options.now()) } : {}),
      });
      payload = result.payload;
    } catch (error) {
      if (error instanceof errors.JWTExpired)
        return { ok: false, code: 'expired_token', reason: 'the token has expired' };
      if (isTokenFault(error)) return { ok: false, code: 'invalid_token', reason: describe(error) };
      // Anything else (the key set unreachable, answering 503 or HTML, a bad key in it, a
      // secret that cannot be read) is the server's fault: internal_error, and a retry works.
      // Telling every user their token is bad during an identity-provider hiccup would log
      // everyone out.
      throw error;
    }
    const userId = payload[this.options.userIdClaim];
    if ((typeof userId !== 'string' || userId.length === 0) && typeof userId !== 'number') {
      return {
        ok: false,
        code: 'invalid_token',
        reason: `the token has no ${this.options.userIdClaim} claim`,
      };
    }
    // A numeric id is taken only when it is exact: above 2^53, 1.5 or 1e300 would turn two
    // users into one string (9007199254740993 and 9007199254740992 both print as ...992).
    if (typeof userId === 'number' && !Number.isSafeInteger(userId)) {
      return {
        ok: false,
        code: 'invalid_token',
        reason: `the ${this.options.userIdClaim} claim must be a string or a safe integer`,
      };
    }
    const id = String(userId);
    if (!isValidUserId(id)) {
      return {
        ok: false,
        code: 'invalid_token',
        reason: `the ${this.options.userIdClaim} claim must be well-formed Unicode of at most ${MAX_USER_ID_BYTES} UTF-8 bytes`,
      };
    }
    // jose checked that exp is a number in the future; it must also be one the stores can keep.
    const exp = payload.exp as number;
    if (!Number.isFinite(exp) || exp > LATEST_EXP_SECONDS) {
      return { ok: false, code: 'invalid_token', reason: 'the token expires too far in the future' };
    }
    const proctorTests = this.options.proctor ? proctorTestsOf(payload, this.options.proctor) : undefined;
    return { ok: true, userId: id, expiresAtMs: exp * 1000, ...(proctorTests ? { proctorTests } : {}) };
  }
}

/** 9999-12-31T23:59:59Z: later expiry times are refused rather than stored. */
const LATEST_EXP_SECONDS = 253_402_300_799;

/**
 * The errors that say the token itself is bad. jose raises a plain JOSEError (and JWKSInvalid,
 * JWKSTimeout, JWKInvalid) for key-set trouble, which is not the client's fault.
 */
function isTokenFault(error: unknown): error is InstanceType<typeof errors.JOSEError> {
  return (
    error instanceof errors.JWTClaimValidationFailed ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  );
}

/** Says what failed without echoing the token or key material back. */
function describe(error: InstanceType<typeof errors.JOSEError>): string {
  if (error instanceof errors.JWTClaimValidationFailed) return `claim check failed: ${error.claim}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no matching signing key';
  if (error instanceof errors.JWKSMultipleMatchingKeys)
    return 'several signing keys match; the token needs a kid';
  if (error instanceof errors.JOSENotSupported) return 'the token uses an unsupported feature';
  return 'the token could not be verified';
}
