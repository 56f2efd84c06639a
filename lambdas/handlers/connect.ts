import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { OK, withRuntime } from './invoke';

/** CONNECT events also carry the upgrade request's headers and query string. */
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined> | null;
};

function header(event: ConnectEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

export const handler = (event: ConnectEvent): Promise<APIGatewayProxyResultV2> =>
  withRuntime(async ({ core }) => {
    const result = await core.connect({
      connectionId: event.requestContext.connectionId,
      testId: event.queryStringParameters?.test_id ?? undefined,
      origin: header(event, 'origin'),
      connectedAtMs: event.requestContext.connectedAt,
    });
    return result.status === 200 ? OK : { statusCode: result.status, body: result.reason };
  });
