/** $connect: admit or refuse the upgrade, and remember the connection as unauthenticated. */
import { isValidTestId } from '../../protocol';
import type { CoreDeps } from './deps';

export interface ConnectRequest {
  connectionId: string;
  /** The raw `test_id` query parameter; undefined when absent. */
  testId: string | undefined;
  /** The Origin header; undefined for non-browser clients. */
  origin: string | undefined;
  connectedAtMs: number;
}

export type ConnectResult = { status: 200 } | { status: 400 | 403; reason: string };

export async function connect(deps: CoreDeps, request: ConnectRequest): Promise<ConnectResult> {
  if (request.testId !== undefined && !isValidTestId(request.testId)) {
    deps.telemetry.count('connect_refused_test_id');
    return { status: 400, reason: 'test_id must match ^[A-Za-z0-9-]{1,64}$ and must not be "general"' };
  }
  const { allowedOrigins } = deps.settings;
  if (request.origin !== undefined && allowedOrigins.length > 0 && !allowedOrigins.includes(request.origin)) {
    deps.telemetry.count('connect_refused_origin');
    return { status: 403, reason: 'origin not allowed' };
  }
  const now = deps.clock.now();
  await deps.connections.registerPending({
    connectionId: request.connectionId,
    testId: request.testId ?? null,
    connectedAtMs: request.connectedAtMs || now,
    authDeadlineMs: now + deps.settings.authDeadlineSeconds * 1000,
  });
  deps.telemetry.count('connected');
  return { status: 200 };
}
