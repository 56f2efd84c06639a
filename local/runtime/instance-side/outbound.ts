/**
 * Leads the function's outbound HTTPS for chosen hosts to local plain-HTTP servers. Handlers that
 * build `https://${domainName}/${stage}` for @connections set the endpoint in code, which beats
 * every environment setting, so the request has to be redirected where it is made. The request's
 * method, path and headers are kept; the Host header still names the host the handler asked for.
 * Covers `https.request`/`https.get` (what the AWS SDK uses) and global `fetch` (which cannot send
 * a Host header, so it gets `x-forwarded-host` instead). A `signedOnly` route takes only requests
 * carrying a Signature Version 4 (or 4a) `Authorization` header.
 */
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { URL, urlToHttpOptions } from 'node:url';
import type { OutboundRouteSpec } from '../protocol';

type RequestArgs = Parameters<typeof https.request>;

export function hostMatcher(
  routes: readonly OutboundRouteSpec[],
): (hostname: string, signed?: boolean) => URL | undefined {
  const compiled = routes.map((route) => ({
    host: route.host.toLowerCase(),
    wildcard: route.host.startsWith('*.'),
    target: new URL(route.target),
    signedOnly: route.signedOnly === true,
  }));
  return (hostname, signed = false) => {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    for (const route of compiled) {
      if (route.signedOnly && !signed) continue;
      if (route.wildcard ? name.endsWith(route.host.slice(1)) : name === route.host) return route.target;
    }
    return undefined;
  };
}

/**
 * SigV4, and SigV4a (S3 Multi-Region Access Points, EventBridge global endpoints): both name the
 * signing access key, so either must stay on the machine.
 */
const SIGNATURE_SCHEMES = ['AWS4-HMAC-SHA256 ', 'AWS4-ECDSA-P256-SHA256 '];

function signedWithSigV4(headers: Iterable<[string, unknown]>): boolean {
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'authorization') continue;
    const text = Array.isArray(value) ? String(value[0] ?? '') : String(value ?? '');
    if (SIGNATURE_SCHEMES.some((scheme) => text.startsWith(scheme))) return true;
  }
  return false;
}

export function routeOutbound(routes: readonly OutboundRouteSpec[]): void {
  if (routes.length === 0) return;
  const targetFor = hostMatcher(routes);
  const agent = new http.Agent({ keepAlive: true });
  const originalRequest = https.request;

  const routedRequest = ((...args: RequestArgs) => {
    const { options, callback } = normalize(args);
    const hostname = String(options.hostname ?? options.host ?? 'localhost').replace(/:\d+$/, '');
    const target = targetFor(hostname, signedWithSigV4(Object.entries(options.headers ?? {})));
    if (!target) return (originalRequest as (...a: RequestArgs) => http.ClientRequest)(...args);
    const port = Number(options.port ?? 443);
    const headers = { ...(options.headers as http.OutgoingHttpHeaders | undefined) };
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'host')) {
      headers.host = port === 443 ? hostname : `${hostname}:${port}`;
    }
    const rewritten: http.RequestOptions = {
      ...options,
      protocol: 'http:',
      host: target.hostname,
      hostname: target.hostname,
      port: Number(target.port || 80),
      headers,
      agent: options.agent === false ? false : agent,
    };
    delete (rewritten as { servername?: unknown }).servername;
    delete (rewritten as { createConnection?: unknown }).createConnection;
    return callback ? http.request(rewritten, callback) : http.request(rewritten);
  }) as typeof https.request;

  https.request = routedRequest;
  https.get = ((...args: RequestArgs) => {
    const request = routedRequest(...args);
    request.end();
    return request;
  }) as typeof https.get;
  syncBuiltinESMExports();

  const originalFetch = globalThis.fetch;
  if (typeof originalFetch === 'function') {
    globalThis.fetch = (input, init) => {
      const original = new URL(input instanceof Request ? input.url : String(input));
      const signed = signedWithSigV4(
        new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).entries(),
      );
      const target = original.protocol === 'https:' ? targetFor(original.hostname, signed) : undefined;
      if (!target) return originalFetch(input, init);
      const routed = new URL(original.href);
      routed.protocol = 'http:';
      routed.hostname = target.hostname;
      routed.port = target.port;
      const request = new Request(routed, input instanceof Request ? input : undefined);
      const headers = new Headers(init?.headers ?? request.headers);
      headers.set('x-forwarded-host', original.host);
      return originalFetch(request, { ...init, headers });
    };
  }
}

function normalize(args: RequestArgs): {
  options: https.RequestOptions;
  callback: ((response: http.IncomingMessage) => void) | undefined;
} {
  const [first, second, third] = args as unknown[];
  let options: https.RequestOptions = {};
  let callback: ((response: http.IncomingMessage) => void) | undefined;
  if (typeof first === 'string' || first instanceof URL) {
    options = urlToHttpOptions(new URL(String(first))) as https.RequestOptions;
    if (typeof second === 'function') callback = second as typeof callback;
    else {
      options = { ...options, ...(second as https.RequestOptions | undefined) };
      callback = third as typeof callback;
    }
  } else {
    options = { ...(first as https.RequestOptions) };
    callback = second as typeof callback;
  }
  return { options, callback };
}
