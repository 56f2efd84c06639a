/**
 * Lambda event -> core call -> Lambda result, for every route and job. Each handler module
 * binds these to the runtime built from the environment; tests bind them to their own runtime
 * (a manual clock, a counted DynamoDB client) and drive them with API Gateway-shaped events.
 */
import type { APIGatewayProxyResultV2, ScheduledEvent } from 'aws-lambda';
import type { ServerFrame } from '../../protocol';
import type { Runtime } from '../composition';
import type { ReplyDelivery } from '../core';
import type { SweepReport } from '../core/sweep';
import { ROUTES, type RouteSpec } from '../routes';

/**
 * The fields of API Gateway's WebSocket events that the routes read. (The `aws-lambda` typings
 * claim every event has `messageId`; only MESSAGE events do, so the routes declare their own.)
 */
export interface RouteEvent {
  requestContext: {
    connectionId: string;
    connectedAt: number;
    routeKey: string;
    /** DISCONNECT events only: the close code and reason API Gateway saw. */
    disconnectStatusCode?: number;
    disconnectReason?: string;
  };
  body?: string | null;
}

/** CONNECT events also carry the upgrade request's headers and query string. */
export interface ConnectEvent extends RouteEvent {
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined> | null;
}

type Result = APIGatewayProxyResultV2;
const OK = { statusCode: 200 } as const;

/** How a route's reply leaves: returned as the route response on the two-way routes. */
function deliveryOf(routeKey: RouteSpec['routeKey']): ReplyDelivery {
  return ROUTES.find((r) => r.routeKey === routeKey)?.twoWay ? 'return' : 'post';
}

/** A two-way route's answer: the frame as the response body, which API Gateway sends to the caller. */
function answer(frame: ServerFrame | undefined): Result {
  return frame ? { statusCode: 200, body: JSON.stringify(frame) } : OK;
}

function header(event: ConnectEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

export function routeHandlers(getRuntime: () => Runtime) {
  /** Metrics are flushed after every invocation, whatever its outcome. */
  const run = async <T>(work: (runtime: Runtime) => Promise<T>): Promise<T> => {
    const runtime = getRuntime();
    try {
      return await work(runtime);
    } finally {
      runtime.telemetry.flush();
    }
  };

  const messageDelivery = deliveryOf('message');
  const unroutedDelivery = deliveryOf('$default');

  return {
    connect: (event: ConnectEvent): Promise<Result> =>
      run(async ({ core }) => {
        const result = await core.connect({
          connectionId: event.requestContext.connectionId,
          testId: event.queryStringParameters?.test_id ?? undefined,
          origin: header(event, 'origin'),
          connectedAtMs: event.requestContext.connectedAt,
        });
        return result.status === 200 ? OK : { statusCode: result.status, body: result.reason };
      }),
    auth: (event: RouteEvent): Promise<Result> =>
      run(async ({ core }) => {
        await core.auth(event.requestContext.connectionId, event.body ?? undefined);
        return OK;
      }),
    message: (event: RouteEvent): Promise<Result> =>
      run(async ({ core }) => {
        const frame = await core.message(
          event.requestContext.connectionId,
          event.body ?? undefined,
          messageDelivery,
        );
        return answer(frame);
      }),
    unrouted: (event: RouteEvent): Promise<Result> =>
      run(async ({ core }) => {
        const frame = await core.unrouted(
          event.requestContext.connectionId,
          event.body ?? undefined,
          unroutedDelivery,
        );
        return answer(frame);
      }),
    disconnect: (event: RouteEvent): Promise<Result> =>
      run(async ({ core }) => {
        const { connectionId, disconnectStatusCode, disconnectReason } = event.requestContext;
        await core.disconnect(connectionId, {
          ...(typeof disconnectStatusCode === 'number' ? { statusCode: disconnectStatusCode } : {}),
          ...(typeof disconnectReason === 'string' ? { reason: disconnectReason } : {}),
        });
        return OK;
      }),
    sweep: (_event: ScheduledEvent): Promise<SweepReport> =>
      run(async ({ core, telemetry }) => {
        const report = await core.sweep();
        if (report.closedUnauthenticated || report.finishedOverdue || report.failures)
          telemetry.info('sweep', { ...report });
        return report;
      }),
  };
}
