/**
 * JWT verification with jose: pinned algorithms, `exp` required, `iss` / `aud` when configured,
 * bounded clock leeway. The user id comes only from the verified token.
 */
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { TOKEN_CLOCK_LEEWAY_SECONDS } from '../../../protocol';
import type { TokenCheck, TokenVerifier } from '../../core/ports';

export type KeySource = { kind: 'hs256'; secret: () => Promise<string> } | { kind: 'jwks'; jwksUrl: string };

export interface JoseVerifierOptions {
  key: KeySource;
  issuer?: string;
  audience?: string;
  /** Claim holding the user id. */
  userIdClaim: string;
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
          if (secret.length < 16) throw new Error('the HS256 secret must be at least 16 characters');
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
      // The key set could not be fetched: a server-side fault (internal_error; the client retries),
      // not a bad token.
      if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) throw error;
      if (error instanceof errors.JOSEError) {
        return { ok: false, code: 'invalid_token', reason: describe(error) };
      }
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
    return { ok: true, userId: String(userId), expiresAtMs: (payload.exp as number) * 1000 };
  }
}

/** Says what failed without echoing the token or key material back. */
function describe(error: InstanceType<typeof errors.JOSEError>): string {
  if (error instanceof errors.JWTClaimValidationFailed) return `claim check failed: ${error.claim}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no matching signing key';
  return 'the token could not be verified';
}
