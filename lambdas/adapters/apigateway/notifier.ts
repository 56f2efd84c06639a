/** Sends to and closes client connections through the stage's @connections API. */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ServerFrame } from '../../../protocol';
import type { ConnectionNotifier } from '../../core/ports';

export class NotifierError extends Error {
  override name = 'NotifierError';
}

export class ApiGatewayNotifier implements ConnectionNotifier {
  private readonly client: ApiGatewayManagementApiClient;

  /** `callbackUrl` is the stage's callback URL (works with custom domains, unlike domainName). */
  constructor(options: { callbackUrl: string; client?: ApiGatewayManagementApiClient }) {
    this.client = options.client ?? new ApiGatewayManagementApiClient({ endpoint: options.callbackUrl });
  }

  async send(connectionId: string, frame: ServerFrame): Promise<'sent' | 'gone'> {
    try {
      await this.client.send(
        new PostToConnectionCommand({
          ConnectionId: connectionId,
          Data: new TextEncoder().encode(JSON.stringify(frame)),
        }),
      );
      return 'sent';
    } catch (error) {
      if (error instanceof GoneException) return 'gone';
      throw new NotifierError(`posting to connection ${connectionId} failed`, { cause: error });
    }
  }

  async close(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (error instanceof GoneException) return;
      throw new NotifierError(`closing connection ${connectionId} failed`, { cause: error });
    }
  }
}
