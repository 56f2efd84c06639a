/**
 * An HTTP_PROXY integration run by the gateway, as API Gateway runs one for a WebSocket route:
 *
 * - the message body goes as is to the integration's URI, with its `IntegrationMethod`;
 * - `RequestParameters` add request headers, query parameters and path parameters (`{name}` in the
 *   URI) from the request's context (`context.connectionId`, `context.authorizer.x`, ...), its
 *   headers and query string (present on `$connect` only), a field of its JSON body
 *   (`route.request.body.a.b`), or a literal (`'text'`); a source with no value adds nothing;
 * - the backend's status code and body come back as the integration's result: the body is sent to
 *   the caller on two-way routes only, and on `$connect` the status code accepts or refuses the
 *   upgrade;
 * - `TimeoutInMillis` (default 29 s) bounds the call; a backend that cannot be reached or answers
 *   too late fails the integration (`Internal server error`).
 * HTTP (non-proxy) integrations, with mapping templates, are not run.
 */
import type { WebSocketEvent } from '../events';

export interface HttpProxySpec {
  readonly logicalId: string;
  readonly uri: string;
  /** @default 'POST' */
  readonly method: string;
  /** Destination (`integration.request.header.x`, `.querystring.x`, `.path.x`) -> source. */
  readonly requestParameters: Readonly<Record<string, string>>;
  /** @default 29000 */
  readonly timeoutMs: number;
}

export interface HttpProxyResult {
  readonly statusCode: number;
  readonly body: string;
}

export class HttpIntegrationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HttpIntegrationError';
  }
}

function caseInsensitive(record: Readonly<Record<string, string | undefined>> | undefined, name: string) {
  if (!record) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(record)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function fieldOf(document: unknown, path: readonly string[]): unknown {
  let value = document;
  for (const field of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, field)) return undefined;
    value = (value as Record<string, unknown>)[field];
  }
  return value;
}

/** The value a `RequestParameters` source names for this event, or undefined when it has none. */
export function parameterSource(source: string, event: WebSocketEvent): string | undefined {
  const literal = /^'(.*)'$/s.exec(source);
  if (literal) return literal[1];
  const scalar = (value: unknown) =>
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : undefined;
  if (source.startsWith('context.')) {
    return scalar(fieldOf(event.requestContext, source.slice('context.'.length).split('.')));
  }
  if (source.startsWith('route.request.header.')) {
    return caseInsensitive(event.headers, source.slice('route.request.header.'.length));
  }
  if (source.startsWith('route.request.querystring.')) {
    return event.queryStringParameters?.[source.slice('route.request.querystring.'.length)] ?? undefined;
  }
  if (source.startsWith('route.request.body.')) {
    try {
      const value = fieldOf(
        JSON.parse(event.body ?? ''),
        source.slice('route.request.body.'.length).split('.'),
      );
      return scalar(value) ?? (value === undefined ? undefined : JSON.stringify(value));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Runs the integration for one event; throws HttpIntegrationError where API Gateway fails it. */
export async function runHttpProxyIntegration(
  spec: HttpProxySpec,
  event: WebSocketEvent,
): Promise<HttpProxyResult> {
  const headers = new Headers();
  const query: [string, string][] = [];
  let uri = spec.uri;
  for (const [destination, source] of Object.entries(spec.requestParameters)) {
    const value = parameterSource(source, event);
    if (value === undefined) continue;
    const [, kind, name] = /^integration\.request\.(header|querystring|path)\.(.+)$/.exec(destination) ?? [];
    if (name === undefined) continue;
    if (kind === 'header') headers.set(name, value);
    else if (kind === 'querystring') query.push([name, value]);
    else uri = uri.replaceAll(`{${name}}`, encodeURIComponent(value));
  }
  const url = new URL(uri);
  for (const [name, value] of query) url.searchParams.append(name, value);
  const method = spec.method.toUpperCase();
  const sendsBody = method !== 'GET' && method !== 'HEAD' && event.body !== undefined;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      ...(sendsBody ? { body: event.body } : {}),
      signal: AbortSignal.timeout(spec.timeoutMs),
    });
  } catch (error) {
    throw new HttpIntegrationError(
      `${method} ${url.origin}${url.pathname} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return { statusCode: response.status, body: await response.text() };
}
