/**
 * Every student of one test as staff see them: connected or not and since when, why the last
 * connection ended, progress, time left, outcome, reconnects and time offline. The proctor
 * snapshot and `npm run report` are both built from this.
 */
import type { ProctorStudent, ProctorStudentStatus } from '../../protocol';
import type { KeyHistory } from './connection-history';
import type { AssessmentRecord, AssessmentStore, ConnectionRegistry, TestCatalog } from './ports';

export interface TestRoster {
  test_id: string;
  title: string;
  duration_seconds: number;
  total_questions: number;
  generated_at: string;
  students: ProctorStudent[];
}

export interface RosterDeps {
  connections: Pick<ConnectionRegistry, 'rosterOf'>;
  assessments: Pick<AssessmentStore, 'get'>;
  tests: Pick<TestCatalog, 'get'>;
}

/** Attempts are read this many at a time. */
const READ_CONCURRENCY = 25;

const iso = (ms: number) => new Date(ms).toISOString();

/** A student's line: the key's history, and the attempt when one was started. */
export function studentOf(
  history: KeyHistory,
  record: AssessmentRecord | null,
  totalQuestions: number,
): ProctorStudent {
  const connected = history.holder !== null;
  const since = connected ? history.claimedAtMs : history.ended?.atMs;
  const status: ProctorStudentStatus = record === null ? 'not_started' : record.status;
  return {
    user_id: history.userId,
    connected,
    ...(since === undefined ? {} : { since: iso(since) }),
    ...(!connected && history.ended ? { end_reason: history.ended.reason } : {}),
    status,
    answered: record?.answeredCount ?? 0,
    total: record?.total ?? totalQuestions,
    ...(record ? { deadline: iso(record.deadlineMs) } : {}),
    ...(record?.completion
      ? {
          completion_reason: record.completion.reason,
          completed_at: iso(record.completion.completedAtMs),
          score: record.completion.score,
        }
      : {}),
    connections: history.totals.connections,
    reconnects: history.totals.reconnects,
    offline_seconds: history.totals.offlineMs / 1000,
    longest_gap_seconds: history.totals.longestGapMs / 1000,
    replaced: history.totals.replaced,
  };
}

/**
 * The gap still open for a student who is offline: up to now while the attempt runs, up to its
 * end when it finished while they were away, 0 otherwise. Add it to `offline_seconds` for the
 * total; the live page does the same with its own clock.
 */
export function openGapSeconds(student: ProctorStudent, nowMs: number): number {
  if (student.connected || student.since === undefined) return 0;
  const since = Date.parse(student.since);
  if (student.status === 'in_progress') return Math.max(0, nowMs - since) / 1000;
  if (student.status === 'completed' && student.completed_at !== undefined) {
    return Math.max(0, Date.parse(student.completed_at) - since) / 1000;
  }
  return 0;
}

export async function loadRoster(
  deps: RosterDeps,
  testId: string,
  nowMs: number,
): Promise<TestRoster | null> {
  const [test, histories] = await Promise.all([deps.tests.get(testId), deps.connections.rosterOf(testId)]);
  if (!test) return null;
  const records: (AssessmentRecord | null)[] = [];
  for (let i = 0; i < histories.length; i += READ_CONCURRENCY) {
    const batch = histories.slice(i, i + READ_CONCURRENCY);
    records.push(...(await Promise.all(batch.map((h) => deps.assessments.get(h.userId, testId)))));
  }
  return {
    test_id: test.test_id,
    title: test.title,
    duration_seconds: test.duration_seconds,
    total_questions: test.questions.length,
    generated_at: iso(nowMs),
    students: histories
      .map((history, i) => studentOf(history, records[i] ?? null, test.questions.length))
      .sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0)),
  };
}
