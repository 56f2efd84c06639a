/** The core, assembled from its ports: one entry point per route and job, no AWS inside. */
import { AssessmentService } from './assessment-service';
import { authenticate } from './authenticate';
import { echoableRequestId, parseAuthFrame, parseJsonObject } from './client-frames';
import { type ConnectRequest, type ConnectResult, connect } from './connect';
import type { DisconnectInfo } from './connection-history';
import type { CoreDeps } from './deps';
import { disconnect } from './disconnect';
import { handleMessage } from './messages';
import { Outbound } from './outbound';
import { ProctorFeed } from './proctor';
import { type SweepReport, sweep } from './sweep';
import { unrouted } from './unrouted';

export interface Core {
  connect(request: ConnectRequest): Promise<ConnectResult>;
  auth(connectionId: string, body: string | undefined): Promise<void>;
  message(connectionId: string, body: string | undefined): Promise<void>;
  /** `info`: API Gateway's disconnectStatusCode and disconnectReason, when the event has them. */
  disconnect(connectionId: string, info?: DisconnectInfo): Promise<void>;
  unrouted(connectionId: string, body: string | undefined): Promise<void>;
  sweep(budgetMs?: number): Promise<SweepReport>;
}

export function createCore(deps: CoreDeps): Core {
  const outbound = new Outbound(deps);
  const lifecycle = new AssessmentService(deps, outbound);
  const feed = new ProctorFeed(deps, outbound);

  /**
   * A fault answers the client with `internal_error` (and its request_id) instead of a crash.
   * Every state change is one atomic write, so nothing partial was stored and a retry with the
   * same request_id is safe.
   */
  const guarded =
    (route: string, work: (connectionId: string, body: string | undefined) => Promise<void>) =>
    async (connectionId: string, body: string | undefined): Promise<void> => {
      try {
        await work(connectionId, body);
      } catch (error) {
        deps.telemetry.error(`${route} failed`, error, { connectionId });
        deps.telemetry.count('internal_error');
        const json = parseJsonObject(body);
        const requestId = json.ok ? echoableRequestId(json.value) : undefined;
        await outbound.send(
          connectionId,
          outbound.error('internal_error', 'the server failed; retry', requestId),
        );
      }
    };

  return {
    connect: (request) => connect(deps, request),
    auth: guarded('auth', async (connectionId, body) => {
      const json = parseJsonObject(body);
      if (!json.ok) {
        await outbound.send(connectionId, outbound.error(json.code, json.message, json.requestId));
        return;
      }
      await authenticate(deps, outbound, lifecycle, feed, connectionId, parseAuthFrame(json.value));
    }),
    message: guarded('message', (connectionId, body) =>
      handleMessage(deps, outbound, lifecycle, feed, connectionId, body),
    ),
    disconnect: (connectionId, info = {}) => disconnect(deps, feed, connectionId, info),
    unrouted: guarded('$default', (connectionId, body) => unrouted(deps, outbound, connectionId, body)),
    sweep: (budgetMs) => sweep(deps, outbound, lifecycle, feed, budgetMs),
  };
}
