/**
 * The scheduled sweep (every minute on AWS, on a timer locally): closes connections that never
 * authenticated in time, and finishes assessments whose deadline has passed even when their
 * student never returns. Both find their work with index queries, never scans.
 */
import type { AssessmentService } from './assessment-service';
import { connectionKey } from './connection-key';
import type { CoreDeps } from './deps';
import type { Outbound } from './outbound';
import type { ProctorFeed } from './proctor';
import { summaryOf } from './views';

const BATCH = 100;

export interface SweepReport {
  closedUnauthenticated: number;
  finishedOverdue: number;
  failures: number;
}

export async function sweep(
  deps: CoreDeps,
  outbound: Outbound,
  lifecycle: AssessmentService,
  feed: ProctorFeed,
  budgetMs = 50_000,
): Promise<SweepReport> {
  const startedAt = deps.clock.now();
  const report: SweepReport = { closedUnauthenticated: 0, finishedOverdue: 0, failures: 0 };
  const timeLeft = () => deps.clock.now() - startedAt < budgetMs;

  // Each pass removes what it handled from the index, so the next query sees the rest.
  while (timeLeft()) {
    const stale = await deps.connections.findUnauthenticatedOverdue(deps.clock.now(), BATCH);
    for (const connection of stale) {
      try {
        // It may have authenticated since the index was read (the index is eventually consistent).
        const current = await deps.connections.get(connection.connectionId);
        if (current?.auth) continue;
        await deps.notifier.close(connection.connectionId);
        await outbound.forget(connection.connectionId);
        report.closedUnauthenticated++;
      } catch (error) {
        report.failures++;
        deps.telemetry.error('closing an unauthenticated connection failed', error, {
          connectionId: connection.connectionId,
        });
      }
    }
    if (stale.length < BATCH || report.failures > 0) break;
  }

  while (timeLeft()) {
    const overdue = await deps.assessments.findOverdue(deps.clock.now(), BATCH);
    for (const { userId, testId } of overdue) {
      try {
        const [record, test] = await Promise.all([
          deps.assessments.get(userId, testId),
          deps.tests.get(testId),
        ]);
        if (!record) continue; // the index lags the table: nothing left to do
        if (!test)
          deps.telemetry.warn('finishing an overdue assessment whose test was deleted (score 0)', { testId });
        // Only when this write finished it: a request that got there first told the student itself.
        const finished = await lifecycle.finishOverdue(record, test);
        if (!finished) continue;
        report.finishedOverdue++;
        // A student still connected hears that time is up.
        const holder = await deps.connections.holderOf(connectionKey(userId, testId));
        const completed = outbound.frame('assessment_completed', summaryOf(finished));
        await Promise.all([
          holder ? outbound.send(holder, completed) : undefined,
          feed.afterReply(testId, userId, [completed]),
        ]);
      } catch (error) {
        report.failures++;
        deps.telemetry.error('finishing an overdue assessment failed', error, { userId, testId });
      }
    }
    if (overdue.length < BATCH || report.failures > 0) break;
  }

  if (report.closedUnauthenticated)
    deps.telemetry.count('sweep_closed_unauthenticated', report.closedUnauthenticated);
  if (report.finishedOverdue) deps.telemetry.count('sweep_finished_overdue', report.finishedOverdue);
  return report;
}
