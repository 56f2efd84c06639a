/**
 * Fuzzed frames through the real route handlers on dynalite, and many more through the core on
 * its twins: no handler throws, every reply is a typed protocol frame, none is internal_error.
 * `npm run chaos -- --fuzz 100000` runs the full count.
 */
import type { SilentTelemetry } from '../../lambdas/adapters/memory';
import { Backend } from '../support/backend';
import { badReply, sampleFrames } from '../support/fuzz-frames';
import { twinCore } from '../support/twins';

const HANDLER_FRAMES = Number(process.env.FUZZ_HANDLER_FRAMES ?? 300);
const TWIN_FRAMES = Number(process.env.FUZZ_TWIN_FRAMES ?? 5000);

let backend: Backend;
beforeAll(async () => {
  backend = await Backend.start();
});
afterAll(() => backend.stop());

it(`${HANDLER_FRAMES} fuzzed frames through the handlers: typed replies only`, async () => {
  let conn = await backend.connect('?test_id=quiz-1');
  let user = 0;
  const fresh = async () => {
    conn = await backend.connect('?test_id=quiz-1');
    await conn.auth(await backend.token(`fuzz-${++user}`));
    await conn.message('start_assessment');
  };
  await fresh();
  const problems: string[] = [];
  let replies = 0;
  for (const [i, body] of sampleFrames(HANDLER_FRAMES, 42).entries()) {
    if (i % 40 === 0) backend.clock.advance(10_001); // a new rate-limit window
    if (conn.closed) await fresh();
    conn.take();
    await conn.sendRaw(body); // a throw fails the test: handlers must not throw
    for (const frame of conn.take()) {
      replies++;
      const bad = badReply(frame);
      if (bad) problems.push(`${bad} <- ${body.slice(0, 120)}`);
    }
  }
  expect(problems).toEqual([]);
  expect(replies).toBeGreaterThan(HANDLER_FRAMES / 2);
}, 120_000);

it(`${TWIN_FRAMES} fuzzed frames through the core on its twins: typed replies only`, async () => {
  const { core, open, clock, deps } = twinCore();
  let conn = await open('quiz-1');
  let user = 0;
  const fresh = async () => {
    conn = await open('quiz-1');
    await conn.send({ action: 'auth', token: `user:twin-${++user}` });
    await conn.send({ action: 'message', type: 'start_assessment' });
  };
  await fresh();
  const problems: string[] = [];
  for (const [i, body] of sampleFrames(TWIN_FRAMES, 7).entries()) {
    if (i % 40 === 0) clock.advance(10_001);
    if (deps.notifier.gone.has(conn.id)) await fresh();
    const before = deps.notifier.framesFor(conn.id).length;
    const action = (() => {
      try {
        return (JSON.parse(body) as { action?: unknown }).action;
      } catch {
        return undefined;
      }
    })();
    if (action === 'auth') await core.auth(conn.id, body);
    else if (action === 'message') await core.message(conn.id, body);
    else await core.unrouted(conn.id, body);
    for (const frame of deps.notifier.framesFor(conn.id).slice(before)) {
      const bad = badReply(frame);
      if (bad) problems.push(`${bad} <- ${body.slice(0, 120)}`);
    }
  }
  expect(problems).toEqual([]);
  expect((deps.telemetry as SilentTelemetry).errors).toEqual([]);
}, 120_000);
