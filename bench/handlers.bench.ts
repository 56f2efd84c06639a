/**
 * Handler latency against dynalite, as ratios to a baseline measured in the same run: one bare
 * DynamoDB GetItem on the same client. A route that needs two sequential round trips should
 * cost about twice the baseline; much more means work crept into the path.
 *
 *   npm run bench            (prints a table; docs/benchmarks.md records a run)
 */
import '../test/support/env';
import { ApiGatewayManagementApiClient, GetConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { Backend } from '../test/support/backend';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);

async function measure(label: string, run: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 30; i++) await run(-1 - i); // warm up
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    await run(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  return { label, median: at(0.5), p95: at(0.95) };
}

async function main() {
  const backend = await Backend.start();
  const { doc, tables } = backend.dynamo;
  try {
    const conn = await backend.connect('?test_id=quiz-1');
    await conn.auth(await backend.token('bench'));
    await conn.message('get_test_info');

    const results = [];
    results.push(
      await measure('baseline: one GetItem', () =>
        doc.send(new GetCommand({ TableName: tables.tests, Key: { testId: 'quiz-1' } })),
      ),
    );
    const management = new ApiGatewayManagementApiClient({ endpoint: backend.callbackUrl });
    results.push(
      await measure('reference: one @connections call', () =>
        management.send(new GetConnectionCommand({ ConnectionId: conn.id })),
      ),
    );
    results.push(await measure('message: heartbeat', () => conn.message('heartbeat')));
    results.push(
      await measure('message: get_assessment_status', () => conn.message('get_assessment_status')),
    );

    // Each submit_answer round needs a fresh attempt: one user per round, started beforehand.
    const students: Awaited<ReturnType<typeof backend.connect>>[] = [];
    for (let i = -30; i < ROUNDS; i++) {
      const c = await backend.connect('?test_id=quiz-1');
      await c.auth(await backend.token(`s${i}`));
      await c.message('start_assessment');
      students.push(c);
    }
    let next = 0;
    // The first pass stores each student's answer; the second resends it (a duplicate).
    for (const label of ['message: submit_answer (stored)', 'message: submit_answer (duplicate)']) {
      next = 0;
      results.push(
        await measure(label, () => {
          const c = students[next++];
          const data = { question_id: 'q1', selected_option: 'a' };
          return c?.message('submit_answer', { request_id: 'r', data }) ?? Promise.resolve();
        }),
      );
    }
    next = 0;
    results.push(
      await measure('auth with recovery (replacing)', async () => {
        const c = await backend.connect('?test_id=quiz-1');
        return c.auth(await backend.token(`s${next++ - 30}`));
      }),
    );

    const base = results[0]?.median ?? 1;
    console.log(`rounds: ${ROUNDS}, node ${process.version}\n`);
    console.log('| path | median ms | p95 ms | median / baseline |');
    console.log('|---|---|---|---|');
    for (const r of results) {
      console.log(
        `| ${r.label} | ${r.median.toFixed(2)} | ${r.p95.toFixed(2)} | ${(r.median / base).toFixed(1)}x |`,
      );
    }
  } finally {
    await backend.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
