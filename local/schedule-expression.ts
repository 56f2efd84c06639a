/**
 * EventBridge schedule expressions: `rate(<n> minute|minutes|hour|hours|day|days)` and
 * `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)` in UTC, with `*`, `?`,
 * lists, ranges, steps, month names (JAN-DEC) and day names (SUN-SAT; numbers 1-7 are SUN-SAT).
 * `L`, `W` and `#` are refused with a clear error rather than run at the wrong time.
 */

export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}

export type Schedule =
  | { readonly kind: 'rate'; readonly intervalMs: number }
  | { readonly kind: 'cron'; next(afterMs: number): number };

const UNIT_MS: Readonly<Record<string, number>> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function field(
  text: string,
  min: number,
  max: number,
  names: readonly string[] = [],
  nameBase = 1,
): Set<number> | null {
  if (text === '*' || text === '?') return null;
  if (/[LW#]/.test(text))
    throw new ScheduleExpressionError(`cron field '${text}': L, W and # are not supported locally`);
  const value = (token: string): number => {
    const named = names.indexOf(token.toUpperCase());
    const n = named >= 0 ? named + nameBase : Number(token);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ScheduleExpressionError(`cron field '${text}': ${token} is outside ${min}-${max}`);
    }
    return n;
  };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new ScheduleExpressionError(`cron field '${text}': bad step`);
    let from: number;
    let to: number;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      from = value(a);
      to = value(b);
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\(\s*(\d+)\s+([a-z]+)\s*\)$/i.exec(expression.trim());
  if (rate) {
    const unit = UNIT_MS[(rate[2] ?? '').toLowerCase()];
    const amount = Number(rate[1]);
    if (!unit || amount < 1) throw new ScheduleExpressionError(`bad rate expression '${expression}'`);
    return { kind: 'rate', intervalMs: amount * unit };
  }
  const cron = /^cron\((.*)\)$/i.exec(expression.trim());
  if (!cron) throw new ScheduleExpressionError(`'${expression}' is neither rate(...) nor cron(...)`);
  const parts = (cron[1] ?? '').trim().split(/\s+/);
  if (parts.length !== 6)
    throw new ScheduleExpressionError(`cron needs 6 fields, got ${parts.length}: '${expression}'`);
  const [mi = '', ho = '', dom = '', mo = '', dow = '', yr = ''] = parts;
  const minutes = field(mi, 0, 59);
  const hours = field(ho, 0, 23);
  const daysOfMonth = field(dom, 1, 31);
  const months = field(mo, 1, 12, MONTHS);
  const daysOfWeek = field(dow, 1, 7, DAYS);
  const years = field(yr, 1970, 2199);
  const has = (set: Set<number> | null, n: number) => set === null || set.has(n);
  return {
    kind: 'cron',
    next(afterMs) {
      const t = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
      // At most five years of minutes: enough for any expression that fires at all.
      for (let i = 0; i < 5 * 366 * 24 * 60; i++) {
        if (
          has(years, t.getUTCFullYear()) &&
          has(months, t.getUTCMonth() + 1) &&
          has(daysOfMonth, t.getUTCDate()) &&
          has(daysOfWeek, t.getUTCDay() + 1) &&
          has(hours, t.getUTCHours()) &&
          has(minutes, t.getUTCMinutes())
        ) {
          return t.getTime();
        }
        t.setTime(t.getTime() + 60_000);
      }
      throw new ScheduleExpressionError(`'${expression}' never fires`);
    },
  };
}
