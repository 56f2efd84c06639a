/**
 * One contract, two implementations: the DynamoDB adapters (on dynalite) and the in-memory
 * twins must behave the same, so unit tests on the twins mean something.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoAssessmentStore } from '../../lambdas/adapters/dynamodb/assessment-store';
import { DynamoConnectionRegistry } from '../../lambdas/adapters/dynamodb/connection-registry';
import { InMemoryAssessmentStore, InMemoryConnectionRegistry } from '../../lambdas/adapters/memory';
import type { AssessmentStore, ConnectionRegistry, NewAssessment } from '../../lambdas/core/ports';
import { RATE_LIMIT } from '../../protocol';
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
    const auth = { userId: 'u', key: `u_${id}`, tokenExpiresAtMs: T0 + 3600_000, epoch: 7 };
    const bound = await registry.bindIdentity({
      connectionId: id,
      userId: 'u',
      key: auth.key,
      testId: 't1',
      nowMs: T0,
    });
    expect(bound.ok).toBe(true);
    // Bound is not yet authenticated: that takes the epoch of a won key claim.
    expect((await registry.get(id))?.auth).toBeUndefined();
    await registry.markAuthenticated(id, auth);
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
    await registry.registerPending({
      connectionId: authed,
      testId: null,
      connectedAtMs: base,
      authDeadlineMs: base + 50,
    });
    await registry.bindIdentity({
      connectionId: authed,
      userId: 'u',
      key: 'u_general',
      testId: null,
      nowMs: base,
    });
    await registry.markAuthenticated(authed, {
      userId: 'u',
      key: 'u_general',
      tokenExpiresAtMs: base + 1000,
      epoch: 1,
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
    const first = await registry.claimKey(key, 'a');
    expect(first.previous).toBeNull();
    const again = await registry.claimKey(key, 'a');
    expect(again.previous).toBeNull();
    const second = await registry.claimKey(key, 'b');
    expect(second.previous).toBe('a');
    expect(await registry.releaseKey(key, 'a', { atMs: T0, reason: 'closed' })).toBe(false);
    expect(await registry.holderOf(key)).toBe('b');
    expect(await registry.releaseKey(key, 'b', { atMs: T0, reason: 'closed' })).toBe(true);
    expect(await registry.holderOf(key)).toBeNull();
    // Epochs only grow, also across a release.
    const third = await registry.claimKey(key, 'c');
    expect(third.previous).toBeNull();
    expect([first.epoch, again.epoch, second.epoch, third.epoch]).toEqual(
      [...new Set([first.epoch, again.epoch, second.epoch, third.epoch])].sort((x, y) => x - y),
    );
    expect(second.epoch).toBeGreaterThan(again.epoch);
  });

  it('binds a socket to one user: another user is refused, the same user may bind again', async () => {
    const registry = make();
    const id = unique('c');
    await registry.registerPending({ connectionId: id, testId: 't1', connectedAtMs: T0, authDeadlineMs: T0 });
    const bind = (userId: string, testId: string | null) =>
      registry.bindIdentity({ connectionId: id, userId, key: `${userId}_${testId}`, testId, nowMs: T0 });
    const [x, y] = await Promise.all([bind('alice', 't1'), bind('bob', 't1')]);
    // Concurrent bindings for two users: exactly one holds.
    expect([x.ok, y.ok].filter(Boolean)).toHaveLength(1);
    const winner = x.ok ? 'alice' : 'bob';
    expect(await bind(winner, 't1')).toMatchObject({ ok: true });
    expect(await bind(winner === 'alice' ? 'bob' : 'alice', 't1')).toEqual({
      ok: false,
      reason: 'other_user',
    });
    expect(await bind(winner, 't2')).toEqual({ ok: false, reason: 'test_mismatch' });
  });

  it('counts frames on the connection record and returns it: the budget per window, then a fresh one', async () => {
    const registry = make();
    const id = unique('rate');
    const window = (Math.floor(T0 / RATE_LIMIT.windowMs) + seq) * RATE_LIMIT.windowMs;
    // No record: nothing is counted or created, and the caller refuses the frame anyway.
    expect(await registry.admitFrame(id, window)).toEqual({ connection: null, withinBudget: true });
    expect(await registry.get(id)).toBeNull();
    await registry.registerPending({
      connectionId: id,
      testId: 't1',
      connectedAtMs: T0,
      authDeadlineMs: T0 + 30_000,
    });
    const first = await registry.admitFrame(id, window);
    expect(first).toEqual({ connection: await registry.get(id), withinBudget: true });
    // Concurrent frames in one window: exactly the budget gets through.
    const rest = await Promise.all(
      Array.from({ length: RATE_LIMIT.framesPerWindow + 4 }, (_, i) => registry.admitFrame(id, window + i)),
    );
    expect(rest.filter((a) => a.withinBudget)).toHaveLength(RATE_LIMIT.framesPerWindow - 1);
    expect((await registry.admitFrame(id, window + RATE_LIMIT.windowMs - 1)).withinBudget).toBe(false);
    expect((await registry.admitFrame(id, window + RATE_LIMIT.windowMs)).withinBudget).toBe(true);
    // A later window that skipped some opens a fresh count too.
    expect((await registry.admitFrame(id, window + 30 * RATE_LIMIT.windowMs)).withinBudget).toBe(true);
  });

  it('recreates a missing connection record when binding (the $connect record expired)', async () => {
    const registry = make();
    const id = unique('c');
    const bound = await registry.bindIdentity({
      connectionId: id,
      userId: 'u',
      key: 'u_t1',
      testId: 't1',
      nowMs: T0,
    });
    expect(bound).toMatchObject({ ok: true, connection: { connectionId: id, testId: 't1' } });
  });
});

describe.each(stores)('AssessmentStore (%s)', (_name, make) => {
  const fresh = (): NewAssessment & { holderEpoch: number } => ({
    holderEpoch: 1,
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
    epoch = 1,
  ) => ({
    epoch,
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
    if (!('created' in first)) throw new Error('create was fenced');
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

  it('fences writes from a connection once a later one is bound', async () => {
    const store = make();
    const a = fresh();
    await store.create({ ...a, holderEpoch: 5 });
    expect(await store.bindHolder(a.userId, a.testId, 6)).toMatchObject({
      fenced: false,
      record: { holderEpoch: 6 },
    });
    // The replaced connection (epoch 5) can no longer answer or submit.
    expect(await store.recordAnswer(answer(a, 'q1', 0, 'old', T0 + 1, 5))).toBeNull();
    expect(
      await store.complete({
        userId: a.userId,
        testId: a.testId,
        expectedAnsweredCount: 0,
        reason: 'submitted',
        score: 0,
        completedAtMs: T0 + 2,
        epoch: 5,
      }),
    ).toBeNull();
    // A stale binding changes nothing and says it is fenced.
    expect(await store.bindHolder(a.userId, a.testId, 5)).toMatchObject({ fenced: true });
    expect(await store.recordAnswer(answer(a, 'q1', 0, 'new', T0 + 1, 6))).toMatchObject({
      answeredCount: 1,
    });
    expect((await store.get(a.userId, a.testId))?.requestIds).toEqual({
      new: { questionId: 'q1', option: 'x' },
    });
  });

  it('binds a holder before the attempt exists, and fences an older connection starting it', async () => {
    const store = make();
    const a = fresh();
    expect(await store.bindHolder(a.userId, a.testId, 9)).toEqual({ record: null, fenced: false });
    expect(await store.get(a.userId, a.testId)).toBeNull();
    expect(await store.create({ ...a, holderEpoch: 8 })).toEqual({ fenced: true });
    expect(await store.get(a.userId, a.testId)).toBeNull();
    const created = await store.create({ ...a, holderEpoch: 9 });
    expect(created).toMatchObject({ created: true, record: { holderEpoch: 9 } });
  });
});

describe.each(stores)('AssessmentStore with prototype-named keys (%s)', (_name, make) => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'stores and reads back %s as a plain key',
    async (name) => {
      const store = make();
      const a: NewAssessment & { holderEpoch: number } = {
        holderEpoch: 1,
        userId: unique('proto'),
        testId: 'quiz',
        assessmentId: unique('a'),
        threadId: unique('t'),
        startedAtMs: T0,
        deadlineMs: T0 + 60_000,
        total: 2,
      };
      const created = await store.create(a);
      if (!('record' in created)) throw new Error('create was fenced');
      expect(Object.hasOwn(created.record.requestIds, name)).toBe(false);
      const write = {
        epoch: 1,
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

describe('DynamoAssessmentStore storage', () => {
  const item = async (pk: string) =>
    (await dynamo.doc.send(new GetCommand({ TableName: dynamo.tables.assessments, Key: { pk } }))).Item;

  it('stores an option once: a request id keeps its question, and reads back the answer it stored', async () => {
    const store = new DynamoAssessmentStore(dynamo.doc, dynamo.tables.assessments);
    const userId = unique('once');
    const option = 'o'.repeat(500);
    await store.create({
      holderEpoch: 1,
      userId,
      testId: 'quiz',
      assessmentId: unique('a'),
      threadId: unique('thread'),
      startedAtMs: T0,
      deadlineMs: T0 + 60_000,
      total: 2,
    });
    const write = {
      epoch: 1,
      userId,
      testId: 'quiz',
      questionId: 'q1',
      option,
      questionIndex: 0,
      requestId: 'r1',
      nowMs: T0 + 1,
    };
    expect((await store.recordAnswer(write))?.requestIds).toEqual({ r1: { questionId: 'q1', option } });
    const stored = await item(`${userId}_quiz`);
    expect(stored?.requestIds).toEqual({ '=r1': 'q1' });
    expect(JSON.stringify(stored).split(option)).toHaveLength(2); // the text appears once
  });

  it('reads items written when a request id held its whole answer', async () => {
    const store = new DynamoAssessmentStore(dynamo.doc, dynamo.tables.assessments);
    const userId = unique('old');
    await dynamo.doc.send(
      new PutCommand({
        TableName: dynamo.tables.assessments,
        Item: {
          pk: `${userId}_quiz`,
          userId,
          testId: 'quiz',
          assessmentId: 'a',
          threadId: 't',
          status: 'in_progress',
          startedAtMs: T0,
          deadlineMs: T0 + 60_000,
          total: 2,
          answeredCount: 1,
          answers: { '=q1': 'x' },
          requestIds: { '=r1': { questionId: 'q1', option: 'x' } },
          holderEpoch: 1,
        },
      }),
    );
    const record = await store.get(userId, 'quiz');
    expect(record?.requestIds).toEqual({ r1: { questionId: 'q1', option: 'x' } });
    const next = {
      epoch: 1,
      userId,
      testId: 'quiz',
      questionId: 'q2',
      option: 'y',
      questionIndex: 1,
      requestId: 'r2',
      nowMs: T0 + 1,
    };
    expect((await store.recordAnswer(next))?.requestIds).toEqual({
      r1: { questionId: 'q1', option: 'x' },
      r2: { questionId: 'q2', option: 'y' },
    });
  });
});
