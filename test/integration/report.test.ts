/**
 * `npm run report` against real tables (dynalite): students driven through the real routes, one
 * dropping and coming back, then the report read from the endpoint and table names, as JSON, as
 * text and as a CSV file; and from a `cdk deploy --outputs-file` JSON.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { main } from '../../scripts/report';
import { Backend } from '../support/backend';

let backend: Backend;
beforeAll(async () => {
  backend = await Backend.start();
});
afterAll(() => backend.stop());

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: unknown) => lines.push(String(line)));
  const error = jest.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const code = await main(args);
    return { code, out: lines.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('npm run report', () => {
  const tables = () => {
    const t = backend.dynamo.tables;
    return [
      '--endpoint',
      backend.dynamo.endpoint,
      '--tables',
      `${t.connections},${t.assessments},${t.tests}`,
    ];
  };

  beforeAll(async () => {
    const ana = await backend.connect('?test_id=quiz-1');
    await ana.auth(await backend.token('ana'));
    await ana.message('start_assessment');
    await ana.message('submit_answer', {
      request_id: 'a1',
      data: { question_id: 'q1', selected_option: 'a' },
    });
    backend.clock.advance(1000);
    await ana.disconnect();
    backend.clock.advance(42_000);
    const back = await backend.connect('?test_id=quiz-1');
    await back.auth(await backend.token('ana'));
    await back.message('complete_assessment');

    const bo = await backend.connect('?test_id=quiz-1');
    await bo.auth(await backend.token('bo'));
    await bo.message('start_assessment');
    backend.clock.advance(5000);
    await bo.disconnect();
  });

  it('--json: one row per student with progress, reconnects, time offline, longest gap, outcome', async () => {
    const { code, out } = await run(['--test', 'quiz-1', '--json', ...tables()]);
    expect(code).toBe(0);
    const report = JSON.parse(out) as { test_id: string; rows: Record<string, unknown>[] };
    expect(report.test_id).toBe('quiz-1');
    const rows = Object.fromEntries(report.rows.map((r) => [r.user_id, r]));
    expect(rows.ana).toMatchObject({
      status: 'submitted',
      answered: 1,
      total: 3,
      score: 1,
      online_now: true,
      connections: 2,
      reconnects: 1,
      offline_seconds: 42,
      longest_gap_seconds: 42,
    });
    // Offline since the drop, attempt still running: the open gap counts up to now.
    expect(rows.bo).toMatchObject({
      status: 'in_progress',
      online_now: false,
      reconnects: 0,
      last_end_reason: 'dropped',
    });
    expect(Number(rows.bo?.offline_seconds)).toBeGreaterThanOrEqual(0);
  });

  it('text by default, a CSV file with --csv, table names from a stack outputs file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
    const t = backend.dynamo.tables;
    const outputs = path.join(dir, 'outputs.json');
    writeFileSync(
      outputs,
      JSON.stringify({
        AssessmentWebSocketBackend: {
          ConnectionsTableName: t.connections,
          AssessmentsTableName: t.assessments,
          TestsTableName: t.tests,
        },
      }),
    );
    const text = await run([
      '--test',
      'quiz-1',
      '--endpoint',
      backend.dynamo.endpoint,
      '--stack-outputs',
      outputs,
    ]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^Quiz one \(quiz-1\), 2 students, 1 reconnects/);
    expect(text.out).toMatch(/\nana\s+submitted\s+1\/3\s+1\s+yes\s+1\s+42s\s+42s/);

    const csv = path.join(dir, 'quiz-1.csv');
    expect((await run(['--test', 'quiz-1', '--csv', csv, ...tables()])).code).toBe(0);
    const lines = readFileSync(csv, 'utf8').trim().split('\r\n');
    expect(lines[0]?.startsWith('user_id,status,answered,total,score')).toBe(true);
    expect(lines).toHaveLength(3);
  });

  it('an unknown test exits 1; a missing table choice is a usage error', async () => {
    expect((await run(['--test', 'nope', ...tables()])).code).toBe(1);
    await expect(main(['--test', 'quiz-1'])).rejects.toThrow(/--tables or --stack-outputs/);
  });
});
