/**
 * `storm`: a discrete-event simulation of a whole exam hall losing its network at once.
 * `students` clients drop at t = 0 and reconnect with the SDK's own backoff (client/backoff.ts,
 * configured with the SDK's defaults) against API Gateway's quota of 500 new connections per
 * second per account and region, modelled as a token bucket (refilled at 500/s, holding one
 * second's worth). A refused upgrade fails the socket, which the SDK treats like any failed
 * connection: the next delay comes from the same backoff, one attempt further. Seeded, so every
 * run gives the same figures.
 */
import { Backoff } from '../../client/backoff';
import { DEFAULTS } from '../../client/index';
import { quantile, round, seededRandom } from '../support/stats';

export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';
export const JITTERS: readonly Jitter[] = ['none', 'full', 'equal', 'decorrelated'];

export interface StormOptions {
  students: number;
  connectionsPerSecond: number;
  /** From a successful upgrade to auth_success (the $connect and auth invocations). */
  authLatencyMs: number;
  seed: number;
}

export const STORM_DEFAULTS: StormOptions = {
  students: 100_000,
  connectionsPerSecond: 500,
  authLatencyMs: 100,
  seed: 20261201,
};

interface DelayPolicy {
  /** The next delay after a failure (the first one right after the drop). */
  next(): number;
}

/**
 * The SDK's policy with its random source shaped to each jitter: the SDK multiplies the ceiling
 * by random(), so `none` is random() = 1, `full` uniform, `equal` uniform in [0.5, 1].
 * Decorrelated jitter (delay = min(cap, uniform(base, 3 x previous))) needs the previous delay,
 * which the SDK's policy does not keep; it is simulated beside it with the SDK's base and cap.
 */
function policyFor(jitter: Jitter, random: () => number): DelayPolicy {
  const config = { baseMs: DEFAULTS.baseMs, capMs: DEFAULTS.capMs, stableAfterMs: DEFAULTS.stableAfterMs };
  if (jitter === 'decorrelated') {
    let previous: number = config.baseMs;
    return {
      next() {
        previous = Math.min(config.capMs, config.baseMs + random() * (previous * 3 - config.baseMs));
        return Math.floor(previous);
      },
    };
  }
  const shaped = { none: () => 1, full: random, equal: () => 0.5 + 0.5 * random() }[jitter];
  const backoff = new Backoff({ ...config, random: shaped });
  // Connected long before the drop: the SDK resets its attempt count, so the first delay is short.
  backoff.connected(-60 * 60_000);
  backoff.disconnected(0);
  return { next: () => backoff.next() };
}

/** A binary min-heap of (time, student) events. */
class EventQueue {
  private times: number[] = [];
  private ids: number[] = [];

  get size(): number {
    return this.times.length;
  }

  push(time: number, id: number): void {
    const { times, ids } = this;
    let i = times.length;
    times.push(time);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((times[parent] ?? 0) <= time) break;
      times[i] = times[parent] ?? 0;
      ids[i] = ids[parent] ?? 0;
      i = parent;
    }
    times[i] = time;
    ids[i] = id;
  }

  pop(): { time: number; id: number } {
    const { times, ids } = this;
    const top = { time: times[0] ?? 0, id: ids[0] ?? 0 };
    const lastTime = times.pop() ?? 0;
    const lastId = ids.pop() ?? 0;
    const n = times.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && (times[right] ?? 0) < (times[left] ?? 0) ? right : left;
        if ((times[child] ?? 0) >= lastTime) break;
        times[i] = times[child] ?? 0;
        ids[i] = ids[child] ?? 0;
        i = child;
      }
      times[i] = lastTime;
      ids[i] = lastId;
    }
    return top;
  }
}

export interface StormResult {
  /** Most connection attempts (accepted or refused) API Gateway saw in one second. */
  peak_attempts_per_s: number;
  /** Most accepted connections in one second (the quota caps it). */
  peak_accepted_per_s: number;
  reconnect_ms_p50: number;
  reconnect_ms_p99: number;
  reconnect_ms_max: number;
  /** Students refused by the quota at least once. */
  students_hit_quota: number;
  refused_attempts: number;
  attempts_per_student_mean: number;
}

export function simulateStorm(jitter: Jitter, options: StormOptions = STORM_DEFAULTS): StormResult {
  const random = seededRandom(options.seed);
  const policies = Array.from({ length: options.students }, () => policyFor(jitter, random));
  const queue = new EventQueue();
  policies.forEach((policy, id) => {
    queue.push(policy.next(), id);
  });

  const capacity = options.connectionsPerSecond;
  let tokens = capacity;
  let refilledAt = 0;
  const attemptsPerSecond = new Map<number, number>();
  const acceptedPerSecond = new Map<number, number>();
  const hitQuota = new Uint8Array(options.students);
  const recoveredAt: number[] = [];
  let refused = 0;
  let attempts = 0;

  while (queue.size > 0) {
    const { time, id } = queue.pop();
    tokens = Math.min(capacity, tokens + ((time - refilledAt) * options.connectionsPerSecond) / 1000);
    refilledAt = time;
    const second = Math.floor(time / 1000);
    attempts++;
    attemptsPerSecond.set(second, (attemptsPerSecond.get(second) ?? 0) + 1);
    if (tokens >= 1) {
      tokens -= 1;
      acceptedPerSecond.set(second, (acceptedPerSecond.get(second) ?? 0) + 1);
      recoveredAt.push(time + options.authLatencyMs);
    } else {
      refused++;
      hitQuota[id] = 1;
      const policy = policies[id];
      if (!policy) throw new Error('unknown student');
      queue.push(time + policy.next(), id);
    }
  }
  const max = (counts: Map<number, number>) => Math.max(0, ...counts.values());
  return {
    peak_attempts_per_s: max(attemptsPerSecond),
    peak_accepted_per_s: max(acceptedPerSecond),
    reconnect_ms_p50: round(quantile(recoveredAt, 0.5), 0),
    reconnect_ms_p99: round(quantile(recoveredAt, 0.99), 0),
    reconnect_ms_max: round(Math.max(...recoveredAt), 0),
    students_hit_quota: hitQuota.reduce((sum, hit) => sum + hit, 0),
    refused_attempts: refused,
    attempts_per_student_mean: round(attempts / options.students, 2),
  };
}

export function measureStorm(students = STORM_DEFAULTS.students) {
  const options = { ...STORM_DEFAULTS, students };
  const jitter: Record<string, StormResult> = {};
  for (const name of JITTERS) jitter[name] = simulateStorm(name, options);
  return {
    students: options.students,
    quota_new_connections_per_s: options.connectionsPerSecond,
    token_bucket_capacity: options.connectionsPerSecond,
    auth_latency_ms: options.authLatencyMs,
    seed: options.seed,
    backoff: { base_ms: DEFAULTS.baseMs, cap_ms: DEFAULTS.capMs, sdk_default: 'full' },
    /** The floor: students / quota, the time the last one needs even with perfect scheduling. */
    floor_ms: Math.ceil((options.students / options.connectionsPerSecond) * 1000),
    jitter,
  };
}
