/**
 * The `message` route: resolve the connection to its key, validate the frame, and dispatch by
 * type. Counting the frame against the budget returns the connection: one request.
 */

import { type ServerFrame, TOKEN_CLOCK_LEEWAY_SECONDS } from '../../protocol';
import { type AssessmentService, type Caller, ReplacedConnectionError } from './assessment-service';
import { echoableRequestId, type MessageFrame, parseJsonObject, parseMessageFrame } from './client-frames';
import type { CoreDeps } from './deps';
import type { Outbound } from './outbound';

export async function handleMessage(
  deps: CoreDeps,
  outbound: Outbound,
  lifecycle: AssessmentService,
  connectionId: string,
  body: string | undefined,
): Promise<void> {
  const frames = await framesFor(deps, outbound, lifecycle, connectionId, body);
  if (frames.length > 0) await outbound.send(connectionId, ...frames);
}

async function framesFor(
  deps: CoreDeps,
  outbound: Outbound,
  lifecycle: AssessmentService,
  connectionId: string,
  body: string | undefined,
): Promise<ServerFrame[]> {
  const json = parseJsonObject(body);
  if (!json.ok) return [outbound.error(json.code, json.message, json.requestId)];
  const echo = echoableRequestId(json.value);

  const now = deps.clock.now();
  const { connection, withinBudget } = await deps.connections.admitFrame(connectionId, now);
  if (!connection?.auth)
    return [outbound.error('not_authenticated', 'send auth with a valid token first', echo)];
  if (connection.auth.tokenExpiresAtMs + TOKEN_CLOCK_LEEWAY_SECONDS * 1000 <= now) {
    return [outbound.error('not_authenticated', 'the token has expired; send auth with a fresh token', echo)];
  }
  if (!withinBudget) {
    deps.telemetry.count('rate_limited');
    return [outbound.error('rate_limited', 'too many frames; slow down', echo)];
  }

  const parsed = parseMessageFrame(json.value);
  if (!parsed.ok) return [outbound.error(parsed.code, parsed.message, echo)];
  const message = parsed.value;
  const requestId = message.requestId;

  if (message.type === 'heartbeat') {
    return [outbound.frame('pong', { server_time: new Date(deps.clock.now()).toISOString() }, requestId)];
  }
  if (connection.testId === null) {
    return [
      outbound.error('no_test_selected', 'this is a general connection; connect with test_id', requestId),
    ];
  }
  const test = await deps.tests.get(connection.testId);
  if (!test) return [outbound.error('test_not_found', `test ${connection.testId} does not exist`, requestId)];

  const caller: Caller = {
    userId: connection.auth.userId,
    test,
    epoch: connection.auth.epoch,
    ...(requestId ? { requestId } : {}),
    reply: (frames) => outbound.send(connectionId, ...frames),
  };
  try {
    return await dispatch(lifecycle, caller, message);
  } catch (error) {
    if (!(error instanceof ReplacedConnectionError)) throw error;
    return [
      outbound.error(
        'not_authenticated',
        'this connection was replaced by a newer one for the same key',
        requestId,
      ),
    ];
  }
}

async function dispatch(
  lifecycle: AssessmentService,
  caller: Caller,
  message: MessageFrame,
): Promise<ServerFrame[]> {
  switch (message.type) {
    case 'get_test_info':
      return lifecycle.testInfo(caller);
    case 'start_assessment':
      return lifecycle.start(caller);
    case 'get_question':
      return lifecycle.currentQuestion(caller);
    case 'submit_answer':
      return lifecycle.submitAnswer(
        { ...caller, requestId: message.requestId },
        message.questionId,
        message.selectedOption,
      );
    case 'get_assessment_status':
      return lifecycle.status(caller);
    case 'complete_assessment':
      return lifecycle.complete(caller);
    case 'heartbeat':
      throw new Error('heartbeat is answered before the assessment is looked up');
  }
}
