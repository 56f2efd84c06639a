/**
 * What the local Lambda runtime costs per invocation, as ratios against calling the same handler
 * in this process in the same run. Each instance is a child process reached over Node's IPC
 * channel, so every event and result crosses a process boundary twice.
 *
 *   npx tsx bench/runtime-overhead.ts        (BENCH_ROUNDS=2000 by default)
 *
 * Rows: sequential invocations on one warm instance (latency), the same with START/END/REPORT
 * lines on, 8 concurrent streams (throughput, what a gateway under load sees), and cold starts.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FunctionDefinition } from '../local/runtime/contract';
import { createFunctionRuntime } from '../local/runtime/index';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);
const STREAMS = 8;
// The heartbeat target: 100 connections, each waiting for its answer before sending again.
const CONNECTIONS = 100;
const COLD_STARTS = 5;
const codeDir = path.resolve(__dirname, '..', 'test', 'fixtures', 'runtime', 'bench');

const definition = (id: string): FunctionDefinition => ({
  id,
  functionName: id,
  arn: '',
  handler: 'index.handler',
  runtime: 'nodejs24.x',
  codeDir,
  timeoutSeconds: 10,
  memoryMb: 256,
  environment: { TABLE_NAME: 'bench' },
  policy: [],
});

// The shape API Gateway sends for a WebSocket message (about 1 KB).
const event = (i: number) => ({
  requestContext: {
    routeKey: 'heartbeat',
    eventType: 'MESSAGE',
    extendedRequestId: `ext-${i}`,
    requestTime: '01/Dec/2026:00:00:00 +0000',
    messageDirection: 'IN',
    stage: 'local',
    connectedAt: 1796083200000,
    requestTimeEpoch: 1796083200000 + i,
    identity: { sourceIp: '127.0.0.1' },
    requestId: `req-${i}`,
    domainName: 'localhost',
    connectionId: `conn-${i % 100}=`,
    apiId: 'local',
    messageId: `msg-${i}`,
  },
  body: JSON.stringify({ action: 'heartbeat', id: i, padding: 'x'.repeat(400) }),
  isBase64Encoded: false,
});

type Invoke = (i: number) => Promise<unknown>;

async function sequential(run: Invoke): Promise<number> {
  for (let i = 0; i < 200; i++) await run(i);
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) await run(i);
  return ((performance.now() - start) * 1000) / ROUNDS;
}

async function concurrent(run: Invoke, streams = STREAMS): Promise<number> {
  const perStream = Math.ceil(ROUNDS / streams);
  const stream = async (s: number) => {
    for (let i = 0; i < perStream; i++) await run(s * perStream + i);
  };
  await Promise.all(Array.from({ length: streams }, (_, s) => stream(s)));
  const start = performance.now();
  await Promise.all(Array.from({ length: streams }, (_, s) => stream(s)));
  return (streams * perStream) / ((performance.now() - start) / 1000);
}

async function main() {
  // biome-ignore lint/suspicious/noExplicitAny: the fixture is plain JavaScript.
  const handler: (event: any) => Promise<unknown> = require(path.join(codeDir, 'index.js')).handler;
  const inProcess: Invoke = (i) => handler(event(i));

  const quiet = createFunctionRuntime({
    functions: [definition('quiet'), definition('cold')],
    region: 'us-east-1',
    lifecycleLogs: false,
    log: () => {},
  });
  const logged = createFunctionRuntime({
    functions: [definition('logged')],
    region: 'us-east-1',
    log: () => {},
  });
  const through =
    (runtime: typeof quiet, id: string): Invoke =>
    async (i) => {
      const result = await runtime.invoke(id, event(i));
      if (!result.ok) throw new Error(`${result.errorType}: ${result.errorMessage}`);
      return result.value;
    };

  try {
    const baseline = await sequential(inProcess);
    const warm = await sequential(through(quiet, 'quiet'));
    const withLogs = await sequential(through(logged, 'logged'));
    const baselineRate = await concurrent(inProcess);
    const concurrentRate = await concurrent(through(quiet, 'quiet'));
    const instances = quiet.stats('quiet').instances;
    const baselineWide = await concurrent(inProcess, CONNECTIONS);
    const wideRate = await concurrent(through(quiet, 'quiet'), CONNECTIONS);
    const wideInstances = quiet.stats('quiet').instances;

    const coldMs: number[] = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      quiet.kill('cold', 'all');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const start = performance.now();
      const result = await quiet.invoke('cold', event(i));
      if (!result.coldStart) throw new Error('expected a cold start');
      coldMs.push(performance.now() - start);
    }
    coldMs.sort((a, b) => a - b);

    const rows: Array<[string, string, string]> = [
      ['in-process call (baseline)', `${baseline.toFixed(1)} µs`, '1.0x'],
      ['runtime, warm instance', `${warm.toFixed(1)} µs`, `${(warm / baseline).toFixed(1)}x`],
      [
        'runtime, warm, START/END/REPORT logged',
        `${withLogs.toFixed(1)} µs`,
        `${(withLogs / baseline).toFixed(1)}x`,
      ],
      ['in-process, 8 streams', `${baselineRate.toFixed(0)} /s`, '1.0x'],
      [
        `runtime, 8 streams (${instances} instances)`,
        `${concurrentRate.toFixed(0)} /s`,
        `${(concurrentRate / baselineRate).toFixed(3)}x`,
      ],
      [`in-process, ${CONNECTIONS} streams`, `${baselineWide.toFixed(0)} /s`, '1.0x'],
      [
        `runtime, ${CONNECTIONS} streams (${wideInstances} instances)`,
        `${wideRate.toFixed(0)} /s`,
        `${(wideRate / baselineWide).toFixed(3)}x`,
      ],
      [
        'cold start (spawn to result), median',
        `${(coldMs[Math.floor(COLD_STARTS / 2)] ?? 0).toFixed(0)} ms`,
        '',
      ],
    ];
    console.log(`runtime overhead, ${ROUNDS} invocations per row, Node ${process.versions.node}`);
    for (const [label, value, ratio] of rows)
      console.log(`${label.padEnd(46)} ${value.padStart(12)} ${ratio.padStart(8)}`);
    console.log(`warm overhead per invocation: ${(warm - baseline).toFixed(1)} µs`);
  } finally {
    await quiet.stop();
    await logged.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
