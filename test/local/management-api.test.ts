import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  createRecordingPool,
  MAX_POST_BYTES,
  type ManagementApiServer,
  type RecordingPool,
  startManagementApiServer,
} from '../../local/management-api';

describe('local @connections management API (real SDK client, recording pool)', () => {
  let pool: RecordingPool;
  let server: ManagementApiServer;
  let client: ApiGatewayManagementApiClient;

  beforeEach(async () => {
    pool = createRecordingPool(['Abc123+/xyzQRS0=']);
    server = await startManagementApiServer({ pool });
    client = new ApiGatewayManagementApiClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });

  afterEach(async () => {
    client.destroy();
    await server.close();
  });

  it('POST delivers the data to the connection (id URL-decoded)', async () => {
    await client.send(
      new PostToConnectionCommand({
        ConnectionId: 'Abc123+/xyzQRS0=',
        Data: JSON.stringify({ type: 'pong' }),
      }),
    );
    expect(pool.sent).toEqual([{ connectionId: 'Abc123+/xyzQRS0=', data: '{"type":"pong"}' }]);
    expect(pool.framesFor('Abc123+/xyzQRS0=')).toEqual([{ type: 'pong' }]);
  });

  it('GET describes the connection with ISO dates and identity', async () => {
    pool.add('other', {
      connectedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
      sourceIp: '10.0.0.9',
      userAgent: 'ua/1',
    });
    const out = await client.send(new GetConnectionCommand({ ConnectionId: 'other' }));
    expect(out.ConnectedAt?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(out.LastActiveAt).toBeInstanceOf(Date);
    expect(out.Identity).toEqual({ SourceIp: '10.0.0.9', UserAgent: 'ua/1' });
  });

  it('DELETE closes the connection, and it is gone afterwards', async () => {
    await client.send(new DeleteConnectionCommand({ ConnectionId: 'Abc123+/xyzQRS0=' }));
    expect(pool.closed).toEqual(['Abc123+/xyzQRS0=']);
    await expect(
      client.send(new GetConnectionCommand({ ConnectionId: 'Abc123+/xyzQRS0=' })),
    ).rejects.toBeInstanceOf(GoneException);
  });

  it.each([
    ['POST', () => new PostToConnectionCommand({ ConnectionId: 'nope', Data: 'x' })],
    ['GET', () => new GetConnectionCommand({ ConnectionId: 'nope' })],
    ['DELETE', () => new DeleteConnectionCommand({ ConnectionId: 'nope' })],
  ] as const)('%s on an unknown id is GoneException (410)', async (_method, command) => {
    const error = await client.send(command() as PostToConnectionCommand).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GoneException);
    expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
  });

  it('POST over 128 KB is PayloadTooLargeException (413) and nothing is sent', async () => {
    const error = await client
      .send(
        new PostToConnectionCommand({
          ConnectionId: 'Abc123+/xyzQRS0=',
          Data: 'x'.repeat(MAX_POST_BYTES + 1),
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeException);
    expect(pool.sent).toEqual([]);
  });

  it('POST of exactly 128 KB is accepted', async () => {
    await client.send(
      new PostToConnectionCommand({ ConnectionId: 'Abc123+/xyzQRS0=', Data: 'y'.repeat(MAX_POST_BYTES) }),
    );
    expect(pool.sent[0]?.data.length).toBe(MAX_POST_BYTES);
  });

  it('an unsigned request is 403 ForbiddenException', async () => {
    const response = await fetch(`${server.endpoint}/@connections/Abc123%2B%2FxyzQRS0%3D`);
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('requests for another stage are not handled (404 from the standalone server)', async () => {
    const other = new ApiGatewayManagementApiClient({
      endpoint: server.endpoint.replace(/\/local$/, '/prod'),
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      const error = await other
        .send(new GetConnectionCommand({ ConnectionId: 'x' }))
        .catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(ForbiddenException);
      expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(404);
    } finally {
      other.destroy();
    }
  });
});
