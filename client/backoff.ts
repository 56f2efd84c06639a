/**
 * Full-jitter exponential backoff: delay = random() * min(cap, base * 2^attempt).
 * The attempt counter resets only once a connection has stayed up for `stableAfterMs`, so a
 * server that accepts and then drops connections at once does not cause a tight reconnect loop.
 */
export interface BackoffConfig {
  baseMs: number;
  capMs: number;
  stableAfterMs: number;
  random: () => number;
}

export class Backoff {
  private attemptCount = 0;
  private connectedAt: number | undefined;

  constructor(private readonly config: BackoffConfig) {}

  /** Attempts scheduled since the last stable connection. */
  get attempt(): number {
    return this.attemptCount;
  }

  /** Upper bound of the next delay (the jitter picks uniformly below it). */
  ceiling(attempt = this.attemptCount): number {
    // 2^31 ms is already far above any sensible cap; clamping the exponent avoids Infinity.
    return Math.min(this.config.capMs, this.config.baseMs * 2 ** Math.min(attempt, 31));
  }

  /** The connection is up (authenticated) at `now`. */
  connected(now: number): void {
    this.connectedAt = now;
  }

  /** The connection went down at `now`: resets the attempts if it had been up long enough. */
  disconnected(now: number): void {
    if (this.connectedAt !== undefined && now - this.connectedAt >= this.config.stableAfterMs) {
      this.attemptCount = 0;
    }
    this.connectedAt = undefined;
  }

  /** The delay before the next attempt; counts the attempt. */
  next(): number {
    const r = Math.min(Math.max(this.config.random(), 0), 1);
    const delay = Math.floor(r * this.ceiling());
    this.attemptCount += 1;
    return delay;
  }

  reset(): void {
    this.attemptCount = 0;
    this.connectedAt = undefined;
  }
}
