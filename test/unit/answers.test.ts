/**
 * Compact answers in the core: what the client sees when a request id's hash matches an answer
 * stored by another id (the collision policy), and how stored answers read back through the test.
 */
import { answerOfRequest, answersOf, requestHash } from '../../lambdas/core/answers';
import type { AssessmentRecord, TestDefinition } from '../../lambdas/core/ports';
import { QUIZ } from '../support/backend';
import { twinCore } from '../support/twins';

const data = (frame: { data?: unknown } | undefined) => (frame?.data ?? {}) as Record<string, unknown>;

describe('a request id whose hash is already stored (a collision)', () => {
  /**
   * q1 is answered `a` by some request whose hash equals that of `r-new`: the record is planted,
   * because no two ids with equal 72-bit hashes are known.
   */
  async function collided() {
    const { deps, open } = twinCore();
    const conn = await open('quiz-1');
    await conn.send({ action: 'auth', token: 'user:ivy' });
    await conn.send({ action: 'message', type: 'start_assessment' });
    const record = [...deps.assessments.records.values()][0];
    if (!record) throw new Error('no attempt');
    record.choices.push({ option: 0, request: requestHash('r-new') });
    record.answeredCount = 1;
    const answer = (questionId: string, option: string) =>
      conn.send({
        action: 'message',
        type: 'submit_answer',
        request_id: 'r-new',
        data: { question_id: questionId, selected_option: option },
      });
    return { deps, conn, answer };
  }

  it('reads as that answer: the same question and option is a duplicate, which that question holds', async () => {
    const { answer } = await collided();
    const [feedback, ...rest] = await answer('q1', 'a');
    expect(rest).toEqual([]);
    expect(data(feedback)).toMatchObject({ question_id: 'q1', duplicate: true, progress: { answered: 1 } });
  });

  it('anything else is refused as request_id_reused, and nothing is stored or changed', async () => {
    const { deps, conn, answer } = await collided();
    const before = structuredClone([...deps.assessments.records.values()][0]);
    expect((await answer('q1', 'b'))[0]?.error?.code).toBe('request_id_reused');
    // Even the current question: the write's condition refuses the stored hash.
    expect((await answer('q2', 'b'))[0]?.error?.code).toBe('request_id_reused');
    expect([...deps.assessments.records.values()][0]).toEqual(before);
    // The client's next request id (a retry under a new id) is stored as usual.
    const stored = await conn.send({
      action: 'message',
      type: 'submit_answer',
      request_id: 'r-other',
      data: { question_id: 'q2', selected_option: 'b' },
    });
    expect(stored.map((f) => f.type)).toEqual(['answer_feedback', 'question']);
  });
});

describe('answersOf', () => {
  const record = (overrides: Partial<AssessmentRecord>): AssessmentRecord => ({
    userId: 'u',
    testId: 'quiz-1',
    assessmentId: 'a',
    threadId: 't',
    status: 'in_progress',
    startedAtMs: 0,
    deadlineMs: 1,
    total: 3,
    answeredCount: 0,
    choices: [],
    ...overrides,
  });

  it('interleaves answers in the old form with compact ones in question order', () => {
    // An old container may store q2 in the old form after a new one stored q1 compactly.
    const mixed = record({
      answeredCount: 3,
      choices: [
        { option: 2, request: requestHash('r1') },
        { option: 1, request: requestHash('r3') },
      ],
      legacy: { options: { q2: 'c' }, requestQuestions: { r2: 'q2' } },
      pendingRequestIds: { 2: 'r3' },
    });
    const answers = answersOf(mixed, QUIZ);
    expect(answers.map((a) => [a.questionId, a.option, a.requestHash, a.requestId])).toEqual([
      ['q1', 'c', requestHash('r1'), null],
      ['q2', 'c', null, 'r2'],
      ['q3', 'b', requestHash('r3'), 'r3'],
    ]);
    expect(answerOfRequest(answers, 'r1')?.questionId).toBe('q1');
    expect(answerOfRequest(answers, 'r2')?.questionId).toBe('q2');
    expect(answerOfRequest(answers, 'r3')?.questionId).toBe('q3');
    expect(answerOfRequest(answers, 'r4')).toBeUndefined();
  });

  it('stops at an answer the test cannot explain (a test edited under a running attempt)', () => {
    const edited: TestDefinition = {
      ...QUIZ,
      questions: QUIZ.questions.map((q, i) => (i === 1 ? { ...q, options: ['a'] } : q)),
    };
    const answers = answersOf(
      record({
        answeredCount: 3,
        choices: [
          { option: 0, request: 'h1' },
          { option: 2, request: 'h2' },
          { option: 0, request: 'h3' },
        ],
      }),
      edited,
    );
    expect(answers.map((a) => a.questionId)).toEqual(['q1']);
  });
});
