/**
 * The assessment lifecycle (protocol section 5). Each operation returns the frames to send to
 * the client that asked; state changes are single-item conditional writes, so concurrent
 * requests and retries can neither lose an answer nor store one twice.
 */

import type { AssessmentStatusData, ErrorCode, ServerFrame } from '../../protocol';
import { AiThreads } from './ai-thread';
import { answerOfRequest, answersOf } from './answers';
import type { CoreDeps } from './deps';
import { ContentionError, CoreError } from './errors';
import type { Outbound } from './outbound';
import type { AssessmentRecord, TestDefinition } from './ports';
import { progressOf, questionView, scoreOf, snapshotOf, summaryOf, testInfoOf } from './views';

type Deps = Pick<CoreDeps, 'assessments' | 'clock' | 'ids' | 'telemetry' | 'ai'>;

/** How often an operation re-reads and retries after losing a race to another writer. */
const MAX_ATTEMPTS = 5;

export interface Caller {
  userId: string;
  test: TestDefinition;
  /** The epoch of the caller's connection: its writes hold only while no later connection does. */
  epoch: number;
  requestId?: string;
  /**
   * Sends frames to the caller at once. A turn of the AI service can take seconds, so an answer's
   * own frames go out before it; without this they are returned together with the AI's.
   */
  reply?: (frames: ServerFrame[]) => Promise<'sent' | 'gone'>;
}

/**
 * The caller's connection was replaced by a later one for the same key: it may no longer change
 * the assessment. The message route answers `not_authenticated`.
 */
export class ReplacedConnectionError extends CoreError {
  constructor() {
    super('a later connection holds this assessment');
  }
}

export class AssessmentService {
  private readonly ai: AiThreads;

  constructor(
    private readonly deps: Deps,
    private readonly outbound: Pick<Outbound, 'frame' | 'error'>,
  ) {
    this.ai = new AiThreads(deps, outbound);
  }

  testInfo(caller: Caller): ServerFrame[] {
    return [this.outbound.frame('test_info', testInfoOf(caller.test), caller.requestId)];
  }

  async start(caller: Caller): Promise<ServerFrame[]> {
    const assessmentId = this.deps.ids.newId();
    // The AI service's thread is named here and stored with the attempt before anything uses it.
    const thread = await this.threadFor(caller, assessmentId);
    const now = this.deps.clock.now();
    const result = await this.deps.assessments.create({
      userId: caller.userId,
      testId: caller.test.test_id,
      assessmentId,
      threadId: thread.threadId,
      ...(thread.ai ? { aiTurnsDelivered: 0 } : {}),
      startedAtMs: now,
      deadlineMs: now + caller.test.duration_seconds * 1000,
      total: caller.test.questions.length,
      holderEpoch: caller.epoch,
    });
    if ('fenced' in result) throw new ReplacedConnectionError();
    const { created, record } = result;
    if (!created && (record.holderEpoch ?? Number.NEGATIVE_INFINITY) > caller.epoch) {
      throw new ReplacedConnectionError();
    }
    if (created) this.deps.telemetry.count('assessment_started');
    const current = await this.settleDeadline(record, caller.test);
    if (current.status === 'completed') {
      // One attempt per user and test; the outcome stays available via get_assessment_status.
      return [
        this.outbound.error('assessment_completed', 'this assessment is already completed', caller.requestId),
      ];
    }
    const snapshot = snapshotOf(current, caller.test, this.deps.clock.now());
    const frames: ServerFrame[] = [
      this.outbound.frame(
        created ? 'assessment_started' : 'assessment_recovered',
        snapshot,
        caller.requestId,
      ),
    ];
    if (snapshot.current_question)
      frames.push(this.outbound.frame('question', snapshot.current_question, caller.requestId));
    if (created && thread.unavailable) frames.push(this.ai.notice(caller.requestId));
    return frames;
  }

  /**
   * The thread of a new attempt. With an AI service the service creates it, unless the attempt
   * exists already (a repeated start makes no thread); if the service fails, a local name, and
   * the attempt runs without the service.
   */
  private async threadFor(
    caller: Caller,
    assessmentId: string,
  ): Promise<{ threadId: string; ai: boolean; unavailable: boolean }> {
    const local = { threadId: `thread_${this.deps.ids.newId()}`, ai: false, unavailable: false };
    if (!this.ai.configured) return local;
    if (await this.deps.assessments.get(caller.userId, caller.test.test_id)) return local;
    const opened = await this.ai.open(assessmentId, caller.test.test_id);
    return opened
      ? { threadId: opened.threadId, ai: true, unavailable: false }
      : { ...local, unavailable: true };
  }

  async currentQuestion(caller: Caller): Promise<ServerFrame[]> {
    const found = await this.inProgress(caller);
    if ('frames' in found) return found.frames;
    const view = questionView(caller.test, found.record.answeredCount, found.record, this.deps.clock.now());
    if (!view)
      return [
        this.outbound.error(
          'all_answered',
          'every question is answered; send complete_assessment',
          caller.requestId,
        ),
      ];
    return [this.outbound.frame('question', view, caller.requestId)];
  }

  async submitAnswer(
    caller: Caller & { requestId: string },
    questionId: string,
    selectedOption: string,
  ): Promise<ServerFrame[]> {
    const { test, requestId } = caller;
    const questionIndex = test.questions.findIndex((q) => q.question_id === questionId);
    const question = test.questions[questionIndex];
    if (!question) {
      return [
        this.outbound.error(
          'invalid_question',
          `question ${JSON.stringify(questionId)} is not in this test`,
          requestId,
        ),
      ];
    }
    const option = question.options.indexOf(selectedOption);
    if (option < 0) {
      return [
        this.outbound.error(
          'invalid_message',
          'data.selected_option must be one of the question options',
          requestId,
        ),
      ];
    }

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const nowMs = this.deps.clock.now();
      const stored = await this.deps.assessments.recordAnswer({
        userId: caller.userId,
        testId: test.test_id,
        questionIndex,
        option,
        requestId,
        ...(this.ai.configured ? { keepRequestIdForAi: true } : {}),
        nowMs,
        epoch: caller.epoch,
      });
      if (stored) {
        this.deps.telemetry.count('answer_stored');
        const frames = [this.feedback(questionId, false, stored, requestId)];
        const next = questionView(test, stored.answeredCount, stored, this.deps.clock.now());
        if (next) frames.push(this.outbound.frame('question', next, requestId));
        return this.withAiTurns(caller, frames, stored);
      }

      // The conditional write refused: read the attempt to tell the client exactly why.
      const record = await this.deps.assessments.get(caller.userId, test.test_id);
      if (!record) return this.noAssessment(requestId);
      if ((record.holderEpoch ?? Number.NEGATIVE_INFINITY) > caller.epoch)
        throw new ReplacedConnectionError();
      const answers = answersOf(record, test);
      // By hash: a colliding request id reads as this one (see answers.ts for why that is safe).
      const earlier = answerOfRequest(answers, requestId);
      if (earlier) {
        if (earlier.questionId === questionId && earlier.option === selectedOption) {
          return [this.feedback(questionId, true, record, requestId)];
        }
        return [
          this.outbound.error(
            'request_id_reused',
            'this request_id was used for a different answer',
            requestId,
          ),
        ];
      }
      if (record.status === 'completed') return this.completedError(record, requestId);
      if (record.deadlineMs <= this.deps.clock.now()) {
        return this.timeUp(record, test, requestId);
      }
      const answered = answers.find((a) => a.questionId === questionId)?.option;
      if (answered !== undefined) {
        if (answered === selectedOption) return [this.feedback(questionId, true, record, requestId)];
        return [
          this.outbound.error(
            'already_answered',
            'this question was answered with a different option',
            requestId,
          ),
        ];
      }
      if (questionIndex !== record.answeredCount) {
        return [
          this.outbound.error(
            'invalid_question',
            'answer the current question first (questions are in order)',
            requestId,
          ),
        ];
      }
      // The current question moved on between the write and the read: try again.
    }
    throw new ContentionError('submit_answer kept losing races; giving up');
  }

  async status(caller: Caller): Promise<ServerFrame[]> {
    const record = await this.deps.assessments.get(caller.userId, caller.test.test_id);
    if (!record)
      return [this.outbound.frame('assessment_status', { is_in_assessment: false }, caller.requestId)];
    const current = await this.settleDeadline(record, caller.test);
    const data: AssessmentStatusData =
      current.status === 'completed'
        ? { is_in_assessment: false, assessment: summaryOf(current) }
        : { is_in_assessment: true, assessment: snapshotOf(current, caller.test, this.deps.clock.now()) };
    return [this.outbound.frame('assessment_status', data, caller.requestId)];
  }

  async complete(caller: Caller): Promise<ServerFrame[]> {
    const record = await this.deps.assessments.get(caller.userId, caller.test.test_id);
    if (!record) return this.noAssessment(caller.requestId);
    const deadlinePassed = record.deadlineMs <= this.deps.clock.now();
    const finished = deadlinePassed
      ? await this.finish(record, caller.test, 'time_up')
      : await this.finish(record, caller.test, 'submitted', caller.epoch);
    const frames = [this.outbound.frame('assessment_completed', summaryOf(finished), caller.requestId)];
    // A last answer whose turn failed gets its turn now (the sweep does not retry turns).
    return this.withAiTurns(caller, frames, finished);
  }

  /** The caller's frames, then the AI thread's for stored answers it has not received yet. */
  private async withAiTurns(
    caller: Caller,
    frames: ServerFrame[],
    record: AssessmentRecord,
  ): Promise<ServerFrame[]> {
    if (!this.ai.hasBacklog(record)) return frames;
    if (!caller.reply) return [...frames, ...(await this.ai.deliver(record, caller.test, caller.requestId))];
    const sent = await caller.reply(frames);
    const turns = await this.ai.deliver(record, caller.test, caller.requestId);
    // A socket that went away was forgotten already: its turns are made, their frames dropped.
    return sent === 'gone' ? [] : turns;
  }

  /** Finishes an in-progress assessment whose deadline has passed; returns the current record. */
  async settleDeadline(record: AssessmentRecord, test: TestDefinition | null): Promise<AssessmentRecord> {
    if (record.status === 'in_progress' && record.deadlineMs <= this.deps.clock.now()) {
      return this.finish(record, test, 'time_up');
    }
    return record;
  }

  /**
   * The sweep's finishing of an overdue attempt: the finished record when this call's write
   * finished it, null when it was finished already or by a concurrent request (which tells the
   * student and the proctors itself), or is not overdue.
   */
  async finishOverdue(
    record: AssessmentRecord,
    test: TestDefinition | null,
  ): Promise<AssessmentRecord | null> {
    if (record.status !== 'in_progress' || record.deadlineMs > this.deps.clock.now()) return null;
    const { record: finished, finishedHere } = await this.finishing(record, test, 'time_up');
    return finishedHere ? finished : null;
  }

  /**
   * Completes the attempt with the answers stored. Idempotent: an attempt that is already
   * completed is returned as it is, so every caller sees the same result.
   */
  async finish(
    initial: AssessmentRecord,
    /** Null when the test was deleted: the attempt still finishes (score 0), so it leaves the sweep's index. */
    test: TestDefinition | null,
    reason: 'submitted' | 'time_up',
    /** The submitting connection's epoch; the server's own finishing (deadline) has none. */
    epoch?: number,
  ): Promise<AssessmentRecord> {
    return (await this.finishing(initial, test, reason, epoch)).record;
  }

  /** `finish`, and whether this call's write is the one that finished the attempt. */
  private async finishing(
    initial: AssessmentRecord,
    test: TestDefinition | null,
    reason: 'submitted' | 'time_up',
    epoch?: number,
  ): Promise<{ record: AssessmentRecord; finishedHere: boolean }> {
    let record: AssessmentRecord | null = initial;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && record; attempt++) {
      if (record.status === 'completed') return { record, finishedHere: false };
      if (epoch !== undefined && (record.holderEpoch ?? Number.NEGATIVE_INFINITY) > epoch) {
        throw new ReplacedConnectionError();
      }
      const done = await this.deps.assessments.complete({
        userId: record.userId,
        testId: record.testId,
        expectedAnsweredCount: record.answeredCount,
        reason,
        score: test ? scoreOf(record, test) : 0,
        // A timed-out attempt ended at its deadline, whenever the server noticed.
        completedAtMs: reason === 'time_up' ? record.deadlineMs : this.deps.clock.now(),
        ...(epoch === undefined ? {} : { epoch }),
      });
      if (done) {
        this.deps.telemetry.count(reason === 'time_up' ? 'assessment_timed_out' : 'assessment_submitted');
        return { record: done, finishedHere: true };
      }
      record = await this.deps.assessments.get(initial.userId, initial.testId);
    }
    throw new ContentionError(`could not complete assessment ${initial.assessmentId}`);
  }

  private async inProgress(
    caller: Caller,
  ): Promise<{ record: AssessmentRecord } | { frames: ServerFrame[] }> {
    const record = await this.deps.assessments.get(caller.userId, caller.test.test_id);
    if (!record) return { frames: this.noAssessment(caller.requestId) };
    if (record.status === 'completed') return { frames: this.completedError(record, caller.requestId) };
    if (record.deadlineMs <= this.deps.clock.now()) {
      return { frames: await this.timeUp(record, caller.test, caller.requestId) };
    }
    return { record };
  }

  /**
   * The deadline passed while the attempt was still open: finish it, say so, and give the outcome.
   * Whoever's write finished the attempt tells it: when the sweep (or another request) got there
   * first, it told the student and the proctors already, so only `time_up` is said here.
   */
  private async timeUp(
    record: AssessmentRecord,
    test: TestDefinition,
    requestId?: string,
  ): Promise<ServerFrame[]> {
    const { record: finished, finishedHere } = await this.finishing(record, test, 'time_up');
    const timeUp = this.outbound.error('time_up', 'the time for this assessment is over', requestId);
    if (!finishedHere) return [timeUp];
    return [timeUp, this.outbound.frame('assessment_completed', summaryOf(finished), requestId)];
  }

  private noAssessment(requestId?: string): ServerFrame[] {
    return [
      this.outbound.error('no_active_assessment', 'no assessment started; send start_assessment', requestId),
    ];
  }

  private completedError(record: AssessmentRecord, requestId?: string): ServerFrame[] {
    const code: ErrorCode = record.completion?.reason === 'time_up' ? 'time_up' : 'assessment_completed';
    return [this.outbound.error(code, 'this assessment is already completed', requestId)];
  }

  private feedback(
    questionId: string,
    duplicate: boolean,
    record: AssessmentRecord,
    requestId: string,
  ): ServerFrame {
    return this.outbound.frame(
      'answer_feedback',
      { question_id: questionId, accepted: true, duplicate, progress: progressOf(record) },
      requestId,
    );
  }
}
