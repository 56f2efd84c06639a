/**
 * Development tokens for the local stack: HS256 JWTs with `sub` = the user id, `iat` and `exp`,
 * signed with the local secret (default 'local-dev-secret', which deployed stacks never use).
 *
 * - `signDevToken({ userId, secret?, ttlSeconds? })`: the signer, used by `npm run token`.
 * - `handleDevTokenRequest(req, res, secret)`: `GET /dev/token?user_id=<id>&ttl_seconds=<n>` ->
 *   200 `{ "token": "..." }`; 400 `{ "message" }` for a missing user id or a bad ttl. This
 *   endpoint exists only on the local stack. Returns false for any other path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT } from 'jose';
import { isValidUserId, MAX_USER_ID_BYTES } from '../protocol';

export const DEFAULT_DEV_SECRET = 'local-dev-secret';
export const DEFAULT_TTL_SECONDS = 3600;
export const MAX_TTL_SECONDS = 7 * 24 * 3600;

export class DevTokenError extends Error {
  override name = 'DevTokenError';
}

export async function signDevToken(options: {
  userId: string;
  secret?: string;
  ttlSeconds?: number;
  nowMs?: number;
}): Promise<string> {
  const userId = options.userId.trim();
  // The contract's rule, not a stricter one: every user id a deployment accepts gets a dev token.
  if (!isValidUserId(userId)) {
    throw new DevTokenError(`user id must be well-formed Unicode of 1-${MAX_USER_ID_BYTES} UTF-8 bytes`);
  }
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new DevTokenError(`ttl_seconds must be an integer from 1 to ${MAX_TTL_SECONDS}`);
  }
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .sign(new TextEncoder().encode(options.secret ?? DEFAULT_DEV_SECRET));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export function handleDevTokenRequest(req: IncomingMessage, res: ServerResponse, secret: string): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/dev/token') return false;
  req.resume();
  if (req.method !== 'GET') {
    json(res, 405, { message: 'use GET /dev/token?user_id=<id>&ttl_seconds=<n>' });
    return true;
  }
  const userId = url.searchParams.get('user_id') ?? '';
  const ttlParam = url.searchParams.get('ttl_seconds');
  const ttlSeconds = ttlParam === null ? DEFAULT_TTL_SECONDS : Number(ttlParam);
  signDevToken({ userId, secret, ttlSeconds }).then(
    (token) => json(res, 200, { token }),
    (error: unknown) =>
      json(res, error instanceof DevTokenError ? 400 : 500, {
        message: error instanceof Error ? error.message : String(error),
      }),
  );
  return true;
}
