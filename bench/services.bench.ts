/**
 * What the IAM-enforcing services endpoint adds to a DynamoDB call, as ratios to a baseline
 * measured in the same run: the same SDK call sent straight to dynalite. Sequential calls show
 * the per-call latency added; concurrent calls (as many instances calling at once) show whether
 * the endpoint becomes the bottleneck.
 *
 *   npx tsx bench/services.bench.ts      (BENCH_ROUNDS=2000 by default)
 */
import '../test/support/env';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { ensureTables } from '../lambdas/adapters/dynamodb/create-tables';
import { type AwsServices, startAwsServices } from '../local/services';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);
const CONCURRENCY = 16;

/** Wall time of `rounds` calls, `concurrency` at a time. */
async function timed(
  run: (i: number) => Promise<unknown>,
  concurrency: number,
  rounds: number,
): Promise<number> {
  const start = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < rounds) await run(next++);
    }),
  );
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Baseline and subject alternate in blocks, and each side keeps its median block: on a shared
 * machine, load that comes and goes then hits both sides alike.
 */
async function compare(
  baseline: (i: number) => Promise<unknown>,
  subject: (i: number) => Promise<unknown>,
  concurrency: number,
): Promise<{ base: number; through: number }> {
  for (let i = 0; i < 50; i++) await Promise.all([baseline(i), subject(i)]);
  const blocks = 8;
  const perBlock = Math.ceil(ROUNDS / blocks);
  const base: number[] = [];
  const through: number[] = [];
  for (let b = 0; b < blocks; b++) {
    base.push(await timed(baseline, concurrency, perBlock));
    through.push(await timed(subject, concurrency, perBlock));
  }
  const median = (xs: number[]) =>
    (xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN) / perBlock;
  return { base: median(base), through: median(through) };
}

async function main() {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const direct = new DynamoDBClient({ endpoint, region: 'us-east-1' });
  const tables = { connections: 'bench-connections', assessments: 'bench-assessments', tests: 'bench-tests' };
  await ensureTables(direct, tables);
  const table = `arn:aws:dynamodb:us-east-1:000000000000:table/${tables.connections}`;
  const functions = [
    {
      id: 'bench',
      functionName: 'bench',
      // A policy the size of a real role: several statements, wildcards, a Deny to skip past.
      policy: [
        {
          effect: 'Allow' as const,
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: ['arn:aws:logs:*:*:*'],
        },
        { effect: 'Deny' as const, actions: ['dynamodb:Delete*'], resources: ['*'] },
        {
          effect: 'Allow' as const,
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: [table],
        },
        { effect: 'Allow' as const, actions: ['dynamodb:Query'], resources: [`${table}/index/*`] },
      ],
    },
  ];
  const forwarding = await startAwsServices({ dynamodbEndpoint: endpoint, functions });
  const inProcess = await startAwsServices({ dynalite: server, functions });
  const clientOf = (services: AwsServices) =>
    new DynamoDBClient({
      endpoint: services.endpoint,
      region: 'us-east-1',
      credentials: services.identityFor('bench'),
    });
  const subjects = { 'via URL': clientOf(forwarding), 'in process': clientOf(inProcess) };
  const TableName = tables.connections;
  await direct.send(new PutItemCommand({ TableName, Item: { pk: { S: 'k' }, v: { S: 'x'.repeat(200) } } }));

  const calls = {
    GetItem: (client: DynamoDBClient) => () =>
      client.send(new GetItemCommand({ TableName, Key: { pk: { S: 'k' } } })),
    PutItem: (client: DynamoDBClient) => (i: number) =>
      client.send(
        new PutItemCommand({ TableName, Item: { pk: { S: `p${i % 100}` }, v: { S: 'y'.repeat(200) } } }),
      ),
    'Query (index)': (client: DynamoDBClient) => () =>
      client.send(
        new QueryCommand({
          TableName,
          IndexName: 'pending-by-auth-deadline',
          KeyConditionExpression: 'pendingBucket = :b',
          ExpressionAttributeValues: { ':b': { S: 'p#0' } },
        }),
      ),
  };
  const rows: string[] = [];
  try {
    for (const [name, make] of Object.entries(calls)) {
      for (const [mode, client] of Object.entries(subjects)) {
        for (const concurrency of [1, CONCURRENCY]) {
          const { base, through } = await compare(make(direct), make(client), concurrency);
          rows.push(
            [
              name.padEnd(14),
              mode.padEnd(10),
              String(concurrency).padStart(3),
              `${(base * 1000).toFixed(0).padStart(6)} µs`,
              `${(through * 1000).toFixed(0).padStart(6)} µs`,
              `${(through / base).toFixed(2).padStart(5)}x`,
              `${((through - base) * 1000).toFixed(0).padStart(5)} µs`,
            ].join('  '),
          );
        }
      }
    }
  } finally {
    direct.destroy();
    for (const client of Object.values(subjects)) client.destroy();
    await forwarding.stop();
    await inProcess.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  console.log(`${ROUNDS} calls each; per-call time is wall time / calls (so it drops with concurrency)`);
  console.log('call            services    conc  dynalite   enforced  ratio   added');
  for (const row of rows) console.log(row);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
