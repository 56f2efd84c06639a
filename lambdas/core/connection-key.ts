/**
 * The deterministic connection key `<user_id>_<test_id>` or `<user_id>_general`.
 *
 * It is injective because a test id can never contain `_` and can never be `general` (any
 * case): splitting a key at its last `_` always gives back the one (user id, test id) pair.
 */
import { GENERAL_SUFFIX, isValidTestId } from '../../protocol';
import { InvariantError } from './errors';

export function connectionKey(userId: string, testId: string | null): string {
  if (testId !== null && !isValidTestId(testId)) {
    throw new InvariantError(`invalid test id: ${JSON.stringify(testId)}`);
  }
  return `${userId}_${testId ?? GENERAL_SUFFIX}`;
}

export function parseConnectionKey(key: string): { userId: string; testId: string | null } {
  const cut = key.lastIndexOf('_');
  if (cut < 0) throw new InvariantError(`not a connection key: ${JSON.stringify(key)}`);
  const suffix = key.slice(cut + 1);
  return { userId: key.slice(0, cut), testId: suffix === GENERAL_SUFFIX ? null : suffix };
}
