/** The staff report's rows and formats, from a roster built by hand. */
import type { TestRoster } from '../../lambdas/core/roster';
import type { ProctorStudent } from '../../protocol';
import { duration, reportRows, toCsv, toText } from '../../scripts/report-format';

const NOW = Date.parse('2026-05-01T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const student = (s: Partial<ProctorStudent> & { user_id: string }): ProctorStudent => ({
  connected: true,
  status: 'in_progress',
  answered: 1,
  total: 3,
  connections: 1,
  reconnects: 0,
  offline_seconds: 0,
  longest_gap_seconds: 0,
  replaced: 0,
  ...s,
});

const roster: TestRoster = {
  test_id: 'exam-1',
  title: 'Exam, part "one"',
  duration_seconds: 600,
  total_questions: 3,
  generated_at: iso(NOW),
  students: [
    student({
      user_id: 'ana',
      since: iso(NOW - 60_000),
      reconnects: 2,
      connections: 3,
      offline_seconds: 40,
      longest_gap_seconds: 30,
    }),
    // Offline right now, attempt running: the open gap counts up to now.
    student({
      user_id: 'ben',
      connected: false,
      since: iso(NOW - 90_000),
      end_reason: 'dropped',
      offline_seconds: 10,
    }),
    // Dropped and never came back: the gap counts up to the end of the attempt.
    student({
      user_id: '=cmd|x',
      connected: false,
      since: iso(NOW - 500_000),
      end_reason: 'idle',
      status: 'completed',
      completion_reason: 'time_up',
      completed_at: iso(NOW - 200_000),
      score: 1,
    }),
    student({
      user_id: 'cy, "the third"',
      status: 'not_started',
      answered: 0,
      connected: false,
      since: iso(NOW - 5000),
      end_reason: 'closed',
    }),
  ],
};

describe('report rows', () => {
  const rows = reportRows(roster);

  it('adds the gap still open to the time offline', () => {
    expect(rows.map((r) => [r.user_id, r.offline_seconds])).toEqual([
      ['ana', 40],
      ['ben', 100],
      ['=cmd|x', 300],
      ['cy, "the third"', 0],
    ]);
  });

  it('names the outcome by completion reason and keeps the score of completed attempts only', () => {
    expect(rows.map((r) => [r.status, r.score])).toEqual([
      ['in_progress', ''],
      ['in_progress', ''],
      ['time_up', 1],
      ['not_started', ''],
    ]);
    expect(rows[1]?.last_end_reason).toBe('dropped');
    expect(rows[0]?.last_end_reason).toBe('');
  });

  it('CSV: a header, quoted fields where needed, formulas defused, CRLF lines', () => {
    const csv = toCsv(rows);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(
      'user_id,status,answered,total,score,online_now,connections,reconnects,offline_seconds,longest_gap_seconds,sessions_replaced,last_end_reason',
    );
    expect(lines[1]).toBe('ana,in_progress,1,3,,true,3,2,40,30,0,');
    expect(lines[3]).toBe("'=cmd|x,time_up,1,3,1,false,1,0,300,0,0,idle");
    expect(lines[4]).toBe('"cy, ""the third""",not_started,0,3,,false,1,0,0,0,0,closed');
    expect(lines).toHaveLength(6);
    expect(lines[5]).toBe('');
  });

  it('text: a title line and aligned columns', () => {
    const text = toText(roster, rows).split('\n');
    expect(text[0]).toBe(`Exam, part "one" (exam-1), 4 students, 2 reconnects, generated ${iso(NOW)}`);
    expect(text[2]).toMatch(
      /^student\s+outcome\s+progress\s+score\s+online\s+reconnects\s+offline\s+longest gap$/,
    );
    expect(text[4]).toMatch(/^ben\s+in_progress\s+1\/3\s+no \(dropped\)\s+0\s+1m40s\s+0s$/);
  });

  it('durations read as people write them', () => {
    expect([duration(0), duration(59.6), duration(61), duration(3725)]).toEqual([
      '0s',
      '1m00s',
      '1m01s',
      '1h02m05s',
    ]);
  });
});
