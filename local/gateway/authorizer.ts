/**
 * A REQUEST Lambda authorizer on `$connect`, run as API Gateway runs it for WebSocket APIs:
 * - every identity source (`route.request.header.<Name>`, `route.request.querystring.<name>`)
 *   must be present and non-empty, else the upgrade fails with 401 and the function is not called;
 * - the function gets a REQUEST authorizer event (`type`, `methodArn`, headers, query, the CONNECT
 *   requestContext) and returns `{ principalId, policyDocument, context? }`;
 * - a policy that allows `execute-api:Invoke` on the method ARN (and denies nothing that matches)
 *   lets the connection through; otherwise 403. A function that fails with the message
 *   `Unauthorized` gives 401; any other failure, or a result without a policy, 500;
 * - `context` values reach the route events as `requestContext.authorizer`, stringified as API
 *   Gateway passes them on (`3` arrives as `"3"`, `true` as `"true"`), with `principalId`; a
 *   context value that is an object or an array fails the connection with 500, as API Gateway's
 *   AuthorizerConfigurationException does.
 * Results are not cached (WebSocket authorizers have no cache).
 */

import type { WebSocketEvent } from '../events';
import type { InvokeResult } from '../runtime/contract';

export interface ConnectAuthorizer {
  readonly name: string;
  readonly identitySources: readonly string[];
  invoke(event: unknown): Promise<InvokeResult>;
}

export type AuthorizerDecision =
  | { readonly allowed: true; readonly authorizer: Record<string, unknown> }
  | { readonly allowed: false; readonly status: 401 | 403 | 500; readonly reason: string };

/** The identity source values, or the first one that is missing. */
function identityValues(
  sources: readonly string[],
  event: WebSocketEvent,
): { ok: true } | { ok: false; missing: string } {
  for (const source of sources) {
    const header = /^route\.request\.header\.(.+)$/i.exec(source)?.[1];
    const query = /^route\.request\.querystring\.(.+)$/i.exec(source)?.[1];
    let value: string | undefined;
    if (header !== undefined) {
      const wanted = header.toLowerCase();
      value = Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === wanted)?.[1];
    } else if (query !== undefined) {
      value = event.queryStringParameters?.[query];
    } else {
      // Context and stage variables are always present locally (there are none to miss).
      continue;
    }
    if (value === undefined || value === '') return { ok: false, missing: source };
  }
  return { ok: true };
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

function matchesAny(patterns: unknown, value: string): boolean {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  return list.some((p) => typeof p === 'string' && globToRegExp(p).test(value));
}

/** Allow wins only when some statement allows Invoke on the ARN and none denies it. */
export function policyAllows(policy: unknown, methodArn: string): boolean {
  const statements = (policy as { Statement?: unknown } | undefined)?.Statement;
  const list = (Array.isArray(statements) ? statements : [statements]).filter(
    (s): s is Record<string, unknown> => typeof s === 'object' && s !== null,
  );
  const applies = (s: Record<string, unknown>) =>
    matchesAny(s.Action, 'execute-api:Invoke') && matchesAny(s.Resource, methodArn);
  if (list.some((s) => s.Effect === 'Deny' && applies(s))) return false;
  return list.some((s) => s.Effect === 'Allow' && applies(s));
}

export async function runConnectAuthorizer(
  authorizer: ConnectAuthorizer,
  connectEvent: WebSocketEvent,
  methodArn: string,
): Promise<AuthorizerDecision> {
  const present = identityValues(authorizer.identitySources, connectEvent);
  if (!present.ok) {
    return { allowed: false, status: 401, reason: `identity source ${present.missing} is missing` };
  }
  const { requestContext, ...request } = connectEvent;
  const result = await authorizer.invoke({
    type: 'REQUEST',
    methodArn,
    ...request,
    stageVariables: {},
    requestContext,
  });
  if (!result.ok) {
    if (result.errorMessage === 'Unauthorized')
      return { allowed: false, status: 401, reason: 'Unauthorized' };
    return { allowed: false, status: 500, reason: `${result.errorType}: ${result.errorMessage}` };
  }
  const value = result.value as { principalId?: unknown; policyDocument?: unknown; context?: unknown } | null;
  if (!value || typeof value !== 'object' || !value.policyDocument) {
    return { allowed: false, status: 500, reason: 'the authorizer returned no policyDocument' };
  }
  if (!policyAllows(value.policyDocument, methodArn)) {
    return {
      allowed: false,
      status: 403,
      reason: `the policy does not allow execute-api:Invoke on ${methodArn}`,
    };
  }
  const context: Record<string, string> = {};
  if (value.context && typeof value.context === 'object') {
    for (const [key, item] of Object.entries(value.context)) {
      if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
        context[key] = String(item);
      } else if (typeof item === 'object' && item !== null) {
        // Works locally if kept, fails every connection once deployed: refuse it here too.
        return {
          allowed: false,
          status: 500,
          reason: `context.${key} is an ${Array.isArray(item) ? 'array' : 'object'}; authorizer context values must be strings, numbers or booleans`,
        };
      }
    }
  }
  return {
    allowed: true,
    authorizer: { ...context, principalId: typeof value.principalId === 'string' ? value.principalId : '' },
  };
}
