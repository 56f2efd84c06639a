import fc from 'fast-check';
import { connectionKey, parseConnectionKey } from '../../lambdas/core/connection-key';
import { isValidTestId } from '../../protocol';

const testIdChars = fc.constantFrom(
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'.split(''),
);
const validTestId = fc
  .array(testIdChars, { minLength: 1, maxLength: 64 })
  .map((chars) => chars.join(''))
  .filter(isValidTestId);
const userId = fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' });
const testIdOrGeneral = fc.option(validTestId, { nil: null });

describe('connection key', () => {
  it('is <user>_<test> or <user>_general', () => {
    expect(connectionKey('123', '456')).toBe('123_456');
    expect(connectionKey('123', null)).toBe('123_general');
  });

  it('is injective over every valid (user_id, test_id)', () => {
    fc.assert(
      fc.property(userId, testIdOrGeneral, userId, testIdOrGeneral, (u1, t1, u2, t2) => {
        const same = u1 === u2 && t1 === t2;
        expect(connectionKey(u1, t1) === connectionKey(u2, t2)).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips through parseConnectionKey, even when user ids contain underscores', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          userId,
          userId.map((u) => `${u}_general`),
          userId.map((u) => `a_${u}_b`),
        ),
        testIdOrGeneral,
        (u, t) => {
          expect(parseConnectionKey(connectionKey(u, t))).toEqual({ userId: u, testId: t });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each(['general', 'General', 'GENERAL', '', 'a_b', 'a b', 'ü', 'x'.repeat(65)])(
    'refuses test id %j',
    (testId) => {
      expect(isValidTestId(testId)).toBe(false);
      expect(() => connectionKey('u', testId)).toThrow(/invalid test id/);
    },
  );
});
