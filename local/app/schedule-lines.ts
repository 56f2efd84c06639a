/**
 * The startup report's lines about an app's scheduled rules: which function each invokes and how
 * often it runs here, since `--sweep-interval-ms` replaces every `rate(...)` when given.
 */
import type { AppDescription } from '../assembly/template';
import { parseSchedule } from '../schedule-expression';

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export function scheduleLines(app: AppDescription, rateIntervalMs?: number): string[] {
  const nameOf = new Map(app.functions.map((fn) => [fn.id, fn.functionName]));
  const lines: string[] = [];
  for (const schedule of app.schedules) {
    const targets = schedule.targets.map((target) => nameOf.get(target.functionId) ?? target.functionId);
    if (targets.length === 0) continue;
    let pace: string;
    if (!schedule.enabled) {
      pace = 'disabled, not run';
    } else {
      const parsed = parseSchedule(schedule.expression);
      pace =
        parsed.kind === 'cron'
          ? 'at its times (UTC)'
          : rateIntervalMs !== undefined
            ? `every ${seconds(rateIntervalMs)} here (--sweep-interval-ms)`
            : `every ${seconds(parsed.intervalMs)}`;
    }
    lines.push(
      `  Schedule      ${schedule.ruleName} ${schedule.expression} -> ${targets.join(', ')}: ${pace}`,
    );
  }
  return lines;
}
