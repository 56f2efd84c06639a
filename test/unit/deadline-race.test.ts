/**
 * The sweep and a late frame (get_question after the deadline) finishing the same attempt at the
 * same time, on the in-memory twins: both read it in progress, one conditional write wins. Whichever
 * wins, the student hears the outcome (`assessment_completed`) once and the proctor gets one
 * `finished` event: the one whose write finished the attempt tells, the other does not repeat it.
 */
import type { AssessmentStore } from '../../lambdas/core/ports';
import type { ProctorEventData, ServerFrame } from '../../protocol';
import { twinCore } from '../support/twins';

const QUIZ_DURATION_MS = 300_000;

/** Holds both completions until the two have read the attempt, then lets them write in the given order. */
function barrierOnComplete(store: AssessmentStore, order: 'arrival' | 'reversed'): void {
  const complete = store.complete.bind(store);
  const waiting: (() => void)[] = [];
  store.complete = async (...args) => {
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length < 2) return;
      const [first, second] = order === 'arrival' ? waiting : [...waiting].reverse();
      first?.();
      // The second writes once the first has (a few event-loop turns later).
      setTimeout(() => second?.(), 5);
    });
    return complete(...args);
  };
}

describe.each(['arrival', 'reversed'] as const)('sweep and a late frame race (%s order)', (order) => {
  it('the student gets assessment_completed once, the proctor one finished event', async () => {
    const { core, deps, clock, open } = twinCore();
    const proctor = await open();
    await proctor.send({ action: 'auth', token: 'proctor:pat:quiz-1' });
    await proctor.send({ action: 'message', type: 'proctor_subscribe', data: { test_id: 'quiz-1' } });
    const student = await open('quiz-1');
    await student.send({ action: 'auth', token: 'user:ana' });
    await student.send({ action: 'message', type: 'start_assessment' });
    clock.advance(QUIZ_DURATION_MS);

    barrierOnComplete(deps.assessments, order);
    const [, replies] = await Promise.all([
      core.sweep(),
      student.send({ action: 'message', type: 'get_question', request_id: 'late' }),
    ]);

    // Everything posted to the student (the sweep's push included), and the reply's route response.
    const answer = replies.at(-1);
    const seenByStudent: ServerFrame[] = [
      ...deps.notifier.framesFor(student.id),
      ...(answer ? [answer] : []),
    ];
    expect(seenByStudent.filter((f) => f.type === 'assessment_completed')).toHaveLength(1);
    expect(replies).toContainEqual(expect.objectContaining({ type: 'error', request_id: 'late' }));
    const finished = deps.notifier
      .framesFor(proctor.id)
      .filter((f) => f.type === 'proctor_event' && (f.data as ProctorEventData).event === 'finished');
    expect(finished).toHaveLength(1);
  });
});
