/**
 * The staff report's output formats: a plain-text table for people, CSV for spreadsheets, JSON for
 * machines. One row per student, from the same roster the proctor view shows.
 */
import { openGapSeconds, type TestRoster } from '../lambdas/core/roster';

export interface ReportRow {
  user_id: string;
  status: string;
  answered: number;
  total: number;
  score: number | '';
  online_now: boolean;
  connections: number;
  reconnects: number;
  offline_seconds: number;
  longest_gap_seconds: number;
  sessions_replaced: number;
  last_end_reason: string;
}

export function reportRows(roster: TestRoster): ReportRow[] {
  const now = Date.parse(roster.generated_at);
  return roster.students.map((s) => ({
    user_id: s.user_id,
    status: s.status === 'completed' ? (s.completion_reason ?? 'completed') : s.status,
    answered: s.answered,
    total: s.total,
    score: s.score ?? '',
    online_now: s.connected,
    connections: s.connections,
    reconnects: s.reconnects,
    offline_seconds: Math.round(s.offline_seconds + openGapSeconds(s, now)),
    longest_gap_seconds: Math.round(s.longest_gap_seconds),
    sessions_replaced: s.replaced,
    last_end_reason: s.connected ? '' : (s.end_reason ?? ''),
  }));
}

const COLUMNS: readonly (keyof ReportRow)[] = [
  'user_id',
  'status',
  'answered',
  'total',
  'score',
  'online_now',
  'connections',
  'reconnects',
  'offline_seconds',
  'longest_gap_seconds',
  'sessions_replaced',
  'last_end_reason',
];

/** RFC 4180: quote a field that holds a comma, quote or line break; a leading =+-@ is defused. */
function csvField(value: unknown): string {
  let text = String(value);
  // A spreadsheet would run a cell starting with one of these as a formula; user ids are client data.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(rows: readonly ReportRow[]): string {
  const lines = [COLUMNS.join(',')];
  for (const row of rows) lines.push(COLUMNS.map((column) => csvField(row[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(rest).padStart(2, '0')}s`;
  if (m > 0) return `${m}m${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

export function toText(roster: TestRoster, rows: readonly ReportRow[]): string {
  const header = [
    'student',
    'outcome',
    'progress',
    'score',
    'online',
    'reconnects',
    'offline',
    'longest gap',
  ];
  const body = rows.map((r) => [
    r.user_id,
    r.status,
    `${r.answered}/${r.total}`,
    String(r.score),
    r.online_now ? 'yes' : `no${r.last_end_reason ? ` (${r.last_end_reason})` : ''}`,
    String(r.reconnects),
    duration(r.offline_seconds),
    duration(r.longest_gap_seconds),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const reconnects = rows.reduce((sum, r) => sum + r.reconnects, 0);
  const title =
    `${roster.title} (${roster.test_id}), ${rows.length} students, ${reconnects} reconnects, ` +
    `generated ${roster.generated_at}`;
  return [title, '', line(header), ...body.map(line)].join('\n');
}
