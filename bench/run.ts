/**
 * `npm run bench`: measures what a real exam costs and how the backend holds up, writes
 * bench/results.json and prints a table. Every timing is a ratio to a baseline measured in the
 * same run; counts and dollars are exact for what was counted (see docs/benchmarks.md).
 *
 *   npm run bench                                  every part (several minutes)
 *   npm run bench -- --only storm,cost             some parts; the others' keys are kept
 *   npm run bench -- --only recovery --students 300
 *
 * Parts: requests, bundle, throughput, recovery, cost, storm.
 */
import '../test/support/env';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { measureBundles } from './parts/bundle';
import { measureCost } from './parts/cost';
import { measureRecovery, measureThroughput } from './parts/local-load';
import { CAPACITY_METHOD, measureRequestsPerRoute } from './parts/requests';
import { measureStorm, STORM_DEFAULTS } from './parts/storm';

const PARTS = ['requests', 'bundle', 'throughput', 'recovery', 'cost', 'storm'] as const;
type Part = (typeof PARTS)[number];
const OUT = path.join(__dirname, 'results.json');

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      students: { type: 'string', default: '1000,300' },
      'storm-students': { type: 'string', default: String(STORM_DEFAULTS.students) },
      connections: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '5' },
      'init-runs': { type: 'string', default: '15' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(`usage: npm run bench -- [--only ${PARTS.join(',')}] [--students 1000,300]
  [--storm-students 100000] [--connections 100] [--seconds 5] [--init-runs 15]`);
    process.exit(0);
  }
  const only = values.only ? values.only.split(',').map((p) => p.trim()) : [...PARTS];
  for (const part of only) {
    if (!PARTS.includes(part as Part)) throw new Error(`unknown part ${part}: use ${PARTS.join(', ')}`);
  }
  const numbers = (text: string, name: string) =>
    text.split(',').map((raw) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} takes positive integers, got ${raw}`);
      return n;
    });
  return {
    parts: only as Part[],
    students: numbers(values.students, 'students'),
    stormStudents: numbers(values['storm-students'], 'storm-students')[0] ?? STORM_DEFAULTS.students,
    connections: numbers(values.connections, 'connections')[0] ?? 100,
    seconds: numbers(values.seconds, 'seconds')[0] ?? 5,
    initRuns: numbers(values['init-runs'], 'init-runs')[0] ?? 15,
  };
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    // Uncommitted changes to what is measured make the commit alone misleading.
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lambdas', 'lib', 'local', 'client'], {
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}+uncommitted` : head;
  } catch {
    return 'unknown';
  }
}

async function main() {
  const opts = options();
  const results: Results = existsSync(OUT) ? JSON.parse(readFileSync(OUT, 'utf8')) : {};
  const runs = (results.runs ?? {}) as Record<string, unknown>;
  const failures: Part[] = [];
  const machine = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' };
  const step = async (part: Part, work: () => Promise<Record<string, unknown>>) => {
    if (!opts.parts.includes(part)) return;
    const started = Date.now();
    console.error(`[bench] ${part} ...`);
    try {
      Object.assign(results, await work());
    } catch (error) {
      // One broken part (say, a local stack that does not start) must not lose the others.
      failures.push(part);
      console.error(`[bench] ${part} failed:`, error);
      return;
    }
    runs[part] = {
      at: new Date().toISOString(),
      commit: commit(),
      seconds: Math.round((Date.now() - started) / 1000),
      ...machine,
    };
    results.runs = runs;
    writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
  };

  await step('requests', async () => ({
    requests_per_route: await measureRequestsPerRoute(),
    requests_capacity_method: CAPACITY_METHOD,
  }));
  await step('bundle', () => measureBundles(opts.initRuns));
  await step('throughput', () => measureThroughput(opts.connections, opts.seconds));
  await step('recovery', async () => {
    const out: Record<string, unknown> = {};
    for (const n of opts.students) {
      const figure = await measureRecovery(n);
      out[n === opts.students[0] ? 'recovery_ms' : `recovery_ms_${n}_students`] = figure;
    }
    return out;
  });
  await step('cost', () => measureCost());
  await step('storm', async () => ({ storm: measureStorm(opts.stormStudents) }));
  print(results);
  if (failures.length > 0) {
    console.error(`[bench] failed parts (their keys keep earlier figures): ${failures.join(', ')}`);
    process.exitCode = 1;
  }
}

type Results = Partial<
  { requests_per_route: Awaited<ReturnType<typeof measureRequestsPerRoute>> } & Awaited<
    ReturnType<typeof measureBundles>
  > &
    Awaited<ReturnType<typeof measureThroughput>> &
    Awaited<ReturnType<typeof measureCost>> & { storm: ReturnType<typeof measureStorm> }
> &
  Record<string, unknown>;

type RecoveryFigure = Awaited<ReturnType<typeof measureRecovery>>;

function print(r: Results) {
  const rows: [string, string][] = [];
  for (const [route, c] of Object.entries(r.requests_per_route ?? {})) {
    rows.push([
      `requests: ${route}`,
      `${c.requests} req / ${c.round_trips} rt, ${c.rcu} RCU, ${c.wcu} WCU, ${c.connections_calls.post} posts, ${c.route_responses} route response`,
    ]);
  }
  for (const [fn, kb] of Object.entries(r.bundle_kb ?? {})) {
    rows.push([`bundle_kb ${fn}`, `${kb} KB, init ${r.init_ratio?.[fn] ?? 1}x`]);
  }
  if (r.local_heartbeat_msgs_per_s !== undefined) {
    rows.push([
      'local_heartbeat_msgs_per_s',
      `${r.local_heartbeat_msgs_per_s} (${r.local_heartbeat_ratio_to_echo}x echo)`,
    ]);
    rows.push([
      'local_answer_msgs_per_s',
      `${r.local_answer_msgs_per_s} (${r.local_answer_ratio_to_echo}x echo)`,
    ]);
    rows.push(['local_echo_msgs_per_s (baseline)', String(r.local_echo_msgs_per_s)]);
  }
  for (const key of Object.keys(r).filter((k) => k.startsWith('recovery_ms'))) {
    const f = r[key] as RecoveryFigure;
    rows.push([
      `${key} (${f.students} students)`,
      `p50 ${f.p50} ms, p99 ${f.p99} ms, lost ${f.lost}, failed ${f.failed}`,
    ]);
  }
  if (r.cost_per_1000_assessments_usd !== undefined) {
    rows.push([
      'cost_per_1000_assessments_usd',
      `$${r.cost_per_1000_assessments_usd} (dominant: ${r.cost_dominant_item})`,
    ]);
    rows.push(['cost_per_1000_assessments_usd_naive', `$${r.cost_per_1000_assessments_usd_naive}`]);
    for (const [item, usd] of Object.entries(r.cost_breakdown_per_1000_usd ?? {})) {
      rows.push([`  ${item}`, `$${usd}`]);
    }
    for (const [q, c] of Object.entries(r.cost_by_question_count ?? {})) {
      rows.push([
        `  ${q} questions`,
        `$${c.current_usd} (naive $${c.naive_usd}); last answer ${c.answer_wcu_last} WCU`,
      ]);
    }
  }
  for (const [jitter, s] of Object.entries(r.storm?.jitter ?? {})) {
    rows.push([
      `storm ${jitter} jitter`,
      `peak ${s.peak_attempts_per_s}/s tried, p50 ${s.reconnect_ms_p50} ms, p99 ${s.reconnect_ms_p99} ms, ${s.students_hit_quota} hit the quota`,
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
  console.log(`\nwritten: ${path.relative(process.cwd(), OUT)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
