/** In-memory twin of the proctor subscriptions (same semantics as the DynamoDB adapter). */
import type { ProctorSubscriptions } from '../../core/ports';

export class InMemoryProctorSubscriptions implements ProctorSubscriptions {
  /** testId -> connectionId -> until (epoch ms) */
  readonly byTest = new Map<string, Map<string, number>>();

  async subscribe(testId: string, connectionId: string, untilMs: number): Promise<void> {
    const subscribers = this.byTest.get(testId) ?? new Map<string, number>();
    subscribers.set(connectionId, untilMs);
    this.byTest.set(testId, subscribers);
  }

  async unsubscribe(testId: string, connectionId: string): Promise<void> {
    this.byTest.get(testId)?.delete(connectionId);
  }

  async subscribersOf(testId: string, nowMs: number): Promise<string[]> {
    return [...(this.byTest.get(testId) ?? [])].filter(([, until]) => until > nowMs).map(([id]) => id);
  }
}
