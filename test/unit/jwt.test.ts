/** Real tokens, real jose: every way a token can be wrong. */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { JoseTokenVerifier, TokenKeyError } from '../../lambdas/adapters/jwt/jose-verifier';

const SECRET = 'a-shared-secret-for-tests';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

function hs256(secret = SECRET) {
  return new JoseTokenVerifier({ key: { kind: 'hs256', secret: async () => secret }, userIdClaim: 'sub' });
}

const sign = (claims: Record<string, unknown>, alg = 'HS256', signingKey: Uint8Array = key) =>
  new SignJWT(claims).setProtectedHeader({ alg }).sign(signingKey);

describe('HS256 tokens', () => {
  it('takes a numeric user claim that is a safe integer as its decimal string', async () => {
    const token = await sign({ sub: 2 ** 53 - 1, exp: now() + 60 });
    await expect(hs256().verify(token)).resolves.toMatchObject({ ok: true, userId: '9007199254740991' });
  });

  it('accepts a valid token and takes the user id from sub', async () => {
    const token = await sign({ sub: 'user-1', exp: now() + 60 });
    await expect(hs256().verify(token)).resolves.toEqual({
      ok: true,
      userId: 'user-1',
      expiresAtMs: expect.any(Number),
    });
  });

  it.each<[string, () => Promise<string>, string]>([
    ['expired', () => sign({ sub: 'u', exp: now() - 120 }), 'expired_token'],
    ['not yet valid', () => sign({ sub: 'u', exp: now() + 600, nbf: now() + 300 }), 'invalid_token'],
    ['without exp', () => sign({ sub: 'u' }), 'invalid_token'],
    [
      'signed with another secret',
      () => sign({ sub: 'u', exp: now() + 60 }, 'HS256', new TextEncoder().encode('another-secret-value')),
      'invalid_token',
    ],
    [
      'with an algorithm not allowed (HS512)',
      () => sign({ sub: 'u', exp: now() + 60 }, 'HS512'),
      'invalid_token',
    ],
    ['without the user claim', () => sign({ exp: now() + 60 }), 'invalid_token'],
    ['with an empty user claim', () => sign({ sub: '', exp: now() + 60 }), 'invalid_token'],
    // Two users above 2^53 would print as one id (9007199254740993 reads as ...992).
    ['with a numeric sub above 2^53', () => sign({ sub: 2 ** 53 + 2, exp: now() + 60 }), 'invalid_token'],
    ['with a fractional numeric sub', () => sign({ sub: 1.5, exp: now() + 60 }), 'invalid_token'],
    ['with a huge numeric sub', () => sign({ sub: 1e300, exp: now() + 60 }), 'invalid_token'],
    ['garbage', async () => 'not.a.jwt', 'invalid_token'],
    ['empty-ish', async () => '...', 'invalid_token'],
  ])('refuses a token %s', async (_name, make, code) => {
    await expect(hs256().verify(await make())).resolves.toMatchObject({ ok: false, code });
  });

  it('refuses alg none', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'u', exp: now() + 60 })).toString('base64url');
    await expect(hs256().verify(`${header}.${body}.`)).resolves.toMatchObject({
      ok: false,
      code: 'invalid_token',
    });
  });

  it('accepts a token expired within the 30 s leeway', async () => {
    const token = await sign({ sub: 'u', exp: now() - 10 });
    await expect(hs256().verify(token)).resolves.toMatchObject({ ok: true });
  });

  it('checks iss and aud when configured', async () => {
    const verifier = new JoseTokenVerifier({
      key: { kind: 'hs256', secret: async () => SECRET },
      userIdClaim: 'sub',
      issuer: 'https://issuer.example.com',
      audience: 'quiz',
    });
    const good = await sign({ sub: 'u', exp: now() + 60, iss: 'https://issuer.example.com', aud: 'quiz' });
    await expect(verifier.verify(good)).resolves.toMatchObject({ ok: true });
    const wrongIss = await sign({ sub: 'u', exp: now() + 60, iss: 'https://evil.example.com', aud: 'quiz' });
    await expect(verifier.verify(wrongIss)).resolves.toMatchObject({ ok: false, code: 'invalid_token' });
    const wrongAud = await sign({
      sub: 'u',
      exp: now() + 60,
      iss: 'https://issuer.example.com',
      aud: 'other',
    });
    await expect(verifier.verify(wrongAud)).resolves.toMatchObject({ ok: false, code: 'invalid_token' });
  });

  it('a secret from the store that is too short is a server fault (TokenKeyError), not a bad token', async () => {
    const verifier = new JoseTokenVerifier({
      key: { kind: 'hs256', secret: async () => 'short' },
      userIdClaim: 'sub',
    });
    const error = await verifier.verify(await sign({ sub: 'u', exp: now() + 60 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenKeyError);
    expect(error).toMatchObject({
      name: 'TokenKeyError',
      message: 'the HS256 secret must be at least 16 characters, got 5',
    });
  });

  it('reads the user id from a configured claim', async () => {
    const verifier = new JoseTokenVerifier({
      key: { kind: 'hs256', secret: async () => SECRET },
      userIdClaim: 'user_id',
    });
    await expect(verifier.verify(await sign({ user_id: 42, exp: now() + 60 }))).resolves.toMatchObject({
      ok: true,
      userId: '42',
    });
  });

  it('never echoes the token in its reason', async () => {
    const token = await sign(
      { sub: 'u', exp: now() + 60 },
      'HS256',
      new TextEncoder().encode('another-secret-value'),
    );
    const result = await hs256().verify(token);
    expect(JSON.stringify(result)).not.toContain(token.split('.')[2]);
  });
});

describe('RS256 / ES256 tokens from a JWKS URL', () => {
  let server: Server;
  let jwksUrl: string;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    const keys: JWK[] = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' },
    ];
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const jwks = () => new JoseTokenVerifier({ key: { kind: 'jwks', jwksUrl }, userIdClaim: 'sub' });

  it('accepts RS256 and ES256 tokens signed by keys in the set', async () => {
    const rs = await new SignJWT({ sub: 'r', exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .sign(rsa.privateKey);
    const es = await new SignJWT({ sub: 'e', exp: now() + 60 })
      .setProtectedHeader({ alg: 'ES256', kid: 'ec' })
      .sign(ec.privateKey);
    await expect(jwks().verify(rs)).resolves.toMatchObject({ ok: true, userId: 'r' });
    await expect(jwks().verify(es)).resolves.toMatchObject({ ok: true, userId: 'e' });
  });

  it('refuses HS256 tokens in JWKS mode and keys not in the set', async () => {
    await expect(jwks().verify(await sign({ sub: 'u', exp: now() + 60 }))).resolves.toMatchObject({
      ok: false,
      code: 'invalid_token',
    });
    const stranger = await generateKeyPair('RS256');
    const token = await new SignJWT({ sub: 'u', exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .sign(stranger.privateKey);
    await expect(jwks().verify(token)).resolves.toMatchObject({ ok: false, code: 'invalid_token' });
  });
});

describe('when the key set cannot be fetched', () => {
  it('throws (a server fault the route answers with internal_error) instead of blaming the token', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const verifier = new JoseTokenVerifier({
      key: { kind: 'jwks', jwksUrl: `http://127.0.0.1:${port}/jwks.json` },
      userIdClaim: 'sub',
    });
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ sub: 'u', exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: 'k' })
      .sign(privateKey);
    await expect(verifier.verify(token)).rejects.toThrow();
  });
});

describe('when the identity provider answers badly (an outage, not a bad token)', () => {
  let server: Server;
  let mode: 'ok' | 'status-503' | 'html' | 'bad-key-set' = 'ok';
  let base: string;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    const keys: JWK[] = [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' }];
    server = createServer((_req, res) => {
      if (mode === 'status-503') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"message":"Service Unavailable"}');
      } else if (mode === 'html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Maintenance</body></html>');
      } else if (mode === 'bad-key-set') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"keys":"nope"}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const token = () =>
    new SignJWT({ sub: 'u', exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .sign(rsa.privateKey);

  it.each(['status-503', 'html', 'bad-key-set'] as const)(
    'a %s answer throws (internal_error for the route), and the same token verifies once it recovers',
    async (failure) => {
      // A fresh URL per case: jose caches a fetched key set per URL.
      const verifier = new JoseTokenVerifier({
        key: { kind: 'jwks', jwksUrl: `${base}/${failure}/jwks.json` },
        userIdClaim: 'sub',
      });
      const t = await token();
      mode = failure;
      await expect(verifier.verify(t)).rejects.toThrow();
      mode = 'ok';
      await expect(verifier.verify(t)).resolves.toMatchObject({ ok: true, userId: 'u' });
    },
  );
});

describe('user ids and expiry times the stores can keep', () => {
  it.each([
    ['a lone surrogate', { sub: 'eve\uD800' }],
    ['a lone low surrogate', { sub: '\uDC00eve' }],
    ['257 bytes', { sub: 'x'.repeat(257) }],
    ['an exp past year 9999', { sub: 'u', exp: 1e300 }],
  ])('%s is invalid_token', async (_name, claims) => {
    const t = await sign({ exp: now() + 60, ...claims });
    await expect(hs256().verify(t)).resolves.toMatchObject({ ok: false, code: 'invalid_token' });
  });

  it('a 256-byte user id with multi-byte characters is accepted', async () => {
    const sub = `${'é'.repeat(128)}`; // 256 bytes
    await expect(hs256().verify(await sign({ sub, exp: now() + 60 }))).resolves.toMatchObject({
      ok: true,
      userId: sub,
    });
  });
});
