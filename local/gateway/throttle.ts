/**
 * Stage throttling of WebSocket messages and connection requests (`$connect`), as API Gateway
 * documents it: a token bucket per route, where one message (or connection request) takes one token, the bucket holds `burstLimit` tokens and refills at
 * `rateLimit` tokens per second. A route's own settings (`RouteSettings`) win over the stage's
 * `DefaultRouteSettings`, field by field; a field set nowhere falls back to the account-level
 * quota (10,000 requests per second, burst 5,000). Buckets start full and are per route across all
 * connections of the stage, not per connection (WebSocket APIs have no usage plans per client
 * here).
 *
 * What AWS documents about the excess: requests over the limits are throttled and "clients may
 * receive 429 Too Many Requests". The gateway therefore does not invoke the route for a throttled
 * message and sends the client a frame in the shape of its other errors,
 * `{"message": "Too Many Requests", "connectionId", "requestId"}`; the exact frame AWS sends was not
 * found in its documentation.
 */

export interface ThrottleLimits {
  /** Steady-state messages per second. */
  readonly rateLimit?: number;
  /** Bucket size: how many messages may arrive at once. */
  readonly burstLimit?: number;
}

export interface StageThrottleSettings {
  readonly defaultRoute?: ThrottleLimits;
  readonly routes?: Readonly<Record<string, ThrottleLimits>>;
}

export const ACCOUNT_RATE_LIMIT = 10_000;
export const ACCOUNT_BURST_LIMIT = 5_000;

interface Bucket {
  readonly rate: number;
  readonly capacity: number;
  tokens: number;
  updatedAt: number;
}

export interface StageThrottle {
  /** Takes a token for one message on `routeKey`; false when the message is throttled. */
  admit(routeKey: string): boolean;
}

/** The limits that apply to a route: its own, else the stage default, else the account's. */
export function limitsFor(settings: StageThrottleSettings, routeKey: string): Required<ThrottleLimits> {
  const own = settings.routes?.[routeKey];
  const fallback = settings.defaultRoute;
  const pick = (field: keyof ThrottleLimits, account: number): number => {
    const value = own?.[field] ?? fallback?.[field];
    return value !== undefined && Number.isFinite(value) && value >= 0 ? value : account;
  };
  return {
    rateLimit: pick('rateLimit', ACCOUNT_RATE_LIMIT),
    burstLimit: pick('burstLimit', ACCOUNT_BURST_LIMIT),
  };
}

export function createStageThrottle(
  settings: StageThrottleSettings,
  now: () => number = () => performance.now(),
): StageThrottle {
  const buckets = new Map<string, Bucket>();
  return {
    admit(routeKey) {
      const at = now();
      let bucket = buckets.get(routeKey);
      if (!bucket) {
        const limits = limitsFor(settings, routeKey);
        bucket = {
          rate: limits.rateLimit,
          capacity: limits.burstLimit,
          tokens: limits.burstLimit,
          updatedAt: at,
        };
        buckets.set(routeKey, bucket);
      }
      const elapsedSeconds = Math.max(0, at - bucket.updatedAt) / 1000;
      bucket.tokens = Math.min(bucket.capacity, bucket.tokens + elapsedSeconds * bucket.rate);
      bucket.updatedAt = at;
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };
}
