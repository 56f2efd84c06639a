/**
 * The AI turn count of an attempt, on both AssessmentStore implementations: stored at create
 * only for attempts with an AI thread, and it only ever grows.
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
    await store.recordAiTurns(a.userId, a.testId, 2);
    expect((await store.get(a.userId, a.testId))?.aiTurnsDelivered).toBe(2);
    // A slower request that delivered fewer turns never lowers it.
    await store.recordAiTurns(a.userId, a.testId, 1);
    await store.recordAiTurns(a.userId, a.testId, 2);
    expect((await store.get(a.userId, a.testId))?.aiTurnsDelivered).toBe(2);
  });

  it('an attempt on a local thread has no count, and gets none', async () => {
    const store = make();
    const a = attempt();
    await store.create(a);
    await store.recordAiTurns(a.userId, a.testId, 1);
    const record = await store.get(a.userId, a.testId);
    expect(record).not.toBeNull();
    expect(record?.aiTurnsDelivered).toBeUndefined();
    // Nor does a missing attempt appear.
    await store.recordAiTurns('nobody', 'quiz-1', 1);
    expect(await store.get('nobody', 'quiz-1')).toBeNull();
  });
});
