/**
 * `npm run token -- <user_id> [--ttl-seconds N] [--secret S]`: prints an HS256 token for the
 * local stack (`sub` = user id, `iat`, `exp`; default ttl 3600 s, secret 'local-dev-secret').
 */
import { parseArgs } from 'node:util';
import { DEFAULT_DEV_SECRET, DEFAULT_TTL_SECONDS, signDevToken } from './dev-token';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      'ttl-seconds': { type: 'string' },
      secret: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  const userId = positionals[0];
  if (values.help || userId === undefined || positionals.length > 1) {
    console.error('Usage: npm run token -- <user_id> [--ttl-seconds N] [--secret S]');
    process.exit(values.help ? 0 : 2);
  }
  const ttlSeconds =
    values['ttl-seconds'] === undefined ? DEFAULT_TTL_SECONDS : Number(values['ttl-seconds']);
  const token = await signDevToken({ userId, secret: values.secret ?? DEFAULT_DEV_SECRET, ttlSeconds });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
