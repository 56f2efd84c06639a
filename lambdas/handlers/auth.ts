import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { OK, withRuntime } from './invoke';

export const handler = (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> =>
  withRuntime(async ({ core }) => {
    await core.auth(event.requestContext.connectionId, event.body);
    return OK;
  });
