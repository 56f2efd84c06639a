/**
 * One contract, two implementations: the DynamoDB adapters (on dynalite) and the in-memory
 * twins must behave the same, so unit tests on the twins mean something.
 */
import { DynamoAssessmentStore } from '../../lambdas/adapters/dynamodb/assessment-store';
import { DynamoConnectionRegistry } from '../../lambdas/adapters/dynamodb/connection-registry';
import { InMemoryAssessmentStore, InMemoryConnectionRegistry } from '../../lambdas/adapters/memory';
import type { AssessmentStore, ConnectionRegistry, NewAssessment } from '../../lambdas/core/ports';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

const T0 = Date.parse('2026-03-01T10:00:00Z');

const registries: [string, () => ConnectionRegistry][] = [
  ['memory', () => new InMemoryConnectionRegistry()],
  ['dynamodb', () => new DynamoConnectionRegistry(dynamo.doc, dynamo.tables.connections, () => T0)],
];
const stores: [string, () => AssessmentStore][] = [
  ['memory', () => new InMemoryAssessmentStore()],
  ['dynamodb', () => new DynamoAssessmentStore(dynamo.doc, dynamo.tables.assessments)],
];

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}`;

describe.each(registries)('ConnectionRegistry (%s)', (_name, make) => {
  it('registers, authenticates and removes a connection', async () => {
    const registry = make();
    const id = unique('c');
    await registry.registerPending({
      connectionId: id,
      testId: 't1',
      connectedAtMs: T0,
      authDeadlineMs: T0 + 30_000,
    });
    expect(await registry.get(id)).toEqual({
      connectionId: id,
      testId: 't1',
      connectedAtMs: T0,
      authDeadlineMs: T0 + 30_000,
    });
    const auth = { userId: 'u', key: `u_${id}`, tokenExpiresAtMs: T0 + 3600_000 };
    await registry.saveAuthenticated({
      connectionId: id,
      testId: 't1',
      connectedAtMs: T0,
      authDeadlineMs: T0 + 30_000,
      auth,
    });
    expect((await registry.get(id))?.auth).toEqual(auth);
    expect((await registry.removeConnection(id))?.auth).toEqual(auth);
    expect(await registry.get(id)).toBeNull();
    expect(await registry.removeConnection(id)).toBeNull();
  });

  it('finds only unauthenticated connections past their deadline', async () => {
    const registry = make();
    const [late, early, authed] = [unique('late'), unique('early'), unique('authed')];
    const base = T0 + 10_000_000 + seq * 1_000_000;
    await registry.registerPending({
      connectionId: late,
      testId: null,
      connectedAtMs: base,
      authDeadlineMs: base + 100,
    });
    await registry.registerPending({
      connectionId: early,
      testId: null,
      connectedAtMs: base,
      authDeadlineMs: base + 900,
    });
    await registry.saveAuthenticated({
      connectionId: authed,
      testId: null,
      connectedAtMs: base,
      authDeadlineMs: base + 50,
      auth: { userId: 'u', key: 'u_general', tokenExpiresAtMs: base + 1000 },
    });
    const found = (await registry.findUnauthenticatedOverdue(base + 500, 100)).map((c) => c.connectionId);
    expect(found).toContain(late);
    expect(found).not.toContain(early);
    expect(found).not.toContain(authed);
    await registry.removeConnection(late);
    await registry.removeConnection(early);
  });

  it('claims keys, names the previous holder, and releases only its own mapping', async () => {
    const registry = make();
    const key = unique('user_test');
    expect(await registry.claimKey(key, 'a')).toBeNull();
    expect(await registry.claimKey(key, 'a')).toBeNull();
    expect(await registry.claimKey(key, 'b')).toBe('a');
    expect(await registry.releaseKey(key, 'a')).toBe(false);
    expect(await registry.holderOf(key)).toBe('b');
    expect(await registry.releaseKey(key, 'b')).toBe(true);
    expect(await registry.holderOf(key)).toBeNull();
  });
});

describe.each(stores)('AssessmentStore (%s)', (_name, make) => {
  const fresh = (): NewAssessment => ({
    userId: unique('user'),
    testId: 'quiz',
    assessmentId: unique('a'),
    threadId: unique('thread'),
    startedAtMs: T0,
    deadlineMs: T0 + 60_000,
    total: 2,
  });
  const answer = (
    a: NewAssessment,
    questionId: string,
    questionIndex: number,
    requestId: string,
    nowMs = T0 + 1,
  ) => ({
    userId: a.userId,
    testId: a.testId,
    questionId,
    option: 'x',
    questionIndex,
    requestId,
    nowMs,
  });

  it('creates one attempt per user and test', async () => {
    const store = make();
    const a = fresh();
    const first = await store.create(a);
    expect(first.created).toBe(true);
    expect(first.record).toMatchObject({
      status: 'in_progress',
      answeredCount: 0,
      answers: {},
      requestIds: {},
    });
    const second = await store.create({ ...a, assessmentId: 'other', threadId: 'other' });
    expect(second).toEqual({ created: false, record: first.record });
  });

  it('records answers only when every condition holds', async () => {
    const store = make();
    const a = fresh();
    await store.create(a);
    expect(await store.recordAnswer(answer(a, 'q2', 1, 'r0'))).toBeNull(); // not the current question
    const stored = await store.recordAnswer(answer(a, 'q1', 0, 'r1'));
    expect(stored).toMatchObject({
      answeredCount: 1,
      answers: { q1: 'x' },
      requestIds: { r1: { questionId: 'q1', option: 'x' } },
    });
    expect(await store.recordAnswer(answer(a, 'q2', 1, 'r1'))).toBeNull(); // request id used
    expect(await store.recordAnswer(answer(a, 'q2', 1, 'r2', T0 + 60_000))).toBeNull(); // at the deadline
    expect(await store.recordAnswer({ ...answer(a, 'q1', 0, 'r3'), userId: 'nobody' })).toBeNull();
    expect((await store.get(a.userId, a.testId))?.answeredCount).toBe(1);
  });

  it('completes once, only from the expected state, and leaves the overdue index', async () => {
    const store = make();
    const a = { ...fresh(), deadlineMs: T0 - 5 };
    await store.create(a);
    expect(await store.findOverdue(T0, 1000)).toContainEqual({ userId: a.userId, testId: a.testId });
    const write = {
      userId: a.userId,
      testId: a.testId,
      reason: 'time_up' as const,
      score: 0,
      completedAtMs: T0 - 5,
    };
    expect(await store.complete({ ...write, expectedAnsweredCount: 1 })).toBeNull();
    const done = await store.complete({ ...write, expectedAnsweredCount: 0 });
    expect(done).toMatchObject({
      status: 'completed',
      completion: { reason: 'time_up', score: 0, completedAtMs: T0 - 5 },
    });
    expect(await store.complete({ ...write, expectedAnsweredCount: 0 })).toBeNull();
    expect(await store.findOverdue(T0, 1000)).not.toContainEqual({ userId: a.userId, testId: a.testId });
  });
});

describe.each(stores)('AssessmentStore with prototype-named keys (%s)', (_name, make) => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'stores and reads back %s as a plain key',
    async (name) => {
      const store = make();
      const a: NewAssessment = {
        userId: unique('proto'),
        testId: 'quiz',
        assessmentId: unique('a'),
        threadId: unique('t'),
        startedAtMs: T0,
        deadlineMs: T0 + 60_000,
        total: 2,
      };
      const created = await store.create(a);
      expect(Object.hasOwn(created.record.requestIds, name)).toBe(false);
      const write = {
        userId: a.userId,
        testId: a.testId,
        questionId: name,
        option: 'x',
        questionIndex: 0,
        requestId: name,
        nowMs: T0 + 1,
      };
      const stored = await store.recordAnswer(write);
      expect(stored?.answeredCount).toBe(1);
      const read = await store.get(a.userId, a.testId);
      expect(Object.hasOwn(read?.requestIds ?? {}, name)).toBe(true);
      expect(Object.getOwnPropertyDescriptor(read?.requestIds, name)?.value).toEqual({
        questionId: name,
        option: 'x',
      });
      expect(Object.getOwnPropertyDescriptor(read?.answers, name)?.value).toBe('x');
      // The same request id again is refused by the condition, so the service can call it a duplicate.
      expect(await store.recordAnswer({ ...write, questionIndex: 1 })).toBeNull();
    },
  );
});
