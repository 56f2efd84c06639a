/**
 * The `message` route: resolve the connection to its key, validate the frame, and dispatch by
 * type. Counting the frame against the budget returns the connection: one request. Replies that
 * change what a proctor sees (an attempt started, an answer stored, an attempt finished) are
 * also published to the test's proctors, beside the reply.
 */

import { type ServerFrame, TOKEN_CLOCK_LEEWAY_SECONDS } from '../../protocol';
import { type AssessmentService, type Caller, ReplacedConnectionError } from './assessment-service';
import { echoableRequestId, type MessageFrame, parseJsonObject, parseMessageFrame } from './client-frames';
import type { CoreDeps } from './deps';
import type { Outbound, SenderReply } from './outbound';
import { type ProctorFeed, PUBLISHING_TYPES } from './proctor';

/** One union member per `type`, so that each check on `type` below removes the case it handled. */
type OneMemberPerType<F> = F extends { type: infer T }
  ? T extends unknown
    ? Omit<F, 'type'> & { type: T }
    : never
  : never;
type Message = OneMemberPerType<MessageFrame>;
/** The types answered from the connection alone, before any test or attempt is read. */
type ConnectionOnlyType = 'heartbeat' | 'proctor_subscribe' | 'proctor_unsubscribe';
type AttemptMessage = Exclude<Message, { type: ConnectionOnlyType }>;

interface Watched {
  testId: string;
  userId: string;
  subscribers?: Promise<string[]>;
}

export async function handleMessage(
  deps: CoreDeps,
  outbound: Outbound,
  lifecycle: AssessmentService,
  feed: ProctorFeed,
  reply: SenderReply,
  body: string | undefined,
): Promise<void> {
  let watched: Watched | undefined;
  const frames = await framesFor(deps, outbound, lifecycle, feed, reply, body, (w) => {
    watched = w;
  });
  await Promise.all([
    frames.length > 0 ? reply.send(...frames) : undefined,
    watched ? feed.afterReply(watched.testId, watched.userId, frames, watched.subscribers) : undefined,
  ]);
}

async function framesFor(
  deps: CoreDeps,
  outbound: Outbound,
  lifecycle: AssessmentService,
  feed: ProctorFeed,
  reply: SenderReply,
  body: string | undefined,
  /** Called once the frame is known to concern an attempt, so its reply can reach proctors. */
  watch: (attempt: Watched) => void,
): Promise<ServerFrame[]> {
  const json = parseJsonObject(body);
  if (!json.ok) return [outbound.error(json.code, json.message, json.requestId)];
  const echo = echoableRequestId(json.value);

  const now = deps.clock.now();
  const { connection, withinBudget } = await deps.connections.admitFrame(reply.connectionId, now);
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
  const message: Message = parsed.value;
  const requestId = message.requestId;

  if (message.type === 'heartbeat') {
    return [outbound.frame('pong', { server_time: new Date(deps.clock.now()).toISOString() }, requestId)];
  }
  if (message.type === 'proctor_subscribe') return feed.subscribe(connection, message.testId, requestId);
  if (message.type === 'proctor_unsubscribe') return feed.unsubscribe(connection, message.testId, requestId);
  if (connection.testId === null) {
    return [
      outbound.error('no_test_selected', 'this is a general connection; connect with test_id', requestId),
    ];
  }
  const test = await deps.tests.get(connection.testId);
  if (!test) return [outbound.error('test_not_found', `test ${connection.testId} does not exist`, requestId)];

  // Who watches the test is read beside the attempt's own write: no extra round trip.
  const attempt: Watched = {
    testId: connection.testId,
    userId: connection.auth.userId,
    ...(PUBLISHING_TYPES.has(message.type) ? { subscribers: feed.prefetch(connection.testId) } : {}),
  };
  watch(attempt);
  const caller: Caller = {
    userId: connection.auth.userId,
    test,
    epoch: connection.auth.epoch,
    ...(requestId ? { requestId } : {}),
    // Frames sent before a slow step (the AI service's turn) leave at once, not with the route response.
    reply: async (frames) => {
      const [sent] = await Promise.all([
        reply.sendNow(...frames),
        feed.afterReply(attempt.testId, attempt.userId, frames, attempt.subscribers),
      ]);
      return sent;
    },
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
  message: AttemptMessage,
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
    default: {
      // A message type added to the protocol without a case here fails to compile.
      const unhandled: never = message;
      return unhandled;
    }
  }
}
