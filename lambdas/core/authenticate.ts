/**
 * The `auth` route: verify the token, claim the connection key, replace an older connection
 * that held it, and restore the user's assessment. Two DynamoDB round trips on the happy path:
 * the connection read, then the key claim, the connection write and the recovery read together.
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

  const [known, check] = await Promise.all([
    deps.connections.get(connectionId),
    deps.tokens.verify(request.token),
  ]);
  const connection: ConnectionRecord = known ?? {
    // The $connect record can be missing (expired, or swept in a race); the socket is live, so rebuild it.
    connectionId,
    testId: null,
    connectedAtMs: deps.clock.now(),
    authDeadlineMs: deps.clock.now(),
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
  const authenticated = {
    ...connection,
    testId,
    auth: { userId: check.userId, key, tokenExpiresAtMs: check.expiresAtMs },
  };

  const [claim, saved, recovery] = await Promise.allSettled([
    deps.connections.claimKey(key, connectionId),
    deps.connections.saveAuthenticated(authenticated),
    testId === null ? Promise.resolve(null) : loadRecovery(deps, check.userId, testId),
  ]);
  // Once the key is ours, the older holder must be told and closed even if another write failed:
  // a retry would find the key already ours and never name the older connection again.
  const previousHolder = claim.status === 'fulfilled' ? claim.value : null;
  if (claim.status === 'rejected' || saved.status === 'rejected') {
    if (previousHolder !== null) await replace(deps, outbound, previousHolder, key);
    throw claim.status === 'rejected' ? claim.reason : (saved as PromiseRejectedResult).reason;
  }

  deps.telemetry.count(connection.auth ? 'reauthenticated' : 'authenticated');
  const found: Recovery | null = recovery.status === 'fulfilled' ? recovery.value : { failed: true };

  const base: AuthSuccessData = {
    user_id: check.userId,
    test_id: testId,
    connection_id: key,
    recovered: false,
  };
  const frames: ServerFrame[] = [];
  if (found === null) {
    frames.push(outbound.frame('auth_success', base, requestId));
  } else if ('failed' in found) {
    frames.push(outbound.frame('auth_success', { ...base, recovery_error: true }, requestId));
  } else {
    const settled = await settle(deps, lifecycle, found);
    if (settled === 'failed') {
      frames.push(outbound.frame('auth_success', { ...base, recovery_error: true }, requestId));
    } else if (settled?.status === 'in_progress' && found.test) {
      deps.telemetry.count('recovered');
      const snapshot = snapshotOf(settled, found.test, deps.clock.now());
      frames.push(
        outbound.frame(
          'auth_success',
          { ...base, recovered: true, recovered_assessment: snapshot },
          requestId,
        ),
      );
    } else if (settled?.status === 'completed') {
      // A client that reconnects always learns the outcome.
      frames.push(outbound.frame('auth_success', base, requestId));
      frames.push(outbound.frame('assessment_completed', summaryOf(settled), requestId));
    } else {
      frames.push(outbound.frame('auth_success', base, requestId));
    }
  }
  await Promise.all([
    outbound.send(connectionId, ...frames),
    previousHolder === null ? undefined : replace(deps, outbound, previousHolder, key),
  ]);
}

type Recovery = { record: AssessmentRecord | null; test: TestDefinition | null } | { failed: true };

/** Recovery failures must not fail the auth: the connection still works without them. */
async function loadRecovery(deps: CoreDeps, userId: string, testId: string): Promise<Recovery> {
  try {
    const [record, test] = await Promise.all([deps.assessments.get(userId, testId), deps.tests.get(testId)]);
    return { record, test };
  } catch (error) {
    deps.telemetry.error('recovery lookup failed', error, { userId, testId });
    return { failed: true };
  }
}

async function settle(
  deps: CoreDeps,
  lifecycle: AssessmentService,
  recovery: { record: AssessmentRecord | null; test: TestDefinition | null },
): Promise<AssessmentRecord | null | 'failed'> {
  const { record, test } = recovery;
  if (!record) return null;
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
