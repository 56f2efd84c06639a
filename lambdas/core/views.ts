/** Builds what the client sees of tests and assessments. The correct option never leaves here. */

import type { AssessmentSnapshot, CompletedSummary, Progress, QuestionView, TestInfo } from '../../protocol';
import { answersOf } from './answers';
import { InvariantError } from './errors';
import type { AssessmentRecord, TestDefinition } from './ports';

const iso = (ms: number) => new Date(ms).toISOString();

export function remainingSeconds(record: AssessmentRecord, nowMs: number): number {
  return Math.max(0, (record.deadlineMs - nowMs) / 1000);
}

export function progressOf(record: AssessmentRecord): Progress {
  return {
    answered: record.answeredCount,
    total: record.total,
    current_question_index: record.answeredCount,
  };
}

export function questionView(
  test: TestDefinition,
  index: number,
  record: AssessmentRecord,
  nowMs: number,
): QuestionView | undefined {
  const question = test.questions[index];
  if (!question) return undefined;
  return {
    question_id: question.question_id,
    index,
    total: test.questions.length,
    text: question.text,
    options: [...question.options],
    remaining_seconds: remainingSeconds(record, nowMs),
  };
}

export function snapshotOf(
  record: AssessmentRecord,
  test: TestDefinition,
  nowMs: number,
): AssessmentSnapshot {
  const current = questionView(test, record.answeredCount, record, nowMs);
  return {
    assessment_id: record.assessmentId,
    test_id: record.testId,
    thread_id: record.threadId,
    is_in_assessment: true,
    status: 'in_progress',
    started_at: iso(record.startedAtMs),
    deadline: iso(record.deadlineMs),
    remaining_seconds: remainingSeconds(record, nowMs),
    progress: progressOf(record),
    ...(current ? { current_question: current } : {}),
    answers: answersOf(record, test).map((a) => ({ question_id: a.questionId, selected_option: a.option })),
  };
}

export function summaryOf(record: AssessmentRecord): CompletedSummary {
  if (!record.completion) throw new InvariantError(`assessment ${record.assessmentId} is not completed`);
  return {
    assessment_id: record.assessmentId,
    test_id: record.testId,
    score: record.completion.score,
    total: record.total,
    answered: record.answeredCount,
    completed_at: iso(record.completion.completedAtMs),
    reason: record.completion.reason,
  };
}

export function scoreOf(record: AssessmentRecord, test: TestDefinition): number {
  return answersOf(record, test).filter((a) => a.option === test.questions[a.questionIndex]?.correct_option)
    .length;
}

export function testInfoOf(test: TestDefinition): TestInfo {
  return {
    test_id: test.test_id,
    title: test.title,
    duration_seconds: test.duration_seconds,
    total_questions: test.questions.length,
  };
}
