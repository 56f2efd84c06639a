/**
 * Randomized interleavings of connect / auth / replace / answer / disconnect for one key, on the
 * in-memory twins: every port call waits a random number of event-loop turns before and after
 * it runs (seeded by fast-check), so each run is one way the network and DynamoDB could have
 * ordered the work.
 * After every run: at most one live connection holds the key, the newest live one is never lost,
 * at most one answer is stored, and nothing a connection sent after a newer one was authenticated
 * was stored (the holder fence).
 */
import fc from 'fast-check';
import { seededRandom } from '../../bench/support/stats';
import { answerOfRequest, answersOf } from '../../lambdas/core/answers';
import type { KeyClaim } from '../../lambdas/core/ports';
import { QUIZ } from '../support/backend';
import { twinCore } from '../support/twins';

const KEY = 'ivy_quiz-1';
type Step = 'start' | 'answer' | 'disconnect' | 'reauth';

const turns = async (rng: () => number) => {
  for (let n = Math.floor(rng() * 4); n > 0; n--) await new Promise((resolve) => setImmediate(resolve));
};

/** Every method of `target` runs and resolves after a random number of event-loop turns. */
function jitterPorts<T extends object>(rng: () => number, target: T): void {
  const proto = Object.getPrototypeOf(target) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const method = (target as Record<string, unknown>)[name];
    if (name === 'constructor' || typeof method !== 'function') continue;
    const bound = method.bind(target) as (...args: unknown[]) => Promise<unknown>;
    (target as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      await turns(rng);
      const result = await bound(...args);
      await turns(rng);
      return result;
    };
  }
}

const script = fc.array(
  fc.constantFrom<Step>('start', 'answer', 'answer', 'answer', 'disconnect', 'reauth'),
  {
    maxLength: 4,
  },
);

describe('one key, many connections, any order', () => {
  it('keeps exactly one live mapping and fences replaced connections (2000 interleavings)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.array(script, { minLength: 2, maxLength: 3 }),
        async (seed, scripts) => {
          const rng = seededRandom(seed);
          const { core, deps, open } = twinCore();
          const epochs = new Map<string, number>();
          const claim = deps.connections.claimKey.bind(deps.connections);
          deps.connections.claimKey = async (key: string, connectionId: string): Promise<KeyClaim> => {
            const result = await claim(key, connectionId);
            epochs.set(connectionId, result.epoch);
            return result;
          };
          jitterPorts(rng, deps.connections);
          jitterPorts(rng, deps.assessments);

          const disconnected = new Set<string>();
          // The epoch each connection held when an auth_success reached it (a re-auth claims anew).
          const authedEpochs: { connectionId: string; epoch: number }[] = [];
          const send = deps.notifier.send.bind(deps.notifier);
          deps.notifier.send = async (connectionId, frame) => {
            const result = await send(connectionId, frame);
            if (result === 'sent' && frame.type === 'auth_success') {
              authedEpochs.push({ connectionId, epoch: epochs.get(connectionId) ?? 0 });
            }
            return result;
          };
          /** request id -> the sender's epoch, and the largest epoch another connection was authenticated with, when it was sent. */
          const sentAt = new Map<string, { senderEpoch: number; newestOther: number }>();

          const run = async (steps: Step[], index: number) => {
            const conn = await open('quiz-1');
            await conn.send({ action: 'auth', token: 'user:ivy' });
            let n = 0;
            for (const step of steps) {
              if (step === 'disconnect') {
                disconnected.add(conn.id);
                await core.disconnect(conn.id);
                return;
              }
              if (step === 'reauth') await conn.send({ action: 'auth', token: 'user:ivy' });
              if (step === 'start') await conn.send({ action: 'message', type: 'start_assessment' });
              if (step === 'answer') {
                const requestId = `c${index}-${n++}`;
                sentAt.set(requestId, {
                  senderEpoch: epochs.get(conn.id) ?? 0,
                  newestOther: Math.max(
                    0,
                    ...authedEpochs.filter((a) => a.connectionId !== conn.id).map((a) => a.epoch),
                  ),
                });
                await conn.send({
                  action: 'message',
                  type: 'submit_answer',
                  request_id: requestId,
                  data: { question_id: 'q1', selected_option: index % 2 === 0 ? 'a' : 'b' },
                });
              }
            }
          };
          // The first connection starts the attempt, so answers have something to land in.
          const first = run(['start', ...(scripts[0] ?? [])], 0);
          const rest = scripts.slice(1).map((steps, i) => run(steps, i + 1));
          await Promise.all([first, ...rest]);

          const live = (id: string) => !disconnected.has(id) && !deps.notifier.gone.has(id);
          const holder = deps.connections.keys.get(KEY);
          const liveAuthed = [...deps.connections.connections.values()].filter(
            (c) => c.auth?.key === KEY && live(c.connectionId),
          );
          // At most one live, authenticated connection for the key, and the mapping names it.
          expect(liveAuthed.length).toBeLessThanOrEqual(1);
          if (liveAuthed[0]) expect(holder).toBe(liveAuthed[0].connectionId);
          // Never a lost one: the newest claim, if its socket is still live and authenticated, holds the key.
          const newest = [...epochs.entries()].sort((x, y) => y[1] - x[1])[0]?.[0];
          if (newest && live(newest) && deps.connections.connections.get(newest)?.auth)
            expect(holder).toBe(newest);

          const record = await deps.assessments.get('ivy', 'quiz-1');
          const answers = record ? answersOf(record, QUIZ) : [];
          expect(answers.length).toBeLessThanOrEqual(1);
          const stored = [...sentAt.keys()].filter((requestId) => answerOfRequest(answers, requestId));
          expect(stored.length).toBe(answers.length);
          for (const requestId of stored) {
            const sent = sentAt.get(requestId);
            if (!sent) throw new Error(`unknown request id stored: ${requestId}`);
            // Fence: nothing sent after a newer connection was authenticated was stored.
            expect(sent.newestOther).toBeLessThan(sent.senderEpoch);
          }
        },
      ),
      { numRuns: Number(process.env.INTERLEAVINGS ?? 2000), endOnFailure: true },
    );
  }, 180_000);
});
