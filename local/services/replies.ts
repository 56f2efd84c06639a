/** Answers in the shapes of AWS's JSON protocols (awsJson1_0 for DynamoDB, awsJson1_1 for the others). */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What an in-memory service answers: a body for 200, or an error for 400. */
export type ServiceAnswer =
  | { readonly kind: 'ok'; readonly body: unknown }
  | { readonly kind: 'error'; readonly type: string; readonly message: string };

export type JsonProtocol = 'application/x-amz-json-1.0' | 'application/x-amz-json-1.1';

export function replyJson(res: ServerResponse, status: number, contentType: string, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

/**
 * An error as the service sends it: `__type` (DynamoDB qualifies it, e.g.
 * `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException`; the SDK keeps the part after `#`)
 * and the message under the key the service uses.
 */
export function replyError(
  res: ServerResponse,
  protocol: JsonProtocol,
  status: number,
  type: string,
  message: string,
  messageKey: 'message' | 'Message' = 'message',
): void {
  replyJson(res, status, protocol, { __type: type, [messageKey]: message });
}

/** The request body, or null when it exceeds `limit` bytes (the rest is drained). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(size > limit ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}

/** Parses a JSON object body; anything else is null. */
export function parseObject(body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
