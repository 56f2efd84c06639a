/** $default: frames that matched no route, either not JSON or with an unknown action. */
import { echoableRequestId, parseJsonObject } from './client-frames';
import type { Outbound } from './outbound';

export async function unrouted(
  outbound: Outbound,
  connectionId: string,
  body: string | undefined,
): Promise<void> {
  const json = parseJsonObject(body);
  if (!json.ok) {
    await outbound.send(connectionId, outbound.error(json.code, json.message, json.requestId));
    return;
  }
  const action = json.value.action;
  const message =
    action === undefined
      ? 'action is required: one of auth, message'
      : `unknown action ${JSON.stringify(action).slice(0, 80)}: use auth or message`;
  await outbound.send(connectionId, outbound.error('unknown_action', message, echoableRequestId(json.value)));
}
