/**
 * The local stack under chaos, in a process of its own so the harness can SIGKILL it and start
 * it again on the same data folder. Started as `node --import tsx stack-child.ts '<json config>'`;
 * prints one JSON line on stdout when ready. Faults, while it runs:
 * - DynamoDB throttling and InternalServerError on a share of calls (the services endpoint);
 * - @connections answered with 410, 429 or 500 on a share of calls;
 * - Lambda instances killed mid-invocation (a busy instance of a random function, now and then).
 */

import { seededRandom } from '../../bench/support/stats';
import { startLocalStack } from '../../local/stack';

export interface ChaosStackConfig {
  port: number;
  dataDir: string;
  testDefinitionsDir: string;
  seed: number;
  dynamodbThrottleRate: number;
  dynamodbErrorRate: number;
  /** Share of @connections calls that fail; split between 410, 429 and 500. */
  connectionsFaultRate: number;
  /** Mean milliseconds between killing one busy Lambda instance (0: never). */
  killEveryMs: number;
}

const FAULTS = [
  { status: 410, type: 'GoneException', message: 'Gone' },
  { status: 429, type: 'LimitExceededException', message: 'Rate exceeded' },
  { status: 500, type: 'InternalServerErrorException', message: 'Internal server error' },
] as const;

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ChaosStackConfig;
  const rng = seededRandom(config.seed);
  const counts = { connectionsFaults: 0, kills: 0 };
  const stack = await startLocalStack({
    port: config.port,
    persistence: 'disk',
    dataDir: config.dataDir,
    testDefinitionsDir: config.testDefinitionsDir,
    sweepIntervalMs: 5000,
    quiet: true,
    connectionsFault: (call) => {
      // Only posts: a failed close or describe would not test the promise, only the clean-up.
      if (call.method !== 'POST' || rng() >= config.connectionsFaultRate) return undefined;
      const fault = FAULTS[Math.floor(rng() * FAULTS.length)] ?? FAULTS[2];
      counts.connectionsFaults++;
      return {
        status: fault.status,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': fault.type },
        body: JSON.stringify({ message: fault.message }),
      };
    },
  });
  const running = stack.running;
  if (!running) throw new Error('the chaos stack must run the assembly, not in-process');
  running.services.setFaults({
    dynamodb: { throttleRate: config.dynamodbThrottleRate, serverErrorRate: config.dynamodbErrorRate },
  });
  const functionIds = running.app.functions.map((fn) => fn.id);
  if (config.killEveryMs > 0) {
    const killSome = () => {
      const id = functionIds[Math.floor(rng() * functionIds.length)];
      if (id !== undefined) counts.kills += running.runtime.kill(id, 'one');
      setTimeout(killSome, config.killEveryMs * (0.5 + rng())).unref();
    };
    setTimeout(killSome, config.killEveryMs).unref();
  }
  setInterval(() => process.stderr.write(`${JSON.stringify({ chaosCounts: counts })}\n`), 1000).unref();
  process.stdout.write(
    `${JSON.stringify({ ready: true, wsUrl: stack.wsUrl, httpUrl: stack.httpUrl, dynamodbEndpoint: stack.dynamodbEndpoint, tableNames: stack.tableNames })}\n`,
  );
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos stack failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
