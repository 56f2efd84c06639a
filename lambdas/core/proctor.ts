/**
 * The proctor view (protocol extension, docs/protocol.md): a staff token subscribes a general
 * connection to a test, gets a snapshot of every student, then live events. Students never get
 * these frames: only connections whose verified token names the test as a proctor's can subscribe,
 * and events go only to subscribed connections.
 */
import {
  isValidTestId,
  type ProctorEventData,
  type ProctorEventType,
  type ProctorStudent,
  type ServerFrame,
} from '../../protocol';
import type { CoreDeps } from './deps';
import type { Outbound } from './outbound';
import type { ConnectionRecord } from './ports';
import { loadRoster } from './roster';

/** Which claims make a token a proctor's (deployment settings; lambdas/config.ts). */
export interface ProctorClaims {
  /** The claim naming the role, e.g. `role`: a string, or an array of strings. */
  claim: string;
  /** The role value that makes a proctor, e.g. `proctor`. */
  role: string;
  /** The claim listing the test ids the proctor may watch, e.g. `proctor_tests`. */
  testsClaim: string;
}

export const DEFAULT_PROCTOR_CLAIMS: ProctorClaims = {
  claim: 'role',
  role: 'proctor',
  testsClaim: 'proctor_tests',
};

/**
 * The tests a verified token may watch as a proctor; undefined for every token without the
 * proctor role (student tokens). Entries that are not valid test ids are ignored.
 */
export function proctorTestsOf(
  payload: Record<string, unknown>,
  claims: ProctorClaims,
): string[] | undefined {
  const role = payload[claims.claim];
  const isProctor = role === claims.role || (Array.isArray(role) && role.includes(claims.role));
  if (!isProctor) return undefined;
  const tests = payload[claims.testsClaim];
  const listed = Array.isArray(tests) ? tests : typeof tests === 'string' ? [tests] : [];
  return [...new Set(listed.filter((t): t is string => typeof t === 'string' && isValidTestId(t)))];
}

/** Replies that change what a proctor sees. */
const PUBLISHED_REPLIES = new Set(['assessment_started', 'answer_feedback', 'assessment_completed']);

/** Message types whose reply may be published: the routes read the subscribers beside their work. */
export const PUBLISHING_TYPES: ReadonlySet<string> = new Set([
  'start_assessment',
  'submit_answer',
  'complete_assessment',
]);

/** A subscription ends with the proctor's token, and at the latest with API Gateway's 2 h limit. */
const MAX_SUBSCRIPTION_MS = 2 * 60 * 60 * 1000;

type Deps = Pick<
  CoreDeps,
  'connections' | 'assessments' | 'tests' | 'subscriptions' | 'notifier' | 'clock' | 'telemetry'
>;

export class ProctorFeed {
  constructor(
    private readonly deps: Deps,
    private readonly outbound: Pick<Outbound, 'frame' | 'error'>,
  ) {}

  /** `proctor_subscribe`: checks the connection's rights, stores the subscription, returns the snapshot. */
  async subscribe(
    connection: ConnectionRecord,
    testId: string,
    requestId: string | undefined,
  ): Promise<ServerFrame[]> {
    const forbidden = (message: string) => {
      this.deps.telemetry.count('proctor_forbidden');
      return [this.outbound.error('forbidden', message, requestId)];
    };
    const auth = connection.auth;
    if (!auth?.proctorTests) return forbidden('this token is not a proctor token');
    if (connection.testId !== null)
      return forbidden('proctors subscribe from a general connection (no test_id)');
    if (!auth.proctorTests.includes(testId))
      return forbidden(`this proctor token does not cover test ${testId}`);
    const now = this.deps.clock.now();
    const test = await this.deps.tests.get(testId);
    if (!test) return [this.outbound.error('test_not_found', `test ${testId} does not exist`, requestId)];
    const untilMs = Math.min(auth.tokenExpiresAtMs, connection.connectedAtMs + MAX_SUBSCRIPTION_MS);
    // Subscribed first, read second: an event between the two is either in the snapshot or sent.
    await this.deps.subscriptions.subscribe(testId, connection.connectionId, untilMs, now);
    const [roster, current] = await Promise.all([
      loadRoster(this.deps, testId, this.deps.clock.now()),
      this.deps.connections.get(connection.connectionId),
    ]);
    // A token refresh that no longer lists the test ends its subscriptions, but it may have done so
    // between the check above and the write: the record read after the write says whether it stands.
    if (current?.auth?.userId !== auth.userId || !current.auth.proctorTests?.includes(testId)) {
      await this.deps.subscriptions.unsubscribe(testId, connection.connectionId);
      return forbidden(`this proctor token does not cover test ${testId}`);
    }
    if (!roster) return [this.outbound.error('test_not_found', `test ${testId} does not exist`, requestId)];
    this.deps.telemetry.count('proctor_subscribed');
    return [
      this.outbound.frame(
        'proctor_snapshot',
        {
          test_id: roster.test_id,
          title: roster.title,
          duration_seconds: roster.duration_seconds,
          total_questions: roster.total_questions,
          server_time: new Date(now).toISOString(),
          students: roster.students,
        },
        requestId,
      ),
    ];
  }

  async unsubscribe(connection: ConnectionRecord, testId: string, requestId: string | undefined) {
    await this.deps.subscriptions.unsubscribe(testId, connection.connectionId);
    return [this.outbound.frame('proctor_unsubscribed', { test_id: testId }, requestId)];
  }

  /**
   * Sends one event to every subscriber of the test. Never throws: a student's request must not
   * fail because a proctor's connection did. A subscriber that is gone (410) is unsubscribed.
   */
  async publish(
    testId: string,
    event: ProctorEventType,
    student: Partial<ProctorStudent> & { user_id: string },
    subscribers: Promise<string[]> = this.prefetch(testId),
  ): Promise<void> {
    try {
      const now = this.deps.clock.now();
      const watching = await subscribers;
      if (watching.length === 0) return;
      const data: ProctorEventData = { test_id: testId, event, at: new Date(now).toISOString(), student };
      const frame = this.outbound.frame('proctor_event', data);
      await Promise.all(
        watching.map(async (connectionId) => {
          const sent = await this.deps.notifier.send(connectionId, frame);
          if (sent === 'gone') await this.deps.subscriptions.unsubscribe(testId, connectionId);
        }),
      );
    } catch (error) {
      this.deps.telemetry.error('publishing a proctor event failed', error, { testId, event });
    }
  }

  /**
   * Starts reading who watches the test, so a route can read it beside its own writes and publish
   * without another round trip. Never rejects: without the list, no event is sent.
   */
  prefetch(testId: string): Promise<string[]> {
    return this.deps.subscriptions.subscribersOf(testId, this.deps.clock.now()).catch((error: unknown) => {
      this.deps.telemetry.error('reading the proctor subscriptions failed', error, { testId });
      return [];
    });
  }

  /** The events a student's reply implies: an attempt started, an answer stored, an attempt finished. */
  async afterReply(
    testId: string,
    userId: string,
    frames: readonly ServerFrame[],
    subscribers?: Promise<string[]>,
  ): Promise<void> {
    if (!frames.some((f) => PUBLISHED_REPLIES.has(f.type))) return;
    const watching = subscribers ?? this.prefetch(testId);
    for (const frame of frames) {
      switch (frame.type) {
        case 'assessment_started':
          await this.publish(
            testId,
            'started',
            {
              user_id: userId,
              status: 'in_progress',
              answered: frame.data.progress.answered,
              total: frame.data.progress.total,
              deadline: frame.data.deadline,
            },
            watching,
          );
          break;
        case 'answer_feedback':
          if (!frame.data.duplicate) {
            await this.publish(
              testId,
              'answered',
              {
                user_id: userId,
                answered: frame.data.progress.answered,
                total: frame.data.progress.total,
              },
              watching,
            );
          }
          break;
        case 'assessment_completed':
          await this.publish(
            testId,
            'finished',
            {
              user_id: userId,
              status: 'completed',
              answered: frame.data.answered,
              total: frame.data.total,
              completion_reason: frame.data.reason,
              completed_at: frame.data.completed_at,
              score: frame.data.score,
            },
            watching,
          );
          break;
        default:
          break;
      }
    }
  }
}
