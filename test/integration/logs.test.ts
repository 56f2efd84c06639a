/**
 * Tokens and answers never reach the logs: a whole session, including rejected tokens, faults
 * answered with internal_error and the sweep, runs through the real handlers with Powertools
 * logging at DEBUG, and every line written to stdout and stderr is searched.
 */
import type { TestCatalog } from '../../lambdas/core/ports';
import { Backend, sweepEvent } from '../support/backend';

const SECRET_OPTIONS = ['answer-text-ALPHA-7f3a', 'answer-text-BRAVO-91c2', 'answer-text-CHARLIE-0d4e'];
const TEST = {
  test_id: 'logs-quiz',
  title: 'Logs',
  duration_seconds: 60,
  questions: [1, 2, 3].map((n) => ({
    question_id: `q${n}`,
    text: `Question ${n}?`,
    options: SECRET_OPTIONS,
    correct_option: SECRET_OPTIONS[0] as string,
  })),
};

/** Fails once when told to, so a fault is logged (and answered with internal_error). */
let failNextLookup = false;
const catalog: TestCatalog = {
  async get(testId) {
    if (failNextLookup) {
      failNextLookup = false;
      throw new Error('the tests table is throttled');
    }
    return testId === TEST.test_id ? TEST : null;
  },
};

let backend: Backend;
const written: string[] = [];
const restore: (() => void)[] = [];

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  process.env.POWERTOOLS_DEV = 'false';
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    // Captured, not echoed: the lines are what is under test, not test output.
    stream.write = ((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original as typeof stream.write;
    });
  }
  backend = await Backend.start({ tests: [TEST], overrides: { tests: catalog } });
});
afterAll(async () => {
  for (const undo of restore) undo();
  delete process.env.POWERTOOLS_LOG_LEVEL;
  await backend.stop();
});

it('no token and no answer text appears in any log line', async () => {
  const token = await backend.token('log-user');
  const conn = await backend.connect('?test_id=logs-quiz');
  await conn.auth(token);
  await conn.message('start_assessment');
  await conn.message('submit_answer', {
    request_id: 'r1',
    data: { question_id: 'q1', selected_option: SECRET_OPTIONS[1] },
  });

  // A fault while answering is logged, and answered with internal_error.
  failNextLookup = true;
  const faulted = await conn.message('submit_answer', {
    request_id: 'r-fault',
    data: { question_id: 'q2', selected_option: SECRET_OPTIONS[0] },
  });
  expect(faulted[0]?.error?.code).toBe('internal_error');
  const failing = await backend.connect('?test_id=logs-quiz');
  const badToken = `${token.slice(0, -4)}AAAA`;
  await failing.auth(badToken);

  // A token refresh, a duplicate, a bad frame, a reconnect, completion, and the sweep.
  await conn.auth(token);
  await conn.message('submit_answer', {
    request_id: 'r1',
    data: { question_id: 'q1', selected_option: SECRET_OPTIONS[1] },
  });
  await conn.sendRaw(`{"action":"message","type":"submit_answer","token":"${token}"`);
  await conn.disconnect();
  const again = await backend.connect('?test_id=logs-quiz');
  await again.auth(token);
  await again.message('submit_answer', {
    request_id: 'r2',
    data: { question_id: 'q2', selected_option: SECRET_OPTIONS[2] },
  });
  await again.message('complete_assessment');
  // Another student leaves an attempt open: the sweep finishes it and logs what it did.
  const leaver = await backend.connect('?test_id=logs-quiz');
  await leaver.auth(await backend.token('log-leaver'));
  await leaver.message('start_assessment');
  backend.clock.advance(120_000);
  await backend.handlers.sweep(sweepEvent(backend.clock.now()));

  const logs = written.join('');
  // The handlers did log: the fault, and the sweep's report.
  expect(logs).toContain('message failed');
  expect(logs).toContain('sweep');
  const [header, payload, signature] = token.split('.');
  for (const secret of [token, badToken, payload, signature, ...SECRET_OPTIONS]) {
    expect(logs).not.toContain(secret as string);
  }
  expect(header).toBeDefined();
});
