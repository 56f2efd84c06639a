/**
 * The local twin of API Gateway's `@connections` management API, served on a plain Node HTTP
 * server under `/<stage>/@connections/{connectionId}` (the id is URL-decoded, as the SDK
 * URL-encodes it). The real `ApiGatewayManagementApiClient` works against it unchanged when its
 * `endpoint` is `http://127.0.0.1:<port>/<stage>` and it has (dummy) credentials.
 *
 * Exported API
 * - `ManagementPool`: what the API needs from a connection pool: `describe`, `send`, `close`.
 *   The local gateway's pool implements it; tests can pass `createRecordingPool()`.
 * - `handleManagementRequest(req, res, pool, options?) -> boolean`: handles one HTTP request if
 *   its path is under `/<stage>/@connections` (returns true; the response is written
 *   asynchronously), else returns false and leaves `req`/`res` untouched.
 * - `startManagementApiServer({ pool, stage?, host?, port? }) -> Promise<ManagementApiServer>`:
 *   a standalone HTTP server doing only that, for unit tests of the Lambda routes:
 *   `{ endpoint, port, close() }`; `endpoint` is what to give the SDK client.
 * - `createRecordingPool(ids?) -> RecordingPool`: an in-memory pool that records every
 *   post (`sent`) and delete (`closed`); `add(id)` / `remove(id)` make ids live or gone.
 * - `MAX_POST_BYTES` (128 KB, API Gateway's message payload quota).
 *
 * Behaviour (matching API Gateway):
 * - POST: sends the request body to the connection as one text message -> 200, empty body.
 * - GET: -> 200 `{ "connectedAt": ISO, "lastActiveAt": ISO, "identity": { "sourceIp", "userAgent" } }`.
 * - DELETE: closes the connection (no close code can be chosen) -> 204.
 * - Unknown or closed id -> 410, header `x-amzn-errortype: GoneException`, body `{"message": ...}`.
 * - POST body over 128 KB -> 413, header `x-amzn-errortype: PayloadTooLargeException`.
 * - Request without a SigV4 `Authorization` header -> 403 `ForbiddenException` ("Missing
 *   Authentication Token"), like an unsigned call to AWS. The signature itself is NOT verified.
 * - Any other method, or a path with no id -> 403 `ForbiddenException`, as API Gateway answers
 *   requests for resources it does not have.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_MESSAGE_BYTES } from './gateway/quotas';

/** API Gateway's message payload quota, which also bounds `PostToConnection` data. */
export const MAX_POST_BYTES = MAX_MESSAGE_BYTES;

export interface ConnectionDescription {
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  /** Epoch milliseconds. */
  readonly lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent?: string;
}

export interface ManagementPool {
  /** The live connection's description, or undefined when the id is unknown or closed. */
  describe(connectionId: string): ConnectionDescription | undefined;
  /** Sends `data` as one text message; false when the connection is unknown or closed. */
  send(connectionId: string, data: Buffer): boolean;
  /** Starts closing the connection; false when it is unknown or already closed. */
  close(connectionId: string): boolean;
}

/** An IAM check's refusal: the whole answer, as API Gateway gives it (403 with its error type). */
export interface ManagementRefusal {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The call a request makes, for an IAM check: `execute-api:ManageConnections` on this ARN tail. */
export interface ManagementCall {
  /** The stage name as the template declares it (an alias in the path is mapped back to it). */
  readonly stage: string;
  readonly method: string;
  readonly connectionId: string;
}

export interface ManagementApiOptions {
  /** @default 'local' */
  readonly stage?: string;
  /** Other path prefixes served as the same stage (e.g. the template's stage name under --stage). */
  readonly stageAliases?: readonly string[];
  /** The stage name reported to `authorize` (the template's). @default stage */
  readonly policyStage?: string;
  /** Reject requests without a SigV4 `Authorization` header (403). @default true */
  readonly requireSignature?: boolean;
  /** An IAM check run before the call; resolves undefined to allow. @default none (all allowed) */
  readonly authorize?: (req: IncomingMessage, call: ManagementCall) => Promise<ManagementRefusal | undefined>;
}

const JSON_TYPE = 'application/json';

function reply(res: ServerResponse, status: number, body?: unknown, errorType?: string): void {
  const headers: Record<string, string> = { 'x-amzn-requestid': randomUUID() };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  if (body === undefined) {
    res.writeHead(status, { ...headers, 'content-length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': JSON_TYPE,
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function gone(res: ServerResponse, connectionId: string): void {
  reply(res, 410, { message: `Connection ${connectionId} is gone` }, 'GoneException');
}

function forbidden(res: ServerResponse, message: string): void {
  reply(res, 403, { message }, 'ForbiddenException');
}

/** Reads the body up to `limit` bytes; beyond it, drains the rest and resolves `null`. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parsePath(url: string | undefined, stage: string): { connectionId: string | null } | null {
  const path = (url ?? '/').split('?')[0] ?? '/';
  const prefix = `/${stage}/@connections`;
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return null;
  const rest = path.slice(prefix.length + 1);
  if (rest === '' || rest.includes('/')) return { connectionId: null };
  try {
    return { connectionId: decodeURIComponent(rest) };
  } catch {
    return { connectionId: null };
  }
}

/**
 * Handles the request if it is addressed to `/<stage>/@connections...`; returns false (and does
 * nothing) otherwise.
 */
export function handleManagementRequest(
  req: IncomingMessage,
  res: ServerResponse,
  pool: ManagementPool,
  options: ManagementApiOptions = {},
): boolean {
  const stage = options.stage ?? 'local';
  let target = parsePath(req.url, stage);
  for (const alias of options.stageAliases ?? []) target ??= parsePath(req.url, alias);
  if (target === null) return false;
  const policyStage = options.policyStage ?? stage;
  void serve(req, res, pool, target.connectionId, options.requireSignature ?? true, (call) =>
    options.authorize ? options.authorize(req, { ...call, stage: policyStage }) : Promise.resolve(undefined),
  ).catch(() => {
    if (!res.headersSent)
      reply(res, 500, { message: 'Internal server error' }, 'InternalServerErrorException');
    else res.destroy();
  });
  return true;
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  pool: ManagementPool,
  connectionId: string | null,
  requireSignature: boolean,
  authorize: (call: ManagementCall) => Promise<ManagementRefusal | undefined>,
): Promise<void> {
  const refused = async (method: string, id: string): Promise<boolean> => {
    const refusal = await authorize({ stage: '', method, connectionId: id });
    if (refusal) {
      res.writeHead(refusal.status, {
        ...refusal.headers,
        'content-length': String(Buffer.byteLength(refusal.body)),
      });
      res.end(refusal.body);
    }
    return refusal !== undefined;
  };
  const authorization = req.headers.authorization ?? '';
  const method = req.method ?? 'GET';
  if (method === 'POST') {
    // Read (or drain) the body first so the client never sees a reset mid-upload.
    const body = await readBody(req, MAX_POST_BYTES);
    if (requireSignature && !authorization.startsWith('AWS4-HMAC-SHA256')) {
      forbidden(res, 'Missing Authentication Token');
      return;
    }
    if (connectionId === null) {
      forbidden(res, 'Missing Authentication Token');
      return;
    }
    if (await refused(method, connectionId)) return;
    if (body === null) {
      reply(
        res,
        413,
        { message: `Message payload exceeds the limit of ${MAX_POST_BYTES} bytes` },
        'PayloadTooLargeException',
      );
      return;
    }
    if (!pool.send(connectionId, body)) gone(res, connectionId);
    else reply(res, 200);
    return;
  }
  req.resume();
  if (requireSignature && !authorization.startsWith('AWS4-HMAC-SHA256')) {
    forbidden(res, 'Missing Authentication Token');
    return;
  }
  if (connectionId === null || (method !== 'GET' && method !== 'DELETE')) {
    forbidden(res, 'Missing Authentication Token');
    return;
  }
  if (await refused(method, connectionId)) return;
  if (method === 'GET') {
    const info = pool.describe(connectionId);
    if (!info) {
      gone(res, connectionId);
      return;
    }
    reply(res, 200, {
      connectedAt: new Date(info.connectedAt).toISOString(),
      lastActiveAt: new Date(info.lastActiveAt).toISOString(),
      identity: {
        sourceIp: info.sourceIp,
        ...(info.userAgent !== undefined ? { userAgent: info.userAgent } : {}),
      },
    });
    return;
  }
  if (!pool.close(connectionId)) gone(res, connectionId);
  else reply(res, 204);
}

export interface ManagementApiServer {
  /** Give this to `new ApiGatewayManagementApiClient({ endpoint })`. */
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A standalone management API on a loopback port (port 0 = random), for unit tests. */
export async function startManagementApiServer(options: {
  pool: ManagementPool;
  stage?: string;
  host?: string;
  port?: number;
  requireSignature?: boolean;
}): Promise<ManagementApiServer> {
  const stage = options.stage ?? 'local';
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const handled = handleManagementRequest(req, res, options.pool, {
      stage,
      ...(options.requireSignature !== undefined ? { requireSignature: options.requireSignature } : {}),
    });
    if (!handled) {
      req.resume();
      reply(res, 404, { message: 'Not Found' });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}/${stage}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export interface RecordingPool extends ManagementPool {
  /** Every successful post, in order, with the data decoded as UTF-8. */
  readonly sent: { connectionId: string; data: string }[];
  /** Every id closed by DELETE, in order. */
  readonly closed: string[];
  /** Makes an id live (optionally with its description). */
  add(connectionId: string, description?: Partial<ConnectionDescription>): void;
  /** Makes an id gone (410 from then on). */
  remove(connectionId: string): void;
  /** The posts to one connection, each parsed as JSON. */
  framesFor(connectionId: string): unknown[];
}

/** An in-memory pool for tests: ids passed here (or to `add`) are live; DELETE makes them gone. */
export function createRecordingPool(liveIds: Iterable<string> = []): RecordingPool {
  const live = new Map<string, ConnectionDescription>();
  const sent: { connectionId: string; data: string }[] = [];
  const closed: string[] = [];
  const add = (connectionId: string, description: Partial<ConnectionDescription> = {}): void => {
    const now = Date.now();
    live.set(connectionId, {
      connectedAt: now,
      lastActiveAt: now,
      sourceIp: '127.0.0.1',
      userAgent: 'recording-pool',
      ...description,
    });
  };
  for (const id of liveIds) add(id);
  return {
    sent,
    closed,
    add,
    remove: (connectionId) => {
      live.delete(connectionId);
    },
    describe: (connectionId) => live.get(connectionId),
    send: (connectionId, data) => {
      if (!live.has(connectionId)) return false;
      sent.push({ connectionId, data: data.toString('utf8') });
      return true;
    },
    close: (connectionId) => {
      if (!live.delete(connectionId)) return false;
      closed.push(connectionId);
      return true;
    },
    framesFor: (connectionId) =>
      sent.filter((s) => s.connectionId === connectionId).map((s) => JSON.parse(s.data) as unknown),
  };
}
