/**
 * The AI service's thread of an attempt (the `AiService` port; absent when no AI service is
 * configured, and then nothing here runs).
 *
 * - The thread is created with the service at `start_assessment`, before the attempt is stored,
 *   and its id is saved with the attempt in the same single conditional create; every later
 *   answer, on any connection, goes to that thread. If creating it fails, the attempt starts with
 *   a local thread id and no AI service (the built-in question bank is the assessment either
 *   way), and the client gets the notice `ai_unavailable`.
 * - Each stored answer is sent once, in question order. The attempt counts the answers its thread
 *   has received (`aiTurnsDelivered`); a send that fails leaves the answer stored and the count
 *   behind, and the attempt's next stored answer (or `complete_assessment`) sends the missed ones
 *   first, in order. Every send carries `<thread id>:<request_id of that answer>` as its
 *   idempotency key, so a retry, a redelivery or two racing requests make one turn per answer.
 *   The store keeps only a hash of each request id, so while an AI service is configured every
 *   answer also keeps its request id itself until its turn is counted (`pendingRequestIds`;
 *   an attempt that fell back to a local thread keeps them, a few dozen bytes an answer). An
 *   answer stored while no service was configured has only the hash, and its turn (should the
 *   service be configured later) uses the hash in the key, the same on every retry.
 *   The sweep does not retry: an attempt that times out with its student away keeps a thread
 *   without its last turns (the score never depends on the AI service).
 */
import type { ServerFrame } from '../../protocol';
import { answersOf } from './answers';
import type { CoreDeps } from './deps';
import type { Outbound } from './outbound';
import type { AssessmentRecord, TestDefinition } from './ports';

/**
 * Time one invocation may spend on the AI service, retries included; a route's Lambda has 10 s
 * (and API Gateway 29 s), so an unreachable service can never time out the answer's route.
 */
export const AI_BUDGET_MS = 6000;

type Deps = Pick<CoreDeps, 'assessments' | 'telemetry' | 'ai'>;

export class AiThreads {
  constructor(
    private readonly deps: Deps,
    private readonly outbound: Pick<Outbound, 'frame'>,
  ) {}

  get configured(): boolean {
    return this.deps.ai !== undefined;
  }

  /** The service's thread for a new attempt, or null when the service failed (it was logged). */
  async open(assessmentId: string, testId: string): Promise<{ threadId: string } | null> {
    const ai = this.deps.ai;
    if (!ai) return null;
    try {
      // The assessment id is new for every start, so a retried create returns the same thread.
      return await ai.createThread({ assessmentId, testId }, assessmentId, {
        signal: AbortSignal.timeout(AI_BUDGET_MS),
      });
    } catch (error) {
      this.deps.telemetry.error('creating the AI thread failed; the attempt starts without it', error, {
        testId,
      });
      this.deps.telemetry.count('ai_unavailable');
      return null;
    }
  }

  /** True when stored answers are waiting for their turn in the attempt's AI thread. */
  hasBacklog(record: AssessmentRecord): boolean {
    return (
      this.deps.ai !== undefined &&
      record.aiTurnsDelivered !== undefined &&
      record.aiTurnsDelivered < record.answeredCount
    );
  }

  /**
   * Sends the stored answers the thread has not received, in order, and returns the frames for
   * the client: one `ai_feedback` per turn, and `notice` `ai_unavailable` if a send failed (the
   * rest waits for the next answer). Two answers in quick succession both send the first one's
   * turn (the service keeps one turn per key); only the request whose write recorded a turn shows
   * it, so the client gets each turn once.
   */
  async deliver(record: AssessmentRecord, test: TestDefinition, requestId?: string): Promise<ServerFrame[]> {
    const ai = this.deps.ai;
    const from = record.aiTurnsDelivered;
    if (!ai || from === undefined) return [];
    const signal = AbortSignal.timeout(AI_BUDGET_MS);
    const turns: { index: number; frame: ServerFrame }[] = [];
    const notices: ServerFrame[] = [];
    const answers = answersOf(record, test);
    let delivered = from;
    for (let index = from; index < record.answeredCount; index++) {
      const question = test.questions[index];
      const stored = answers[index];
      const answerRequestId = stored && (stored.requestId ?? stored.requestHash);
      if (!question || !stored || !answerRequestId) {
        // The attempt and its test disagree (the test was edited): the thread cannot go on in order.
        this.deps.telemetry.warn('a stored answer has no question in the test; AI turns stop here', {
          testId: record.testId,
          index,
        });
        // Still a frame for the client: on the two-way message route every reply needs one.
        notices.push(this.notice(requestId));
        break;
      }
      try {
        const reply = await ai.sendAnswer(
          record.threadId,
          {
            requestId: answerRequestId,
            questionId: question.question_id,
            questionIndex: index,
            questionText: question.text,
            options: [...question.options],
            selectedOption: stored.option,
          },
          `${record.threadId}:${answerRequestId}`,
          { signal },
        );
        delivered = index + 1;
        this.deps.telemetry.count('ai_turn_sent');
        turns.push({
          index,
          frame: this.outbound.frame(
            'ai_feedback',
            {
              question_id: question.question_id,
              thread_id: record.threadId,
              turn: reply.turn,
              feedback: reply.feedback,
              ...(reply.nextQuestion ? { next_question: { text: reply.nextQuestion.text } } : {}),
            },
            requestId,
          ),
        });
      } catch (error) {
        this.deps.telemetry.error(
          'sending an answer to the AI thread failed; the next answer retries it',
          error,
          {
            testId: record.testId,
            index,
          },
        );
        this.deps.telemetry.count('ai_unavailable');
        notices.push(this.notice(requestId));
        break;
      }
    }
    let shownFrom = from;
    if (delivered > from) {
      try {
        const recordedFrom = await this.deps.assessments.recordAiTurns(record.userId, record.testId, {
          from,
          delivered,
        });
        // Null: a concurrent request recorded (and shows) these turns. Still show the last one when
        // that leaves nothing else: the reply needs a frame, and a repeated turn carries its number.
        shownFrom = recordedFrom ?? (notices.length > 0 ? delivered : delivered - 1);
      } catch (error) {
        // Harmless: the next delivery sends these again under the same keys, which makes no new turn.
        this.deps.telemetry.error('saving the AI turn count failed', error, { testId: record.testId });
      }
    }
    return [...turns.filter((t) => t.index >= shownFrom).map((t) => t.frame), ...notices];
  }

  notice(requestId?: string): ServerFrame {
    return this.outbound.frame(
      'notice',
      {
        code: 'ai_unavailable',
        message: 'the AI service is unavailable; the assessment continues with its own questions',
      },
      requestId,
    );
  }
}
