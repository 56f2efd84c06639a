/**
 * The proctor view on the in-memory twins: who may subscribe (only a proctor token, only for its
 * tests, only from a general connection), the snapshot, live events, and that students never
 * receive any of it.
 */
import type { ProctorEventData, ProctorSnapshotData, ServerFrame } from '../../protocol';
import { twinCore } from '../support/twins';

const data = <T>(frame: ServerFrame | undefined) => (frame as { data: T } | undefined)?.data as T;

async function setup() {
  const twin = twinCore();
  const student = async (userId: string) => {
    const conn = await twin.open('quiz-1');
    await conn.send({ action: 'auth', token: `user:${userId}` });
    return conn;
  };
  const proctor = async (token = 'proctor:pat:quiz-1') => {
    const conn = await twin.open();
    await conn.send({ action: 'auth', token });
    return conn;
  };
  return { ...twin, student, proctor };
}

const subscribe = { action: 'message', type: 'proctor_subscribe', data: { test_id: 'quiz-1' } };

describe('a token refresh that takes a test away', () => {
  const events = (frames: ServerFrame[]) =>
    frames.filter((f) => f.type === 'proctor_event').map((f) => data<ProctorEventData>(f).event);

  it('a plain token ends the proctor subscriptions at once', async () => {
    const { student, proctor, deps } = await setup();
    const watcher = await proctor('proctor:pat:quiz-1,other-test');
    await watcher.send(subscribe);
    const seen = () => events(deps.notifier.framesFor(watcher.id));
    const ana = await student('ana');
    await ana.send({ action: 'message', type: 'start_assessment' });
    expect(seen()).toContain('started');
    // Same user, no proctor role any more: a refresh, not a new connection.
    expect((await watcher.send({ action: 'auth', token: 'user:pat' }))[0]?.type).toBe('auth_success');
    const before = seen().length;
    await ana.send({
      action: 'message',
      type: 'submit_answer',
      request_id: 'a1',
      data: { question_id: 'q1', selected_option: 'a' },
    });
    expect(seen().slice(before)).toEqual([]);
  });

  it('a subscribe racing the refresh does not outlive it (whichever write lands last)', async () => {
    const { proctor, deps } = await setup();
    const watcher = await proctor('proctor:pat:quiz-1');
    // The subscribe passed its check under the old token; its write waits until the refresh is done.
    const subscribeWrite = deps.subscriptions.subscribe.bind(deps.subscriptions);
    let release: () => void = () => {};
    const refreshed = new Promise<void>((resolve) => {
      release = resolve;
    });
    deps.subscriptions.subscribe = async (...args) => {
      await refreshed;
      return subscribeWrite(...args);
    };
    const subscribing = watcher.send(subscribe);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await watcher.send({ action: 'auth', token: 'user:pat' }))[0]?.type).toBe('auth_success');
    release();
    // The twin's send also collects what the refresh posted meanwhile; the answer is the last frame.
    const answer = (await subscribing).at(-1);
    expect(answer).toMatchObject({ type: 'error', error: { code: 'forbidden' } });
    expect(await deps.subscriptions.subscribersOf('quiz-1', deps.clock.now())).toEqual([]);
  });

  it('a proctor token that still lists the test keeps the subscription', async () => {
    const { student, proctor, deps } = await setup();
    const watcher = await proctor('proctor:pat:quiz-1,other-test');
    await watcher.send(subscribe);
    await watcher.send({ action: 'auth', token: 'proctor:pat:quiz-1' }); // drops other-test only
    const ana = await student('ana');
    await ana.send({ action: 'message', type: 'start_assessment' });
    expect(events(deps.notifier.framesFor(watcher.id))).toContain('started');
  });
});

describe('proctor_subscribe', () => {
  it('a student token gets forbidden, on a general or an assessment connection', async () => {
    const { open, student } = await setup();
    const general = await open();
    await general.send({ action: 'auth', token: 'user:sam' });
    const [refused] = await general.send(subscribe);
    expect(refused).toMatchObject({ type: 'error', error: { code: 'forbidden' } });
    const onTest = await student('sue');
    expect((await onTest.send(subscribe))[0]).toMatchObject({ type: 'error', error: { code: 'forbidden' } });
  });

  it('a proctor token only for its tests, only from a general connection', async () => {
    const { open, proctor } = await setup();
    const other = await proctor('proctor:pat:another-test');
    expect((await other.send(subscribe))[0]).toMatchObject({ error: { code: 'forbidden' } });
    const onAssessment = await open('quiz-1');
    await onAssessment.send({ action: 'auth', token: 'proctor:pat:quiz-1' });
    expect((await onAssessment.send(subscribe))[0]).toMatchObject({ error: { code: 'forbidden' } });
    const ok = await proctor();
    const [missing] = await ok.send({ ...subscribe, data: { test_id: 'no-such-test' } });
    expect(missing).toMatchObject({ error: { code: 'forbidden' } });
    const [bad] = await ok.send({ ...subscribe, data: { test_id: 'a_b' } });
    expect(bad).toMatchObject({ error: { code: 'invalid_message' } });
  });

  it('snapshot of every student, then live events; students never get proctor frames', async () => {
    const { student, proctor, clock, core, deps } = await setup();
    const ana = await student('ana');
    await ana.send({ action: 'message', type: 'start_assessment' });
    const watcher = await proctor();
    const [snapshot] = await watcher.send({ ...subscribe, request_id: 'p1' });
    expect(snapshot?.type).toBe('proctor_snapshot');
    expect(snapshot?.request_id).toBe('p1');
    const roster = data<ProctorSnapshotData>(snapshot);
    expect(roster).toMatchObject({ test_id: 'quiz-1', total_questions: 3 });
    expect(roster.students).toEqual([
      expect.objectContaining({
        user_id: 'ana',
        connected: true,
        status: 'in_progress',
        answered: 0,
        total: 3,
      }),
    ]);

    const before = deps.notifier.framesFor(watcher.id).length;
    const ben = await student('ben');
    await ben.send({ action: 'message', type: 'start_assessment' });
    await ben.send({
      action: 'message',
      type: 'submit_answer',
      request_id: 'b1',
      data: { question_id: 'q1', selected_option: 'a' },
    });
    // A resend is not an event.
    await ben.send({
      action: 'message',
      type: 'submit_answer',
      request_id: 'b1',
      data: { question_id: 'q1', selected_option: 'a' },
    });
    clock.advance(5000);
    await core.disconnect(ben.id, { statusCode: 1006 });
    clock.advance(3000);
    const benAgain = await student('ben');
    await benAgain.send({ action: 'message', type: 'complete_assessment' });

    const events = deps.notifier
      .framesFor(watcher.id)
      .slice(before)
      .map((f) => data<ProctorEventData>(f));
    expect(events.map((e) => `${e.student.user_id} ${e.event}`)).toEqual([
      'ben connected',
      'ben started',
      'ben answered',
      'ben dropped',
      'ben recovered',
      'ben finished',
    ]);
    expect(events[2]?.student).toMatchObject({ answered: 1, total: 3 });
    expect(events[3]?.student).toMatchObject({ connected: false, end_reason: 'dropped' });
    expect(events[4]?.student).toMatchObject({ connected: true, reconnects: 1, offline_seconds: 3 });
    expect(events[5]?.student).toMatchObject({
      status: 'completed',
      completion_reason: 'submitted',
      score: 1,
    });

    for (const conn of [ana, ben, benAgain]) {
      expect(deps.notifier.framesFor(conn.id).filter((f) => f.type.startsWith('proctor_'))).toEqual([]);
    }
  });

  it('unsubscribing, or a proctor connection that is gone, stops the events', async () => {
    const { student, proctor, deps } = await setup();
    const watcher = await proctor();
    await watcher.send(subscribe);
    const [bye] = await watcher.send({
      action: 'message',
      type: 'proctor_unsubscribe',
      data: { test_id: 'quiz-1' },
    });
    expect(bye).toMatchObject({ type: 'proctor_unsubscribed', data: { test_id: 'quiz-1' } });
    const gone = await proctor('proctor:kim:quiz-1');
    await gone.send(subscribe);
    deps.notifier.gone.add(gone.id);
    const before = deps.notifier.sent.length;
    await student('cy');
    expect(deps.notifier.sent.slice(before).filter((s) => s.frame.type === 'proctor_event')).toEqual([]);
    expect(await deps.subscriptions.subscribersOf('quiz-1', Date.now())).toEqual([]);
  });
});
