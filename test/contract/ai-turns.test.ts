/**
 * The AI turn count of an attempt, on both AssessmentStore implementations: stored at create
 * only for attempts with an AI thread, and it only ever grows; the request ids an answer keeps
 * for its turn go when the turn is counted.
 */
import { DynamoAssessmentStore } from '../../lambdas/adapters/dynamodb/assessment-store';
import { InMemoryAssessmentStore } from '../../lambdas/adapters/memory';
import type { AssessmentStore, NewAssessment } from '../../lambdas/core/ports';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

const T0 = Date.parse('2026-03-01T10:00:00Z');
let seq = 0;

const attempt = (aiTurnsDelivered?: number): NewAssessment & { holderEpoch: number } => ({
  userId: `u-${++seq}`,
  testId: 'quiz-1',
  assessmentId: `a-${seq}`,
  threadId: `thread-${seq}`,
  startedAtMs: T0,
  deadlineMs: T0 + 600_000,
  total: 3,
  holderEpoch: 1,
  ...(aiTurnsDelivered === undefined ? {} : { aiTurnsDelivered }),
});

describe.each<[string, () => AssessmentStore]>([
  ['memory', () => new InMemoryAssessmentStore()],
  ['dynamodb', () => new DynamoAssessmentStore(dynamo.doc, dynamo.tables.assessments)],
])('AssessmentStore AI turns (%s)', (_name, make) => {
  it('keeps the count of an AI thread, and only raises it', async () => {
    const store = make();
    const a = attempt(0);
    await store.create(a);
    expect((await store.get(a.userId, a.testId))?.aiTurnsDelivered).toBe(0);
    await store.recordAiTurns(a.userId, a.testId, { from: 0, delivered: 2 });
    expect((await store.get(a.userId, a.testId))?.aiTurnsDelivered).toBe(2);
    // A slower request that delivered fewer turns never lowers it.
    await store.recordAiTurns(a.userId, a.testId, { from: 0, delivered: 1 });
    await store.recordAiTurns(a.userId, a.testId, { from: 0, delivered: 2 });
    expect((await store.get(a.userId, a.testId))?.aiTurnsDelivered).toBe(2);
  });

  it('returns the count it raised (whose turns the caller shows), or null when it raised nothing', async () => {
    const store = make();
    const a = attempt(0);
    await store.create(a);
    expect(await store.recordAiTurns(a.userId, a.testId, { from: 0, delivered: 1 })).toBe(0);
    // A request that read the count before that write still raises it further, from 1.
    expect(await store.recordAiTurns(a.userId, a.testId, { from: 0, delivered: 3 })).toBe(1);
    expect(await store.recordAiTurns(a.userId, a.testId, { from: 0, delivered: 2 })).toBeNull();
    // Racing requests that delivered the same turns: exactly one of them recorded (and shows) them.
    const b = attempt(0);
    await store.create(b);
    const raced = await Promise.all(
      Array.from({ length: 6 }, () => store.recordAiTurns(b.userId, b.testId, { from: 0, delivered: 2 })),
    );
    expect(raced.filter((from) => from === 0)).toHaveLength(1);
    expect(raced.filter((from) => from === null)).toHaveLength(5);
    // No attempt, or one without an AI thread: nothing raised.
    expect(await store.recordAiTurns('nobody', 'quiz-1', { from: 0, delivered: 1 })).toBeNull();
  });

  it('an attempt on a local thread has no count, and gets none', async () => {
    const store = make();
    const a = attempt();
    await store.create(a);
    await store.recordAiTurns(a.userId, a.testId, { from: 0, delivered: 1 });
    const record = await store.get(a.userId, a.testId);
    expect(record).not.toBeNull();
    expect(record?.aiTurnsDelivered).toBeUndefined();
    // Nor does a missing attempt appear.
    await store.recordAiTurns('nobody', 'quiz-1', { from: 0, delivered: 1 });
    expect(await store.get('nobody', 'quiz-1')).toBeNull();
  });

  it("keeps an answer's request id until its turn is counted, and only when asked to", async () => {
    const store = make();
    const a = attempt(0);
    await store.create(a);
    const answer = (questionIndex: number, requestId: string, keepRequestIdForAi: boolean) =>
      store.recordAnswer({
        userId: a.userId,
        testId: a.testId,
        questionIndex,
        option: 0,
        requestId,
        nowMs: T0 + 1,
        epoch: 1,
        keepRequestIdForAi,
      });
    expect((await answer(0, 'first', true))?.pendingRequestIds).toEqual({ 0: 'first' });
    expect((await answer(1, 'second', true))?.pendingRequestIds).toEqual({ 0: 'first', 1: 'second' });
    expect((await answer(2, 'third', false))?.pendingRequestIds).toEqual({ 0: 'first', 1: 'second' });
    await store.recordAiTurns(a.userId, a.testId, { from: 0, delivered: 1 });
    expect((await store.get(a.userId, a.testId))?.pendingRequestIds).toEqual({ 1: 'second' });
    // A count that is refused (a faster request counted already) removes nothing.
    await store.recordAiTurns(a.userId, a.testId, { from: 1, delivered: 1 });
    expect((await store.get(a.userId, a.testId))?.pendingRequestIds).toEqual({ 1: 'second' });
    await store.recordAiTurns(a.userId, a.testId, { from: 1, delivered: 3 });
    const done = await store.get(a.userId, a.testId);
    expect(done?.aiTurnsDelivered).toBe(3);
    expect(done?.pendingRequestIds).toBeUndefined();
  });
});
