/**
 * Runs the scheduled jobs (EventBridge rules on AWS) on timers, each invoked with an
 * EventBridge-shaped scheduled event. A run that is still going when the next tick comes makes
 * that tick skip (on AWS two runs could overlap; the jobs must tolerate that either way).
 */
import { scheduledEvent } from './events';
import { type LambdaHandler, lambdaContext } from './lambda-context';

export interface ScheduledJob {
  readonly name: string;
  readonly handler: LambdaHandler;
  readonly intervalMs: number;
}

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
  const running = new Map<string, Promise<void>>();
  const timers: NodeJS.Timeout[] = [];

  const run = (job: ScheduledJob): Promise<void> => {
    const current = running.get(job.name);
    if (current) return current;
    const context = lambdaContext({
      functionName: job.name,
      region: options.region,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    const promise = (async () => {
      try {
        await job.handler(scheduledEvent(job.name, options.region), context);
      } catch (error) {
        log(
          `[schedule] ${job.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      } finally {
        running.delete(job.name);
      }
    })();
    running.set(job.name, promise);
    return promise;
  };

  for (const job of jobs) {
    const timer = setInterval(() => void run(job), job.intervalMs);
    timer.unref();
    timers.push(timer);
  }

  return {
    async runAll() {
      await Promise.all([...running.values()]);
      await Promise.all(jobs.map(run));
    },
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.all([...running.values()]);
    },
  };
}
