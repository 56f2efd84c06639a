/** The core, assembled from its ports: one entry point per route and job, no AWS inside. */
import type { ServerFrame } from '../../protocol';
import { AssessmentService } from './assessment-service';
import { authenticate } from './authenticate';
import { echoableRequestId, parseAuthFrame, parseJsonObject } from './client-frames';
import { type ConnectRequest, type ConnectResult, connect } from './connect';
import type { DisconnectInfo } from './connection-history';
import type { CoreDeps } from './deps';
import { disconnect } from './disconnect';
import { handleMessage } from './messages';
import { Outbound, type ReplyDelivery, SenderReply } from './outbound';
import { ProctorFeed } from './proctor';
import { type SweepReport, sweep } from './sweep';
import { unrouted } from './unrouted';

export type { ReplyDelivery } from './outbound';

export interface Core {
  connect(request: ConnectRequest): Promise<ConnectResult>;
  auth(connectionId: string, body: string | undefined): Promise<void>;
  /**
   * With `return` delivery, the last frame of the reply is not posted but returned, for a two-way
   * route to answer with; everything before it is posted first.
   */
  message(
    connectionId: string,
    body: string | undefined,
    delivery?: ReplyDelivery,
  ): Promise<ServerFrame | undefined>;
  /** `info`: API Gateway's disconnectStatusCode and disconnectReason, when the event has them. */
  disconnect(connectionId: string, info?: DisconnectInfo): Promise<void>;
  unrouted(
    connectionId: string,
    body: string | undefined,
    delivery?: ReplyDelivery,
  ): Promise<ServerFrame | undefined>;
  sweep(budgetMs?: number): Promise<SweepReport>;
}

export function createCore(deps: CoreDeps): Core {
  const outbound = new Outbound(deps);
  const lifecycle = new AssessmentService(deps, outbound);
  const feed = new ProctorFeed(deps, outbound);

  /**
   * A fault answers the client with `internal_error` (and its request_id) instead of a crash.
   * Every state change is one atomic write, so nothing partial was stored and a retry with the
   * same request_id is safe. A reply frame held for the route response is posted before it.
   */
  const guarded =
    (route: string, work: (reply: SenderReply, body: string | undefined) => Promise<void>) =>
    async (
      connectionId: string,
      body: string | undefined,
      delivery: ReplyDelivery = 'post',
    ): Promise<ServerFrame | undefined> => {
      const reply = new SenderReply(outbound, connectionId, delivery);
      try {
        await work(reply, body);
      } catch (error) {
        deps.telemetry.error(`${route} failed`, error, { connectionId });
        deps.telemetry.count('internal_error');
        const json = parseJsonObject(body);
        const requestId = json.ok ? echoableRequestId(json.value) : undefined;
        const postFailure = await reply.sendLast(
          outbound.error('internal_error', 'the server failed; retry', requestId),
        );
        if (postFailure) {
          deps.telemetry.error(`${route}: posting a held reply frame failed`, postFailure, { connectionId });
        }
      }
      return reply.take();
    };

  return {
    connect: (request) => connect(deps, request),
    auth: async (connectionId, body) => {
      // auth stays one-way: an auth_error is followed by closing the socket, which a held route
      // response would not survive.
      await guarded('auth', async ({ connectionId }, body) => {
        const json = parseJsonObject(body);
        if (!json.ok) {
          await outbound.send(connectionId, outbound.error(json.code, json.message, json.requestId));
          return;
        }
        await authenticate(deps, outbound, lifecycle, feed, connectionId, parseAuthFrame(json.value));
      })(connectionId, body);
    },
    message: guarded('message', (reply, body) => handleMessage(deps, outbound, lifecycle, feed, reply, body)),
    disconnect: (connectionId, info = {}) => disconnect(deps, feed, connectionId, info),
    unrouted: guarded('$default', (reply, body) => unrouted(deps, outbound, reply, body)),
    sweep: (budgetMs) => sweep(deps, outbound, lifecycle, feed, budgetMs),
  };
}
