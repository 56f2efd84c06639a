/**
 * Runs the scheduled jobs (EventBridge rules on AWS) on timers, each invoked with an
 * EventBridge-shaped scheduled event (or the target's constant `Input`). A job runs either every
 * `intervalMs` or at the times of a `cron(...)` expression (UTC). A run that is still going when
 * the next tick comes makes that tick skip (on AWS two runs could overlap; the jobs must tolerate
 * that either way).
 */
import { scheduledEvent } from './events';
import { type LambdaHandler, lambdaContext } from './lambda-context';
import type { InvokeResult } from './runtime/contract';
import { parseSchedule } from './schedule-expression';

export type ScheduledJob = {
  /** The rule name (in the event's `resources` ARN and in logs). */
  readonly name: string;
  /** A constant input replacing the scheduled event, as a rule target's `Input` does. */
  readonly input?: unknown;
  /** @default '000000000000' */
  readonly accountId?: string;
} & ({ readonly intervalMs: number } | { readonly cron: string }) &
  (
    | { readonly handler: LambdaHandler }
    | { readonly invoke: (event: unknown) => Promise<InvokeResult>; readonly functionName: string }
  );

export interface Scheduler {
  /** Runs every job once now (waiting for runs in progress first). */
  runAll(): Promise<void>;
  /** Stops the timers and waits for runs in progress. */
  stop(): Promise<void>;
}

export function startScheduler(
  jobs: readonly ScheduledJob[],
  options: { region: string; timeoutMs?: number; log?: (line: string) => void },
): Scheduler {
  const log = options.log ?? (() => {});
  const running = new Map<ScheduledJob, Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const run = (job: ScheduledJob): Promise<void> => {
    const current = running.get(job);
    if (current) return current;
    const event = job.input ?? scheduledEvent(job.name, options.region, Date.now(), job.accountId);
    const promise = (async () => {
      try {
        if ('invoke' in job) {
          const result = await job.invoke(event);
          if (!result.ok) {
            log(
              `[schedule] ${job.name} -> ${job.functionName} failed (${result.kind}): ${result.errorType}: ${result.errorMessage}`,
            );
          }
          return;
        }
        const context = lambdaContext({
          functionName: job.name,
          region: options.region,
          timeoutMs: options.timeoutMs ?? 60_000,
        });
        await job.handler(event, context);
      } catch (error) {
        log(
          `[schedule] ${job.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      } finally {
        running.delete(job);
      }
    })();
    running.set(job, promise);
    return promise;
  };

  for (const job of jobs) {
    if ('intervalMs' in job) {
      const timer = setInterval(() => void run(job), job.intervalMs);
      timer.unref();
      timers.add(timer);
      continue;
    }
    const schedule = parseSchedule(job.cron);
    if (schedule.kind === 'rate') throw new Error(`${job.name}: use intervalMs for rate expressions`);
    const arm = () => {
      if (stopped) return;
      // setTimeout caps at about 24.8 days; re-arm in steps for later times.
      const delay = Math.min(schedule.next(Date.now()) - Date.now(), 2 ** 31 - 1);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (schedule.next(Date.now() - 60_000) <= Date.now()) void run(job);
        arm();
      }, delay);
      timer.unref();
      timers.add(timer);
    };
    arm();
  }

  return {
    async runAll() {
      await Promise.all([...running.values()]);
      await Promise.all(jobs.map(run));
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...running.values()]);
    },
  };
}
