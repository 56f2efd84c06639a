/**
 * Test definitions change rarely and every assessment message needs one, so each Lambda
 * container keeps them for a short while instead of reading them on every frame.
 */
import type { Clock, TestCatalog, TestDefinition } from './ports';

export class CachedTestCatalog implements TestCatalog {
  private readonly entries = new Map<string, { test: TestDefinition; expiresAtMs: number }>();

  constructor(
    private readonly inner: TestCatalog,
    private readonly clock: Clock,
    private readonly ttlMs = 60_000,
  ) {}

  async get(testId: string): Promise<TestDefinition | null> {
    const cached = this.entries.get(testId);
    if (cached && cached.expiresAtMs > this.clock.now()) return cached.test;
    const test = await this.inner.get(testId);
    // Misses are not cached: a test loaded a moment later must be found.
    if (test) this.entries.set(testId, { test, expiresAtMs: this.clock.now() + this.ttlMs });
    else this.entries.delete(testId);
    return test;
  }
}
