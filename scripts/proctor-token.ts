/**
 * `npm run proctor-token -- <user_id> --tests demo[,other] [--ttl-seconds N] [--secret S]`: prints
 * an HS256 proctor token for the local stack (claims `sub`, `role: "proctor"`, `proctor_tests`,
 * `iat`, `exp`; the default claim names of the proctor view, secret 'local-dev-secret'). Open
 * `/demo/proctor.html#token=<token>` with it. Deployed stacks take proctor tokens from the real
 * issuer; this secret never works there.
 */
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { isValidTestId } from '../protocol';

const USAGE =
  'usage: npm run proctor-token -- <user_id> --tests <test_id>[,<test_id>...] [--ttl-seconds N] [--secret S]';

export async function signProctorToken(options: {
  userId: string;
  tests: string[];
  secret?: string;
  ttlSeconds?: number;
  nowMs?: number;
}): Promise<string> {
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  return new SignJWT({ role: 'proctor', proctor_tests: options.tests })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.userId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(options.secret ?? 'local-dev-secret'));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      tests: { type: 'string' },
      'ttl-seconds': { type: 'string', default: '3600' },
      secret: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  const userId = positionals[0];
  const tests = (values.tests ?? '').split(',').filter(Boolean);
  const ttlSeconds = Number(values['ttl-seconds']);
  if (values.help || userId === undefined || positionals.length > 1 || tests.length === 0) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const bad = tests.filter((t) => !isValidTestId(t));
  if (bad.length > 0 || !Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    console.error(
      `${bad.length > 0 ? `not test ids: ${bad.join(', ')}` : '--ttl-seconds must be a positive integer'}\n${USAGE}`,
    );
    return 2;
  }
  process.stdout.write(
    `${await signProctorToken({ userId, tests, ttlSeconds, ...(values.secret ? { secret: values.secret } : {}) })}\n`,
  );
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
