/**
 * One contract, two implementations: the DynamoDB adapters (on dynalite) and the in-memory
 * twins must behave the same, so unit tests on the twins mean something.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { itemSize, writeUnits } from '../../bench/support/capacity';
import { DynamoAssessmentStore } from '../../lambdas/adapters/dynamodb/assessment-store';
import { DynamoConnectionRegistry } from '../../lambdas/adapters/dynamodb/connection-registry';
import { InMemoryAssessmentStore, InMemoryConnectionRegistry } from '../../lambdas/adapters/memory';
import { answersOf, requestHash } from '../../lambdas/core/answers';
import type {
  AnswerWrite,
  AssessmentRecord,
  AssessmentStore,
  ConnectionRegistry,
  NewAssessment,
  TestDefinition,
} from '../../lambdas/core/ports';
import { scoreOf, snapshotOf } from '../../lambdas/core/views';
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

/** What an item written by the model before compact answers held (a deployed table has them). */
interface OldAttempt {
  userId: string;
  answeredCount: number;
  /** question id -> option text */
  answers: Record<string, string>;
  /** request id -> question id, or (the oldest items) the whole answer */
  requestIds: Record<string, string | { questionId: string; option: string }>;
}

/**
 * Each store with a way to plant an attempt in the old form: on DynamoDB the item exactly as the
 * old model wrote it, on the twin the record the old item reads as.
 */
const storesWithOldItems: [
  string,
  () => { store: AssessmentStore; plant: (old: OldAttempt) => Promise<void> },
][] = [
  [
    'memory',
    () => {
      const store = new InMemoryAssessmentStore();
      const plant = async (old: OldAttempt) => {
        await store.create({ ...attemptOf(old.userId), holderEpoch: 1 });
        const record = [...store.records.values()].find((r) => r.userId === old.userId);
        if (!record) throw new Error('planting failed');
        record.answeredCount = old.answeredCount;
        record.legacy = {
          options: { ...old.answers },
          requestQuestions: Object.fromEntries(
            Object.entries(old.requestIds).map(([id, v]) => [id, typeof v === 'string' ? v : v.questionId]),
          ),
        };
      };
      return { store, plant };
    },
  ],
  [
    'dynamodb',
    () => {
      const store = new DynamoAssessmentStore(dynamo.doc, dynamo.tables.assessments);
      const stored = <T>(map: Record<string, T>) =>
        Object.fromEntries(Object.entries(map).map(([key, value]) => [`=${key}`, value]));
      const plant = async (old: OldAttempt) => {
        await dynamo.doc.send(
          new PutCommand({
            TableName: dynamo.tables.assessments,
            Item: {
              pk: `${old.userId}_quiz`,
              ...attemptOf(old.userId),
              status: 'in_progress',
              answeredCount: old.answeredCount,
              answers: stored(old.answers),
              requestIds: stored(old.requestIds),
              holderEpoch: 1,
              activeShard: 'active#0',
            },
          }),
        );
      };
      return { store, plant };
    },
  ],
];

const QUIZ: TestDefinition = {
  test_id: 'quiz',
  title: 'Quiz',
  duration_seconds: 60,
  questions: [
    { question_id: 'q1', text: 'One?', options: ['x', 'y', 'z'], correct_option: 'x' },
    { question_id: 'q2', text: 'Two?', options: ['x', 'y', 'z'], correct_option: 'y' },
    { question_id: 'q3', text: 'Three?', options: ['x', 'y', 'z'], correct_option: 'z' },
  ],
};

function attemptOf(userId: string): NewAssessment {
  return {
    userId,
    testId: 'quiz',
    assessmentId: `a-${userId}`,
    threadId: `t-${userId}`,
    startedAtMs: T0,
    deadlineMs: T0 + 60_000,
    total: 3,
  };
}

/** The answers as the client sees them: [question id, option text, request id or its hash]. */
const shown = (record: AssessmentRecord | null) =>
  record ? answersOf(record, QUIZ).map((a) => [a.questionId, a.option, a.requestId ?? a.requestHash]) : [];

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
    ...attemptOf(unique('user')),
    holderEpoch: 1,
  });
  const answer = (
    a: NewAssessment,
    questionIndex: number,
    requestId: string,
    nowMs = T0 + 1,
    epoch = 1,
  ): AnswerWrite => ({
    epoch,
    userId: a.userId,
    testId: a.testId,
    questionIndex,
    option: questionIndex % 3,
    requestId,
    nowMs,
  });

  it('creates one attempt per user and test', async () => {
    const store = make();
    const a = fresh();
    const first = await store.create(a);
    if (!('created' in first)) throw new Error('create was fenced');
    expect(first.created).toBe(true);
    expect(first.record).toMatchObject({ status: 'in_progress', answeredCount: 0, choices: [] });
    expect(first.record.legacy).toBeUndefined();
    const second = await store.create({ ...a, assessmentId: 'other', threadId: 'other' });
    expect(second).toEqual({ created: false, record: first.record });
  });

  it('records answers only when every condition holds, as option positions and request hashes', async () => {
    const store = make();
    const a = fresh();
    await store.create(a);
    expect(await store.recordAnswer(answer(a, 1, 'r0'))).toBeNull(); // not the current question
    const stored = await store.recordAnswer(answer(a, 0, 'r1'));
    expect(stored).toMatchObject({ answeredCount: 1, choices: [{ option: 0, request: requestHash('r1') }] });
    expect(shown(stored)).toEqual([['q1', 'x', requestHash('r1')]]);
    expect(await store.recordAnswer(answer(a, 1, 'r1'))).toBeNull(); // request id used
    expect(await store.recordAnswer(answer(a, 1, 'r2', T0 + 60_000))).toBeNull(); // at the deadline
    expect(await store.recordAnswer({ ...answer(a, 0, 'r3'), userId: 'nobody' })).toBeNull();
    const second = await store.recordAnswer(answer(a, 1, 'r2'));
    expect(shown(second)).toEqual([
      ['q1', 'x', requestHash('r1')],
      ['q2', 'y', requestHash('r2')],
    ]);
    expect(await store.get(a.userId, a.testId)).toEqual(second);
  });

  it('refuses a request id whose hash is stored, whatever the id (the collision policy)', async () => {
    // No two ids with equal 72-bit hashes are known, so a stored hash stands in for a collision:
    // the write is refused, and the service then reads the earlier answer as this request's.
    const store = make();
    const a = fresh();
    await store.create(a);
    await store.recordAnswer(answer(a, 0, 'stored'));
    const hashOf = requestHash;
    expect(hashOf('stored')).toHaveLength(12);
    expect(hashOf('stored')).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(hashOf('stored')).not.toBe(hashOf('stored '));
    expect(await store.recordAnswer(answer(a, 1, 'stored'))).toBeNull();
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
    expect(await store.recordAnswer(answer(a, 0, 'old', T0 + 1, 5))).toBeNull();
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
    expect(await store.recordAnswer(answer(a, 0, 'new', T0 + 1, 6))).toMatchObject({
      answeredCount: 1,
    });
    expect(shown(await store.get(a.userId, a.testId))).toEqual([['q1', 'x', requestHash('new')]]);
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

describe.each(storesWithOldItems)('AssessmentStore with attempts in the old form (%s)', (_name, make) => {
  it.each([
    ['request id -> question id', { r1: 'q1' }],
    ['request id -> the whole answer', { r1: { questionId: 'q1', option: 'x' } }],
  ])('reads them (%s), adds compact answers after them, and scores and shows both', async (_shape, ids) => {
    const { store, plant } = make();
    const userId = unique('old');
    await plant({ userId, answeredCount: 1, answers: { q1: 'x' }, requestIds: ids });
    expect(shown(await store.get(userId, 'quiz'))).toEqual([['q1', 'x', 'r1']]);

    const write = { userId, testId: 'quiz', nowMs: T0 + 1, epoch: 1 };
    // The old request id is still known: a retry after the change cannot store a second answer.
    expect(await store.recordAnswer({ ...write, questionIndex: 1, option: 1, requestId: 'r1' })).toBeNull();
    const mixed = await store.recordAnswer({ ...write, questionIndex: 1, option: 2, requestId: 'r2' });
    expect(shown(mixed)).toEqual([
      ['q1', 'x', 'r1'],
      ['q2', 'z', requestHash('r2')],
    ]);
    const read = await store.get(userId, 'quiz');
    if (!read) throw new Error('the attempt is gone');
    expect(read).toEqual(mixed);
    expect(scoreOf(read, QUIZ)).toBe(1);
    expect(snapshotOf(read, QUIZ, T0 + 2).answers).toEqual([
      { question_id: 'q1', selected_option: 'x' },
      { question_id: 'q2', selected_option: 'z' },
    ]);
  });
});

describe.each(stores)('AssessmentStore with prototype-named keys (%s)', (_name, make) => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'stores and reads back %s as a plain request id and question id',
    async (name) => {
      const store = make();
      const a: NewAssessment & { holderEpoch: number } = { ...attemptOf(unique('proto')), holderEpoch: 1 };
      const test: TestDefinition = {
        ...QUIZ,
        questions: [{ question_id: name, text: '?', options: ['x', name], correct_option: name }],
      };
      const created = await store.create(a);
      if (!('record' in created)) throw new Error('create was fenced');
      expect(answersOf(created.record, test)).toEqual([]);
      const write: AnswerWrite = {
        epoch: 1,
        userId: a.userId,
        testId: a.testId,
        questionIndex: 0,
        option: 1,
        requestId: name,
        keepRequestIdForAi: true,
        nowMs: T0 + 1,
      };
      expect((await store.recordAnswer(write))?.answeredCount).toBe(1);
      const read = await store.get(a.userId, a.testId);
      if (!read) throw new Error('the attempt is gone');
      expect(answersOf(read, test)).toEqual([
        { questionIndex: 0, questionId: name, option: name, requestHash: requestHash(name), requestId: name },
      ]);
      expect(scoreOf(read, test)).toBe(1);
      // The same request id again is refused by the condition, so the service can call it a duplicate.
      expect(await store.recordAnswer({ ...write, questionIndex: 1 })).toBeNull();
    },
  );
});

describe('DynamoAssessmentStore storage', () => {
  const rawItem = async (pk: string) =>
    (
      await dynamo.client.send(
        new GetItemCommand({
          TableName: dynamo.tables.assessments,
          Key: { pk: { S: pk } },
          ConsistentRead: true,
        }),
      )
    ).Item;

  it('stores neither the option text nor the request id (unless kept for an AI turn)', async () => {
    const store = new DynamoAssessmentStore(dynamo.doc, dynamo.tables.assessments);
    const userId = unique('compact');
    await store.create({ ...attemptOf(userId), holderEpoch: 1 });
    const write = { userId, testId: 'quiz', nowMs: T0 + 1, epoch: 1 };
    await store.recordAnswer({ ...write, questionIndex: 0, option: 2, requestId: 'request-one' });
    await store.recordAnswer({
      ...write,
      questionIndex: 1,
      option: 0,
      requestId: 'request-two',
      keepRequestIdForAi: true,
    });
    const stored = (
      await dynamo.doc.send(
        new GetCommand({ TableName: dynamo.tables.assessments, Key: { pk: `${userId}_quiz` } }),
      )
    ).Item;
    expect(stored).toMatchObject({
      choices: [2, 0],
      requestHashes: [requestHash('request-one'), requestHash('request-two')],
      aiRequest1: 'request-two',
    });
    expect(stored?.answers).toBeUndefined();
    expect(stored?.requestIds).toBeUndefined();
    expect(JSON.stringify(stored)).not.toContain('request-one');
  });

  it('a 200-question attempt: its last answer costs as little to write as its first did', async () => {
    const store = new DynamoAssessmentStore(dynamo.doc, dynamo.tables.assessments);
    const userId = unique('long');
    const questions = 200;
    await store.create({
      ...attemptOf(userId),
      total: questions,
      deadlineMs: T0 + 3 * 3600_000,
      holderEpoch: 1,
    });
    const sizes: number[] = [itemSize(await rawItem(`${userId}_quiz`))];
    for (let index = 0; index < questions; index++) {
      await store.recordAnswer({
        userId,
        testId: 'quiz',
        questionIndex: index,
        option: index % 4,
        // As long as the protocol allows (64 characters): the item keeps only the hash.
        requestId: `${crypto.randomUUID()}-${crypto.randomUUID()}`.slice(0, 64),
        nowMs: T0 + 1,
        epoch: 1,
      });
      sizes.push(itemSize(await rawItem(`${userId}_quiz`)));
    }
    const writeCost = sizes.slice(1).map((after, i) => writeUnits(Math.max(after, sizes[i] ?? 0)));
    // About 16 bytes an answer (an option position and a 12-character hash), whatever the option's text.
    const growth = ((sizes[questions] ?? 0) - (sizes[1] ?? 0)) / (questions - 1);
    expect(growth).toBeLessThanOrEqual(17);
    expect(writeCost[0]).toBe(1);
    expect(writeCost[questions - 1]).toBeLessThanOrEqual(4);
    // Every answer together: under 600 write units (the text model: about 10,500 with long options).
    expect(writeCost.reduce((sum, units) => sum + units, 0)).toBeLessThan(600);
  });
});
