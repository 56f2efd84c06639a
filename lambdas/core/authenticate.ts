/**
 * The `auth` route: verify the token, bind the socket to its user, claim the connection key,
 * fence and replace an older connection that held it, and restore the user's assessment.
 * Every check that can fail runs before the first write, and each write is one conditional
 * item write. DynamoDB round trips on the happy path: the connection read (with the rate-limit
 * count), the identity binding (skipped on a token refresh), the key claim, then the connection
 * update and the attempt's holder binding together (which returns the attempt for recovery).
 * A new connection on an assessment key then adds its event to the key's connection history (one
 * more write, beside the reply; see connection-history.ts) and tells the test's proctors.
 */

import { type AuthSuccessData, isValidTestId, type ServerFrame } from '../../protocol';
import type { AssessmentService } from './assessment-service';
import type { AuthFrame } from './client-frames';
import { addEvent, duringAttempt, eventFor, type RecoveryOutcome } from './connection-history';
import { connectionKey, parseConnectionKey } from './connection-key';
import type { CoreDeps } from './deps';
import type { Outbound } from './outbound';
import type { AssessmentRecord, ConnectionRecord, KeyClaim, TestDefinition } from './ports';
import type { ProctorFeed } from './proctor';
import { progressOf, snapshotOf, summaryOf } from './views';

export async function authenticate(
  deps: CoreDeps,
  outbound: Outbound,
  lifecycle: AssessmentService,
  feed: ProctorFeed,
  connectionId: string,
  request: AuthFrame,
): Promise<void> {
  const { requestId } = request;
  const reject = (code: Parameters<Outbound['rejectAuth']>[1], message: string) =>
    outbound.rejectAuth(connectionId, code, message, requestId);

  if (!request.token) return reject('missing_token', 'token is required');
  if (typeof request.token !== 'string') return reject('invalid_token', 'token must be a string (a JWT)');
  if (
    request.testId !== undefined &&
    (typeof request.testId !== 'string' || !isValidTestId(request.testId))
  ) {
    return reject('invalid_test_id', 'test_id must be a string matching ^[A-Za-z0-9-]{1,64}$, not "general"');
  }
  const requestedTestId = request.testId;
  const token = request.token;

  const now = deps.clock.now();
  const [known, withinBudget, check] = await Promise.all([
    deps.connections.get(connectionId),
    deps.rateLimiter.tryConsume(connectionId, now),
    deps.tokens.verify(token),
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

  // A token refresh on the same socket is not a new connection: no history, no event.
  const newConnection = testId !== null && connection.auth?.key !== key;
  // Who watches the test is read beside the claim, for the event published at the end.
  const subscribers = newConnection && testId !== null ? feed.prefetch(testId) : undefined;
  const [claim, test] = await Promise.all([
    deps.connections.claimKey(key, connectionId),
    testId === null ? Promise.resolve(null) : loadTest(deps, testId),
  ]);
  const auth = {
    userId: check.userId,
    key,
    tokenExpiresAtMs: check.expiresAtMs,
    epoch: claim.epoch,
    ...(check.proctorTests ? { proctorTests: check.proctorTests } : {}),
  };
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
  const scope = testId === null ? {} : { testId };
  let outcome: RecoveryOutcome = 'none';
  let attempt: AssessmentRecord | null = null;
  if (holder.status === 'rejected' || (testId !== null && test === 'failed')) {
    if (holder.status === 'rejected')
      deps.telemetry.error('recovery lookup failed', holder.reason, { testId });
    outcome = 'failed';
    frames.push(outbound.frame('auth_success', { ...base, recovery_error: true }, requestId));
  } else if (!holder.value?.record) {
    frames.push(outbound.frame('auth_success', base, requestId));
  } else {
    const settled = await settle(deps, lifecycle, holder.value.record, test === 'failed' ? null : test);
    if (settled === 'failed') {
      outcome = 'failed';
      frames.push(outbound.frame('auth_success', { ...base, recovery_error: true }, requestId));
    } else if (settled.status === 'in_progress' && test && test !== 'failed') {
      outcome = 'recovered';
      attempt = settled;
      deps.telemetry.count('recovered', 1, scope);
      const snapshot = snapshotOf(settled, test, deps.clock.now());
      frames.push(
        outbound.frame(
          'auth_success',
          { ...base, recovered: true, recovered_assessment: snapshot },
          requestId,
        ),
      );
    } else if (settled.status === 'completed') {
      outcome = 'completed';
      attempt = settled;
      // A client that reconnects always learns the outcome.
      frames.push(outbound.frame('auth_success', base, requestId));
      frames.push(outbound.frame('assessment_completed', summaryOf(settled), requestId));
    } else {
      frames.push(outbound.frame('auth_success', base, requestId));
    }
  }
  if (outcome === 'failed') deps.telemetry.count('recovery_failed', 1, scope);
  // A refreshed token that no longer lists a test (or is no proctor's) ends the connection's
  // subscriptions to it now, not when the old token would have expired.
  const revoked = (connection.auth?.proctorTests ?? []).filter((t) => !check.proctorTests?.includes(t));
  await Promise.all([
    outbound.send(connectionId, ...frames),
    ...revoked.map((t) => deps.subscriptions.unsubscribe(t, connectionId)),
    (async () => {
      const previousWasLive =
        claim.previous === null ? false : await tellReplaced(deps, outbound, claim.previous, key);
      await Promise.all([
        previousWasLive && claim.previous !== null ? retire(deps, claim.previous) : undefined,
        newConnection && testId !== null
          ? recordConnection(
              deps,
              feed,
              { key, testId, userId: check.userId, claimedAtMs: now, claim },
              {
                previousWasLive,
                outcome,
                attempt,
                subscribers: subscribers ?? feed.prefetch(testId),
              },
            )
          : undefined,
      ]);
    })(),
  ]);
}

/**
 * Adds the new connection to the key's history, counts the reconnection metrics and tells the
 * test's proctors. None of it may fail the auth: the client already has its reply.
 */
async function recordConnection(
  deps: CoreDeps,
  feed: ProctorFeed,
  at: { key: string; testId: string; userId: string; claimedAtMs: number; claim: KeyClaim },
  result: {
    previousWasLive: boolean;
    outcome: RecoveryOutcome;
    attempt: AssessmentRecord | null;
    subscribers: Promise<string[]>;
  },
): Promise<void> {
  const { claim, testId } = at;
  const { event, replacedPrevious } = eventFor(
    claim.prior,
    at.claimedAtMs,
    result.previousWasLive,
    result.outcome,
  );
  const scope = { testId };
  if (duringAttempt(event)) deps.telemetry.count('reconnected', 1, scope);
  if (result.outcome === 'recovered' && event.awayMs !== null && claim.prior.ended) {
    deps.telemetry.timing('recovery_latency', deps.clock.now() - claim.prior.ended.atMs, scope);
  }
  try {
    await deps.connections.recordConnection(at.key, { event, epoch: claim.epoch, replacedPrevious });
  } catch (error) {
    deps.telemetry.error('recording the connection history failed', error, { testId });
  }
  const totals = addEvent(claim.prior.totals, event, replacedPrevious);
  const record = result.attempt;
  await feed.publish(
    testId,
    replacedPrevious
      ? 'replaced'
      : result.outcome === 'recovered' && event.previousEnd !== null
        ? 'recovered'
        : 'connected',
    {
      user_id: at.userId,
      connected: true,
      since: new Date(at.claimedAtMs).toISOString(),
      connections: totals.connections,
      reconnects: totals.reconnects,
      offline_seconds: totals.offlineMs / 1000,
      longest_gap_seconds: totals.longestGapMs / 1000,
      replaced: totals.replaced,
      ...(record
        ? {
            status: record.status,
            answered: progressOf(record).answered,
            total: record.total,
            deadline: new Date(record.deadlineMs).toISOString(),
          }
        : {}),
    },
    result.subscribers,
  );
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
  if (await tellReplaced(deps, outbound, previous, key)) await retire(deps, previous);
}

/**
 * Tells the older connection it was replaced. True when it was still there to be told; false
 * when it had dropped unseen (a 410, which already removed its records).
 */
async function tellReplaced(
  deps: CoreDeps,
  outbound: Outbound,
  previous: string,
  key: string,
): Promise<boolean> {
  const sent = await outbound.send(previous, outbound.frame('session_replaced', { connection_id: key }));
  if (sent === 'gone') return false;
  const { testId } = parseConnectionKey(key);
  deps.telemetry.count('session_replaced', 1, testId === null ? {} : { testId });
  return true;
}

/** Its own record goes now, so a frame it sends before the close lands is not_authenticated. */
async function retire(deps: CoreDeps, previous: string): Promise<void> {
  await deps.notifier.close(previous);
  await deps.connections.removeConnection(previous);
}
