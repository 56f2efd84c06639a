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

function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * An error in the caller's own protocol, for requests that carry no `x-amz-target` (REST and query
 * protocols): S3's XML `<Error>`, the query protocol's `<ErrorResponse>` (SNS, STS, CloudWatch:
 * form-encoded requests), else JSON with `x-amzn-errortype` (REST JSON: Lambda, EventBridge
 * Scheduler...). An error the SDK cannot parse surfaces as a deserialization failure that hides
 * the message.
 */
export function replyErrorInProtocol(
  res: ServerResponse,
  request: { readonly service: string | null; readonly contentType: string | undefined },
  status: number,
  code: string,
  message: string,
): void {
  const requestId = randomUUID();
  const formEncoded = (request.contentType ?? '').startsWith('application/x-www-form-urlencoded');
  if (request.service === 's3' || formEncoded) {
    const error = `<Code>${xmlText(code)}</Code><Message>${xmlText(message)}</Message>`;
    const text =
      request.service === 's3'
        ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${error}<RequestId>${requestId}</RequestId></Error>`
        : `<ErrorResponse><Error><Type>Sender</Type>${error}</Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    res.writeHead(status, {
      'content-type': 'text/xml',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': requestId,
    });
    res.end(text);
    return;
  }
  const text = JSON.stringify({ __type: code, message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': code,
    'x-amzn-requestid': requestId,
  });
  res.end(text);
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
