/**
 * $default: frames that matched no route, either not JSON or with an unknown action. Anyone who
 * can open a socket reaches this route, so it is rate-limited like the others and never echoes
 * more than a short, flat string of what it was sent.
 */
import { echoableRequestId, parseJsonObject } from './client-frames';
import type { CoreDeps } from './deps';
import type { Outbound, SenderReply } from './outbound';

/** How much of an unknown action is quoted back. */
const MAX_ECHOED_ACTION_CHARS = 80;

export async function unrouted(
  deps: Pick<CoreDeps, 'rateLimiter' | 'clock' | 'telemetry'>,
  outbound: Outbound,
  reply: SenderReply,
  body: string | undefined,
): Promise<void> {
  const json = parseJsonObject(body);
  const requestId = json.ok ? echoableRequestId(json.value) : json.requestId;
  if (!(await deps.rateLimiter.tryConsume(reply.connectionId, deps.clock.now()))) {
    deps.telemetry.count('rate_limited');
    await reply.send(outbound.error('rate_limited', 'too many frames; slow down', requestId));
    return;
  }
  if (!json.ok) {
    await reply.send(outbound.error(json.code, json.message, json.requestId));
    return;
  }
  await reply.send(outbound.error('unknown_action', describeAction(json.value.action), requestId));
}

function describeAction(action: unknown): string {
  if (action === undefined) return 'action is required: one of auth, message';
  if (typeof action !== 'string')
    return `action must be a string (got ${describeType(action)}): use auth or message`;
  const quoted = JSON.stringify(action.slice(0, MAX_ECHOED_ACTION_CHARS));
  return `unknown action ${quoted}${action.length > MAX_ECHOED_ACTION_CHARS ? ' (truncated)' : ''}: use auth or message`;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
