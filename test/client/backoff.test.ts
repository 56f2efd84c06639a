import { Backoff } from '../../client/backoff';

const make = (
  random: () => number,
  overrides: Partial<{ baseMs: number; capMs: number; stableAfterMs: number }> = {},
) => new Backoff({ baseMs: 1000, capMs: 30_000, stableAfterMs: 10_000, random, ...overrides });

describe('Backoff (full jitter)', () => {
  it('doubles the ceiling per attempt up to the cap', () => {
    const backoff = make(() => 0.999_999);
    const delays = Array.from({ length: 8 }, () => backoff.next());
    expect(delays).toEqual([999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
    expect(backoff.attempt).toBe(8);
  });

  it('picks every delay uniformly in [0, min(cap, base * 2^attempt))', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const backoff = make(random);
    for (let attempt = 0; attempt < 200; attempt++) {
      const ceiling = Math.min(30_000, 1000 * 2 ** attempt);
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });

  it('uses the jitter across the whole range, including zero', () => {
    const values = [0, 0.25, 0.5];
    const backoff = make(() => values.shift() ?? 0);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([0, 500, 2000]);
  });

  it('never overflows: a huge attempt count still yields at most the cap', () => {
    const backoff = make(() => 0.999);
    for (let i = 0; i < 5000; i++) backoff.next();
    const delay = backoff.next();
    expect(Number.isFinite(delay)).toBe(true);
    expect(delay).toBeLessThanOrEqual(30_000);
  });

  it('resets the attempts only after the connection stayed up for stableAfterMs', () => {
    const backoff = make(() => 0.999_999);
    backoff.next();
    backoff.next();
    backoff.next();
    expect(backoff.attempt).toBe(3);

    // Up for 9.999 s: a flapping connection keeps growing the delay.
    backoff.connected(100_000);
    backoff.disconnected(109_999);
    expect(backoff.attempt).toBe(3);
    expect(backoff.next()).toBe(7999);

    // Up for 10 s: the next drop starts again from the base delay.
    backoff.connected(200_000);
    backoff.disconnected(210_000);
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(999);
  });

  it('does not reset on a drop that was not preceded by a connection', () => {
    const backoff = make(() => 0.5);
    backoff.next();
    backoff.disconnected(1_000_000);
    expect(backoff.attempt).toBe(1);
  });
});
