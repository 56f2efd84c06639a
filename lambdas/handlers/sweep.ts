import type { ScheduledEvent } from 'aws-lambda';
import type { SweepReport } from '../core/sweep';
import { withRuntime } from './invoke';

/** Runs every minute from an EventBridge schedule (on a timer in the local stack). */
export const handler = (_event: ScheduledEvent): Promise<SweepReport> =>
  withRuntime(async ({ core, telemetry }) => {
    const report = await core.sweep();
    if (report.closedUnauthenticated || report.finishedOverdue || report.failures)
      telemetry.info('sweep', { ...report });
    return report;
  });
