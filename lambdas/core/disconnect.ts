/**
 * $disconnect: best effort and possibly late. It drops this connection's own record, and the
 * key mapping only if it still points here, so a newer connection's mapping survives. It never
 * touches assessment progress.
 */
import type { Outbound } from './outbound';

export async function disconnect(outbound: Outbound, connectionId: string): Promise<void> {
  await outbound.forget(connectionId);
}
