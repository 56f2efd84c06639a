/**
 * The `auth` route: verify the token, bind the socket to its user, claim the connection key,
 * fence and replace an older connection that held it, and restore the user's assessment.
 * Every check that can fail runs before the first write, and each write is one conditional
 * item write. DynamoDB round trips on the happy path: the connection read (with the rate-limit
 * count), the identity binding (skipped on a token refresh), the key claim, then the connection
 * update and the attempt's holder binding together (which returns the attempt for recovery).
 */

import { type AuthSuccessData, isValidTestId, type ServerFrame } from '../../protocol';
import type { AssessmentService } from './assessment-service';
import type { AuthFrame } from './client-frames';
import { connectionKey } from './connection-key';
import type { CoreDeps } from './deps';
import type { Outbound } from './outbound';
import type { AssessmentRecord, ConnectionRecord, TestDefinition } from './ports';
import { snapshotOf, summaryOf } from './views';

export async function authenticate(
  deps: CoreDeps,
  outbound: Outbound,
  lifecycle: AssessmentService,
  connectionId: string,
  request: AuthFrame,
): Promise<void> {
  const { requestId } = request;
  const reject = (code: Parameters<Outbound['rejectAuth']>[1], message: string) =>
    outbound.rejectAuth(connectionId, code, message, requestId);

  if (!request.token) return reject('missing_token', 'token is required');
  if (
    request.testId !== undefined &&
    (typeof request.testId !== 'string' || !isValidTestId(request.testId))
  ) {
    return reject('invalid_test_id', 'test_id must be a string matching ^[A-Za-z0-9-]{1,64}$, not "general"');
  }
  const requestedTestId = request.testId;

  const now = deps.clock.now();
  const [known, withinBudget, check] = await Promise.all([
    deps.connections.get(connectionId),
    deps.rateLimiter.tryConsume(connectionId, now),
    deps.tokens.verify(request.token),
  ]);
  if (!withinBudget) {
    deps.telemetry.count('rate_limited');
    await outbound.send(
      connectionId,
      outbound.error('rate_limited', 'too many frames; slow down', requestId),
    );
    return;
  }
  const connection: ConnectionRecord = known ?? {
    // The $connect record can be missing (expired, or swept in a race); the socket is live, so rebuild it.
    connectionId,
    testId: null,
    connectedAtMs: now,
    authDeadlineMs: now,
  };
  if (!check.ok) return reject(check.code, check.reason);
  if (requestedTestId !== undefined && connection.testId !== null && requestedTestId !== connection.testId) {
    return reject(
      'test_mismatch',
      `test_id ${requestedTestId} does not match the connection's ${connection.testId}`,
    );
  }
  if (requestedTestId !== undefined && connection.auth && connection.testId === null) {
    return reject(
      'test_mismatch',
      'an authenticated general connection cannot switch to a test; open a new one',
    );
  }
  if (connection.auth && connection.auth.userId !== check.userId) {
    return reject('forbidden', 'this connection is authenticated as another user');
  }

  const testId = connection.testId ?? requestedTestId ?? null;
  const key = connectionKey(check.userId, testId);

  // The first write: one socket, one user. A concurrent auth for another user on this socket
  // passed the checks above too; exactly one of the two bindings holds.
  if (connection.auth?.userId !== check.userId) {
    const bound = await deps.connections.bindIdentity({
      connectionId,
      userId: check.userId,
      key,
      testId,
      nowMs: now,
    });
    if (!bound.ok) {
      return bound.reason === 'other_user'
        ? reject('forbidden', 'this connection is authenticated as another user')
        : reject('test_mismatch', "test_id does not match the connection's test");
    }
  }

  const [claim, test] = await Promise.all([
    deps.connections.claimKey(key, connectionId),
    testId === null ? Promise.resolve(null) : loadTest(deps, testId),
  ]);
  const auth = { userId: check.userId, key, tokenExpiresAtMs: check.expiresAtMs, epoch: claim.epoch };
  const [marked, holder] = await Promise.allSettled([
    deps.connections.markAuthenticated(connectionId, auth),
    testId === null ? Promise.resolve(null) : deps.assessments.bindHolder(check.userId, testId, claim.epoch),
  ]);
  // Once the key is ours, the older holder must be told and closed even if another write failed:
  // a retry would find the key already ours and never name the older connection again.
  if (marked.status === 'rejected') {
    if (claim.previous !== null) await replace(deps, outbound, claim.previous, key);
    throw marked.reason;
  }

  deps.telemetry.count(connection.auth ? 'reauthenticated' : 'authenticated');
  const base: AuthSuccessData = {
    user_id: check.userId,
    test_id: testId,
    connection_id: key,
    recovered: false,
  };
  const frames: ServerFrame[] = [];
  if (holder.status === 'rejected' || (testId !== null && test === 'failed')) {
    if (holder.status === 'rejected')
      deps.telemetry.error('recovery lookup failed', holder.reason, { testId });
    frames.push(outbound.frame('auth_success', { ...base, recovery_error: true }, requestId));
  } else if (!holder.value?.record) {
    frames.push(outbound.frame('auth_success', base, requestId));
  } else {
    const settled = await settle(deps, lifecycle, holder.value.record, test === 'failed' ? null : test);
    if (settled === 'failed') {
      frames.push(outbound.frame('auth_success', { ...base, recovery_error: true }, requestId));
    } else if (settled.status === 'in_progress' && test && test !== 'failed') {
      deps.telemetry.count('recovered');
      const snapshot = snapshotOf(settled, test, deps.clock.now());
      frames.push(
        outbound.frame(
          'auth_success',
          { ...base, recovered: true, recovered_assessment: snapshot },
          requestId,
        ),
      );
    } else if (settled.status === 'completed') {
      // A client that reconnects always learns the outcome.
      frames.push(outbound.frame('auth_success', base, requestId));
      frames.push(outbound.frame('assessment_completed', summaryOf(settled), requestId));
    } else {
      frames.push(outbound.frame('auth_success', base, requestId));
    }
  }
  await Promise.all([
    outbound.send(connectionId, ...frames),
    claim.previous === null ? undefined : replace(deps, outbound, claim.previous, key),
  ]);
}

/** A failed test lookup must not fail the auth: the connection still works without recovery. */
async function loadTest(deps: CoreDeps, testId: string): Promise<TestDefinition | null | 'failed'> {
  try {
    return await deps.tests.get(testId);
  } catch (error) {
    deps.telemetry.error('recovery lookup failed', error, { testId });
    return 'failed';
  }
}

async function settle(
  deps: CoreDeps,
  lifecycle: AssessmentService,
  record: AssessmentRecord,
  test: TestDefinition | null,
): Promise<AssessmentRecord | 'failed'> {
  if (!test) {
    deps.telemetry.warn('assessment refers to a test that no longer exists', { testId: record.testId });
    return 'failed';
  }
  try {
    return await lifecycle.settleDeadline(record, test);
  } catch (error) {
    deps.telemetry.error('finishing an overdue assessment failed during auth', error, {
      testId: record.testId,
    });
    return 'failed';
  }
}

/** The older connection for this key is told, closed, and forgotten. */
async function replace(deps: CoreDeps, outbound: Outbound, previous: string, key: string): Promise<void> {
  deps.telemetry.count('session_replaced');
  const sent = await outbound.send(previous, outbound.frame('session_replaced', { connection_id: key }));
  // A 410 already removed its records; otherwise its own record goes now, so a frame it sends
  // before the close lands is not_authenticated.
  if (sent === 'sent') {
    await deps.notifier.close(previous);
    await deps.connections.removeConnection(previous);
  }
}
