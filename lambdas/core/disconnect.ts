/**
 * $disconnect: best effort and possibly late. It drops this connection's own record, and the
 * key mapping only if it still points here, so a newer connection's mapping survives; the key's
 * history records when and why the connection ended. It never touches assessment progress.
 */
import { TOKEN_CLOCK_LEEWAY_SECONDS } from '../../protocol';
import { type DisconnectInfo, endReasonOf } from './connection-history';
import type { CoreDeps } from './deps';
import type { ProctorFeed } from './proctor';

export async function disconnect(
  deps: CoreDeps,
  feed: ProctorFeed,
  connectionId: string,
  info: DisconnectInfo,
): Promise<void> {
  const removed = await deps.connections.removeConnection(connectionId);
  if (!removed?.auth) return;
  const now = deps.clock.now();
  const reason = endReasonOf(info, removed, now, TOKEN_CLOCK_LEEWAY_SECONDS * 1000);
  // Who watches the test is read beside the release, for the event.
  const subscribers = removed.testId === null ? undefined : feed.prefetch(removed.testId);
  const released = await deps.connections.releaseKey(removed.auth.key, connectionId, { atMs: now, reason });
  // Not released: a newer connection holds the key (this one was replaced), nothing changed.
  if (!released) return;
  deps.telemetry.count('disconnected');
  if (removed.testId !== null) {
    await feed.publish(
      removed.testId,
      'dropped',
      {
        user_id: removed.auth.userId,
        connected: false,
        since: new Date(now).toISOString(),
        end_reason: reason,
      },
      subscribers,
    );
  }
}
