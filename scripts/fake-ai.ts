/**
 * `npm run fake-ai [-- --port N --host H --quiet]`: runs the fake AI service alone, until Ctrl-C.
 * Point a backend at it with AI_SERVICE_URL=<the printed URL>. See scripts/fake-ai-service.ts
 * for its API and its test controls.
 */
import { parseArgs } from 'node:util';
import { startFakeAiService } from './fake-ai-service';

const DEFAULT_PORT = 3041;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run fake-ai -- [--port N (default 3041; 0 = any free port)] [--host H] [--quiet]',
    );
    return;
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a port number, got ${JSON.stringify(values.port)}`);
  }
  const service = await startFakeAiService({
    port,
    ...(values.host ? { host: values.host } : {}),
    ...(values.quiet ? {} : { onRequest: (line: string) => console.log(`[fake-ai] ${line}`) }),
  });
  console.log(`Fake AI service on ${service.url}  (AI_SERVICE_URL=${service.url}); Ctrl-C to stop.`);
  const stop = () => {
    void service.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`[fake-ai] failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
