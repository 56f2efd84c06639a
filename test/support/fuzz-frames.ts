/**
 * Hostile and near-valid client frames for fuzzing the routes, and the check every reply must
 * pass: a typed frame of the protocol, never `internal_error`. Shared by the fuzz test (a small
 * count in `npm test`) and `npm run chaos -- --fuzz N` (the full count).
 */
import fc from 'fast-check';
import { isAuthErrorCode, isErrorCode, isServerFrame, MESSAGE_TYPES, type ServerFrame } from '../../protocol';

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', 'general', '__proto__', 'constructor', 'toString', '\uD800', '\u0000', 'a_b', '💥'),
  fc.string({ minLength: 60, maxLength: 70 }),
  fc.nat().map((n) => 'x'.repeat(n % 3000)),
);

const anyJson = fc.jsonValue({ maxDepth: 4 });

/** A value nested `depth` levels deep in arrays or objects (what overflowed the stack once). */
const deep = fc
  .tuple(fc.integer({ min: 100, max: 5000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
  );

const field = fc.oneof(nasty, anyJson, fc.constant(undefined));

const messageFrame = fc.record(
  {
    action: fc.constant('message'),
    type: fc.oneof(fc.constantFrom(...MESSAGE_TYPES), nasty, anyJson),
    request_id: field,
    data: fc.oneof(
      fc.record(
        { question_id: fc.oneof(fc.constantFrom('q1', 'q2', 'q3'), nasty, anyJson), selected_option: field },
        { requiredKeys: [] },
      ),
      anyJson,
    ),
  },
  { requiredKeys: ['action'] },
);

const authFrame = fc.record(
  { action: fc.constant('auth'), token: field, test_id: field, request_id: field },
  { requiredKeys: ['action'] },
);

const otherFrame = fc.record({ action: fc.oneof(nasty, anyJson), request_id: field }, { requiredKeys: [] });

/** A raw frame body, as a client (or an attacker) could send it. */
export const frameBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: messageFrame.map((f) => JSON.stringify(f)) },
  { weight: 2, arbitrary: authFrame.map((f) => JSON.stringify(f)) },
  { weight: 2, arbitrary: otherFrame.map((f) => JSON.stringify(f)) },
  { weight: 1, arbitrary: deep.map((nested) => `{"action":${nested},"type":${nested}}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? 'null') },
);

/** Why a reply is not acceptable, or null when it is a typed, non-fault frame. */
export function badReply(frame: unknown): string | null {
  if (!isServerFrame(frame)) return `not a protocol frame: ${JSON.stringify(frame).slice(0, 200)}`;
  const typed = frame as ServerFrame;
  if (typed.type === 'error' && typed.error.code === 'internal_error') return 'internal_error';
  if (typed.type === 'error' && !isErrorCode(typed.error.code))
    return `unknown error code ${typed.error.code}`;
  if (typed.type === 'auth_error' && !isAuthErrorCode(typed.error.code)) {
    return `unknown auth_error code ${typed.error.code}`;
  }
  if (typeof typed.timestamp !== 'string' || Number.isNaN(Date.parse(typed.timestamp)))
    return 'bad timestamp';
  return null;
}

export function sampleFrames(count: number, seed: number): string[] {
  return fc.sample(frameBody, { numRuns: count, seed });
}
