/**
 * `npm start [-- flags]`: runs the local stack in the foreground until Ctrl-C (SIGINT / SIGTERM
 * close every connection with `$disconnect`, stop dynalite and exit 0).
 *
 * Flags: --port N (default 3001; 0 = any free port), --host H, --stage S, --memory,
 * --data-dir DIR, --auth-deadline-seconds N, --idle-timeout-seconds N, --max-connection-seconds N,
 * --sweep-interval-ms N, --allowed-origins a,b, --test-definitions-dir DIR, --jwt-secret S,
 * --json-ready (print one JSON line on stdout when ready, instead of the report), --quiet,
 * --stop-on-stdin-end (stop when stdin closes: used by the test helper so a dying parent never
 * leaves a stack behind), --assembly DIR, --region R, --account-id N, --in-process, --no-hot-reload,
 * --no-function-logs, --ai-service fake, --help.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { scheduleLines } from './app/schedule-lines';
import { type LocalStack, startLocalStack } from './stack';

const USAGE = `Usage: npm start -- [flags]
  --port N                    HTTP + WebSocket port (default 3001; 0 = any free port)
  --host H                    interface to listen on (default 127.0.0.1)
  --stage S                   stage name in the URLs (default local)
  --memory                    keep DynamoDB data in memory only
  --data-dir DIR              where DynamoDB data lives on disk (default .local-data)
  --auth-deadline-seconds N   close sockets not authenticated after N s (default 30)
  --idle-timeout-seconds N    close idle connections after N s (default 600, as on AWS)
  --max-connection-seconds N  close connections older than N s (default 7200, as on AWS)
  --sweep-interval-ms N       run the scheduled sweep every N ms (default 5000; with
                              --assembly, every rate(...) rule, by default at its own rate)
  --allowed-origins A,B       only these browser origins may connect (default: any)
  --test-definitions-dir DIR  test definitions to load (default test-definitions)
  --jwt-secret S              HS256 secret (default local-dev-secret)
  --json-ready                print one JSON line on stdout when ready
  --quiet                     no log lines
  --stop-on-stdin-end         stop when stdin closes
  --assembly DIR              run this cloud assembly (any CDK WebSocket app's cdk.out) instead
                              of the project's own; its stage names are kept unless --stage is given
  --region R                  the local region ARNs resolve in (default us-east-1)
  --account-id N              the local account ARNs resolve in (default 000000000000)
  --from-assembly             run the project's own synthesized assembly (the default: bundles,
                              template environment, IAM enforced, isolated function instances)
  --in-process                the former mode: the TypeScript handlers run in this process
                              (no bundles, no IAM, no isolation)
  --no-hot-reload             do not re-bundle functions when lambdas/ changes
  --no-function-logs          do not print what the functions log
  --max-instances N           concurrent instances per function (default one per CPU, at least 2);
                              beyond it events wait for a free instance
  --ai-service fake           start the fake AI service (npm run fake-ai) and point the
                              functions' AI_SERVICE_URL at it`;

function numberFlag(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new Error(`--${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function notRunLines(stack: LocalStack): string[] {
  const lines: string[] = [];
  if (stack.notRun.length > 0) lines.push(`  Not run (${stack.notRun.length} resources of the assembly):`);
  const byReason = new Map<string, string[]>();
  for (const item of stack.notRun) {
    const key = `${item.type}: ${item.reason}`;
    byReason.set(key, [...(byReason.get(key) ?? []), item.logicalId]);
  }
  for (const [key, ids] of byReason) lines.push(`    ${key}`, `      ${ids.join(', ')}`);
  // Warnings stand on their own: an app whose every resource runs may still have some.
  for (const warning of stack.warnings) lines.push(`  Warning: ${warning}`);
  return lines;
}

function assemblyLine(stack: LocalStack): string[] {
  if (!stack.assembly) return ['  Mode          in-process handlers (no bundles, IAM or isolation)'];
  const origin =
    stack.mode === 'foreign'
      ? ''
      : stack.assembly.cached
        ? ' (from the synth cache)'
        : ` (synthesized in ${stack.assembly.synthMs} ms)`;
  return [
    `  Assembly      ${path.relative(process.cwd(), stack.assembly.dir) || '.'}${origin}`,
    `  AWS services  ${stack.servicesEndpoint} (DynamoDB, Secrets Manager, SSM; IAM enforced)`,
  ];
}

function foreignReport(stack: LocalStack, rateIntervalMs: number | undefined): string {
  const lines = ['', 'Local stack ready'];
  for (const api of stack.apis) {
    lines.push(`  WebSocket     ${api.wsUrl}   (${api.name}: ${api.routes.join(', ')})`);
    lines.push(`  @connections  ${api.managementEndpoint}/@connections/{connectionId}`);
  }
  lines.push(...assemblyLine(stack));
  lines.push(
    `  DynamoDB      ${stack.dynamodbEndpoint} (dynalite, no IAM); tables ${Object.values(stack.tableNames).join(', ') || '(none)'}`,
  );
  if (stack.running) lines.push(...scheduleLines(stack.running.app, rateIntervalMs));
  lines.push(...notRunLines(stack), '', 'Ctrl-C to stop.', '');
  return lines.join('\n');
}

function report(stack: LocalStack, rateIntervalMs: number | undefined): string {
  if (stack.mode === 'foreign') return foreignReport(stack, rateIntervalMs);
  const data =
    stack.dataDir === null
      ? 'in memory (gone when the stack stops)'
      : `${path.relative(process.cwd(), stack.dataDir) || '.'}/ (delete it to start from scratch)`;
  return [
    '',
    'Local stack ready',
    `  WebSocket     ${stack.wsUrl}   (assessment connection: ${stack.wsUrl}?test_id=demo)`,
    `  Demo page     ${stack.httpUrl}/demo/`,
    `  Token         npm run token -- <user_id>`,
    `                or GET ${stack.httpUrl}/dev/token?user_id=<user_id>&ttl_seconds=3600`,
    `  @connections  ${stack.managementEndpoint}/@connections/{connectionId}`,
    `  DynamoDB      ${stack.dynamodbEndpoint} (dynalite); data ${data}`,
    `  Tests loaded  ${stack.testIds.join(', ') || '(none)'}`,
    ...(stack.aiServiceUrl
      ? [
          `  AI service    ${stack.aiServiceUrl} (the fake; what it received: ${stack.aiServiceUrl}/_fake/threads)`,
        ]
      : []),
    ...assemblyLine(stack),
    ...notRunLines(stack),
    '',
    'Ctrl-C to stop.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  // The SDK's Node-version notice says nothing about the stack; the functions get the same setting.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      stage: { type: 'string' },
      memory: { type: 'boolean' },
      'data-dir': { type: 'string' },
      'auth-deadline-seconds': { type: 'string' },
      'idle-timeout-seconds': { type: 'string' },
      'max-connection-seconds': { type: 'string' },
      'sweep-interval-ms': { type: 'string' },
      'allowed-origins': { type: 'string' },
      'test-definitions-dir': { type: 'string' },
      'jwt-secret': { type: 'string' },
      'json-ready': { type: 'boolean' },
      quiet: { type: 'boolean' },
      'stop-on-stdin-end': { type: 'boolean' },
      assembly: { type: 'string' },
      region: { type: 'string' },
      'account-id': { type: 'string' },
      'in-process': { type: 'boolean' },
      'from-assembly': { type: 'boolean' },
      'no-hot-reload': { type: 'boolean' },
      'no-function-logs': { type: 'boolean' },
      'max-instances': { type: 'string' },
      'ai-service': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = numberFlag(values, 'port');
  const authDeadline = numberFlag(values, 'auth-deadline-seconds');
  const idleSeconds = numberFlag(values, 'idle-timeout-seconds');
  const maxSeconds = numberFlag(values, 'max-connection-seconds');
  const sweepMs = numberFlag(values, 'sweep-interval-ms');
  const maxInstances = numberFlag(values, 'max-instances');
  if (maxInstances !== undefined && (!Number.isInteger(maxInstances) || maxInstances < 1)) {
    throw new Error('--max-instances must be a whole number of at least 1');
  }
  const assembly = values.assembly;
  const accountId = values['account-id'];
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    throw new Error(`--account-id must be 12 digits, got ${JSON.stringify(accountId)}`);
  }
  const aiService = values['ai-service'];
  if (aiService !== undefined && aiService !== 'fake') {
    throw new Error(`--ai-service takes one value, fake; got ${JSON.stringify(aiService)}`);
  }
  if (aiService && assembly) throw new Error("--ai-service runs with the project's app, not --assembly");
  if ((assembly || values['from-assembly']) && values['in-process']) {
    throw new Error('--in-process excludes --assembly and --from-assembly');
  }
  const stack = await startLocalStack({
    ...(port !== undefined ? { port } : {}),
    ...(values.host ? { host: values.host } : {}),
    ...(values.stage ? { stage: values.stage } : {}),
    persistence: values.memory ? 'memory' : 'disk',
    ...(values['data-dir'] ? { dataDir: path.resolve(values['data-dir']) } : {}),
    ...(authDeadline !== undefined ? { authDeadlineSeconds: authDeadline } : {}),
    ...(idleSeconds !== undefined ? { idleTimeoutMs: idleSeconds * 1000 } : {}),
    ...(maxSeconds !== undefined ? { maxConnectionMs: maxSeconds * 1000 } : {}),
    ...(sweepMs !== undefined ? { sweepIntervalMs: sweepMs } : {}),
    ...(values['allowed-origins'] !== undefined
      ? {
          allowedOrigins: values['allowed-origins']
            .split(',')
            .map((o) => o.trim())
            .filter(Boolean),
        }
      : {}),
    ...(values['test-definitions-dir']
      ? { testDefinitionsDir: path.resolve(values['test-definitions-dir']) }
      : {}),
    ...(values['jwt-secret'] ? { jwtSecret: values['jwt-secret'] } : {}),
    ...(assembly ? { assembly: path.resolve(assembly) } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(accountId ? { accountId } : {}),
    ...(values['in-process'] ? { inProcess: true } : {}),
    ...(values['from-assembly'] ? { inProcess: false } : {}),
    ...(values['no-hot-reload'] ? { hotReload: false } : {}),
    ...(values['no-function-logs'] ? { functionLogs: false } : {}),
    ...(maxInstances !== undefined ? { maxInstancesPerFunction: maxInstances } : {}),
    ...(aiService === 'fake' ? { aiService } : {}),
    quiet: values.quiet ?? false,
  });

  let stopping = false;
  const shutdown = (why: string) => {
    if (stopping) {
      process.exit(1); // a second Ctrl-C: do not wait
    }
    stopping = true;
    if (!values.quiet) console.error(`[local] ${why}: stopping`);
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  if (values['stop-on-stdin-end']) {
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.on('error', () => shutdown('stdin closed'));
    process.stdin.resume();
  }

  if (values['json-ready']) {
    process.stdout.write(
      `${JSON.stringify({
        localStackReady: true,
        wsUrl: stack.wsUrl,
        httpUrl: stack.httpUrl,
        managementEndpoint: stack.managementEndpoint,
        dynamodbEndpoint: stack.dynamodbEndpoint,
        tableNames: stack.tableNames,
        port: stack.port,
        dataDir: stack.dataDir,
        testIds: stack.testIds,
        mode: stack.mode,
        apis: stack.apis,
        servicesEndpoint: stack.servicesEndpoint,
        notRun: stack.notRun.length,
        ...(stack.aiServiceUrl ? { aiServiceUrl: stack.aiServiceUrl } : {}),
      })}\n`,
    );
  } else {
    console.log(report(stack, sweepMs));
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? ' (another process uses this port: pass --port N, or --port 0 for any free port)'
      : '';
  console.error(`[local] failed to start: ${message}${hint}`);
  process.exit(1);
});
