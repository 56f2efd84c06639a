/**
 * The per-connection frame budget for routes that need nothing else from the connection record
 * ($default). It counts on the connection item like every other route (see
 * DynamoConnectionRegistry.admitFrame), so all of a connection's frames share one budget.
 */
import type { ConnectionRegistry, RateLimiter } from '../../core/ports';

export class DynamoRateLimiter implements RateLimiter {
  constructor(private readonly connections: Pick<ConnectionRegistry, 'admitFrame'>) {}

  async tryConsume(connectionId: string, nowMs: number): Promise<boolean> {
    return (await this.connections.admitFrame(connectionId, nowMs)).withinBudget;
  }
}
