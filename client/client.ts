/**
 * AssessmentClient: a reconnecting, re-authenticating client for the assessment WebSocket
 * protocol v1 (docs/protocol.md). The connection state machine keeps a socket open and
 * authenticated; this class turns server frames into typed events and commands into promises,
 * and keeps answers in an outbox until the server acknowledges them.
 */
import {
  type AnswerFeedbackData,
  type AssessmentSnapshot,
  type AssessmentStatusData,
  type AuthSuccessData,
  type CompletedSummary,
  type DataFrameOf,
  type DataFrameType,
  type ErrorFrame,
  isServerFrame,
  type MessageData,
  type MessageType,
  type NoData,
  type PongData,
  type ProctorSnapshotData,
  type ProctorUnsubscribedData,
  type QuestionView,
  type ServerFrame,
  type TestInfo,
} from '../protocol';
import { AnswerSender, submitAnswerFrame } from './answer-sender';
import { Backoff } from './backoff';
import { type Connection, sendFrame } from './connection';
import { Emitter } from './emitter';
import { AssessmentClientError } from './errors';
import { Liveness } from './liveness';
import { type ResolvedOptions, resolveOptions } from './options';
import { isFinalAnswerError, Outbox, type OutboxEntry, outboxStorageKey } from './outbox';
import { PendingRequests } from './pending-requests';
import { ConnectionStateMachine } from './state-machine';
import type {
  AssessmentClientOptions,
  ClientEvents,
  ClientMessageFrame,
  ConnectionState,
  FrameMeta,
} from './types';

export class AssessmentClient {
  private readonly options: ResolvedOptions;
  private readonly events = new Emitter<ClientEvents>();
  private readonly machine: ConnectionStateMachine;
  private readonly outbox: Outbox;
  private readonly sender: AnswerSender;
  private readonly liveness: Liveness;
  private readonly pending: PendingRequests;
  /** The promise of each answer still waiting, so a double submit gets the same one. */
  private readonly answerPromises = new Map<string, Promise<AnswerFeedbackData>>();
  /** `<thread_id>:<turn>` of every ai_feedback emitted: a turn a racing request repeats is dropped. */
  private readonly aiTurnsSeen = new Set<string>();
  private lastAuth: AuthSuccessData | undefined;
  private userId: string | undefined;

  constructor(options: AssessmentClientOptions) {
    const resolved = resolveOptions(options);
    this.options = resolved;
    this.pending = new PendingRequests(resolved.timers);
    this.outbox = new Outbox({
      storage: resolved.storage,
      key: outboxStorageKey(resolved.url, resolved.testId),
      maxEntries: resolved.maxOutboxEntries,
    });
    this.machine = new ConnectionStateMachine(resolved, {
      stateChanged: (state, change) => this.events.emit('state', state, change),
      error: (event) => this.events.emit('error', event),
      authError: (event) => this.events.emit('auth_error', event),
      sessionReplaced: (data, meta) => this.events.emit('session_replaced', data, meta),
      receive: (connection, raw) => this.receive(connection, raw),
      starting: (afterReplaced) => {
        if (afterReplaced) this.outbox.reattach();
        this.liveness.install();
      },
      resetFlight: () => this.resetFlight(),
      connectionTimersStopped: () => {
        this.liveness.stopHeartbeat();
        this.resetFlight();
      },
      authenticated: (data) => {
        this.lastAuth = data;
        this.userId = data.user_id;
        this.sender.resetRetries();
        const dropped = this.outbox.adoptUser(data.user_id);
        if (dropped.length > 0) this.emitOutbox();
      },
      startLiveness: () => this.liveness.startHeartbeat(),
      opened: (connection, data, meta) => {
        this.events.emit('auth_success', data, meta);
        this.resendPending(connection);
        this.sender.flush();
      },
      stopping: (state, reason) => this.stopping(state, reason),
    });
    this.liveness = new Liveness({
      ...resolved,
      current: () => this.machine.current,
      failed: (connection) => this.machine.connectionFailed(connection),
      isOpen: () => this.machine.state === 'open',
      reconnectNow: () => this.machine.reconnectNow(),
    });
    this.sender = new AnswerSender({
      outbox: this.outbox,
      timers: resolved.timers,
      requestTimeoutMs: resolved.requestTimeoutMs,
      retryBackoff: new Backoff(resolved),
      target: () => {
        const connection = this.machine.current;
        return this.machine.running && connection?.authenticated && !connection.replacedByHandover
          ? connection
          : undefined;
      },
      send: (connection, frame) => this.send(connection, frame),
      noReply: () => this.liveness.sendProbe(),
    });
  }

  // ---------------------------------------------------------------- public API

  get state(): ConnectionState {
    return this.machine.state;
  }

  /** The data of the latest `auth_success`. */
  get session(): AuthSuccessData | undefined {
    return this.lastAuth;
  }

  /** Answers given and not yet acknowledged, oldest first. */
  get pendingAnswers(): readonly OutboxEntry[] {
    return this.outbox.entries();
  }

  on<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  once<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): () => void {
    return this.events.once(event, listener);
  }

  off<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /**
   * Starts connecting (no-op when already running). Resolves with the `auth_success` data once the
   * connection is open; rejects if the client stops first (final auth error, `close()`, replaced).
   */
  connect(): Promise<AuthSuccessData> {
    const opened = this.whenOpen();
    // Event-driven apps may ignore this promise: failures also arrive as 'state' / 'auth_error'
    // events, so an ignored rejection must not become an unhandled rejection.
    opened.catch(() => {});
    this.machine.start();
    return opened;
  }

  /** Stops for good: closes the socket, cancels timers, rejects pending commands (code `closed`). Unacknowledged answers stay in storage. */
  close(): void {
    this.machine.stop('closed', 'closed');
  }

  startAssessment(): Promise<AssessmentSnapshot> {
    return this.request('start_assessment', ['assessment_started', 'assessment_recovered']);
  }

  getQuestion(): Promise<QuestionView> {
    return this.request('get_question', ['question']);
  }

  getStatus(): Promise<AssessmentStatusData> {
    return this.request('get_assessment_status', ['assessment_status']);
  }

  completeAssessment(): Promise<CompletedSummary> {
    return this.request('complete_assessment', ['assessment_completed']);
  }

  getTestInfo(): Promise<TestInfo> {
    return this.request('get_test_info', ['test_info']);
  }

  heartbeat(): Promise<PongData> {
    return this.request('heartbeat', ['pong']);
  }

  /**
   * Proctor extension, on a general connection with a proctor's token: the roster of `testId`
   * now, then a `proctor_event` for every change until `proctorUnsubscribe` or the connection
   * ends (subscribe again after a reconnect). Rejects with `forbidden` for any other token.
   */
  proctorSubscribe(testId: string): Promise<ProctorSnapshotData> {
    return this.request('proctor_subscribe', ['proctor_snapshot'], { test_id: testId });
  }

  proctorUnsubscribe(testId: string): Promise<ProctorUnsubscribedData> {
    return this.request('proctor_unsubscribe', ['proctor_unsubscribed'], { test_id: testId });
  }

  /**
   * Submits an answer through the outbox: it is kept (and persisted) until the server
   * acknowledges it, and resent with the same request_id after every reconnect. Resolves with
   * the `answer_feedback`; rejects with the server's code on a final error (`time_up`,
   * `already_answered`, ...), with `timeout` after requestTimeoutMs (the answer stays queued and
   * its later acknowledgement still arrives as an `answer_feedback` event), with `outbox_full`,
   * or with `closed` / `session_replaced`.
   */
  submitAnswer(
    questionId: string,
    selectedOption: string,
    options: { requestId?: string } = {},
  ): Promise<AnswerFeedbackData> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const same =
      options.requestId === undefined ? this.outbox.findSame(questionId, selectedOption) : undefined;
    const requestId = options.requestId ?? same?.request_id ?? this.options.generateId();
    if (this.outbox.get(requestId) === undefined) {
      const added = this.outbox.add({
        request_id: requestId,
        question_id: questionId,
        selected_option: selectedOption,
        created_at: this.options.now(),
        ...(this.userId === undefined ? {} : { user_id: this.userId }),
      });
      if (added === 'full') {
        return Promise.reject(
          new AssessmentClientError('outbox_full', 'too many unacknowledged answers', { requestId }),
        );
      }
      this.emitOutbox();
    }
    let promise = this.answerPromises.get(requestId);
    if (promise === undefined) {
      const added = this.pending.add<AnswerFeedbackData>({
        frame: submitAnswerFrame(requestId, questionId, selectedOption),
        expects: ['answer_feedback'],
        timeoutMs: this.options.requestTimeoutMs,
        viaOutbox: true,
      });
      promise = added;
      this.answerPromises.set(requestId, added);
      const forget = () => this.answerPromises.delete(requestId);
      added.then(forget, forget);
    }
    this.sender.flush();
    return promise;
  }

  /**
   * Test and debug aid: drops the current socket as a network failure would (the server sees the
   * connection go away), and lets the client recover by itself.
   */
  dropConnection(): void {
    const connection = this.machine.current;
    if (connection === undefined) return;
    const ws = connection.ws as typeof connection.ws & { terminate?: () => void };
    if (typeof ws.terminate === 'function') ws.terminate();
    else ws.close(4000, 'dropped for testing');
  }

  // ---------------------------------------------------------------- commands

  /** A command whose reply is one of `expects`; the promise resolves with that reply's data. */
  private request<M extends Exclude<MessageType, 'submit_answer'>, T extends DataFrameType>(
    type: M,
    expects: readonly T[],
    ...[data]: MessageData[M] extends NoData ? [] : [MessageData[M]]
  ): Promise<DataFrameOf<T>['data']> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const frame: ClientMessageFrame = {
      action: 'message',
      type,
      request_id: this.options.generateId(),
      data: data ?? {},
    };
    const promise = this.pending.add<DataFrameOf<T>['data']>({
      frame,
      expects,
      timeoutMs: this.options.requestTimeoutMs,
    });
    const connection = this.machine.current;
    if (connection?.authenticated) this.send(connection, frame);
    return promise;
  }

  /** Why a command cannot even be queued, if it cannot. */
  private refusal(): AssessmentClientError | undefined {
    if (this.machine.state === 'replaced') {
      return new AssessmentClientError(
        'session_replaced',
        'this session was taken over by another connection',
      );
    }
    if (!this.machine.running) {
      return new AssessmentClientError('not_connected', 'call connect() first');
    }
    return undefined;
  }

  private whenOpen(): Promise<AuthSuccessData> {
    if (this.machine.state === 'open' && this.lastAuth !== undefined) return Promise.resolve(this.lastAuth);
    return new Promise((resolve, reject) => {
      const off = this.events.on('state', (state, change) => {
        if (state === 'open' && this.lastAuth !== undefined) {
          off();
          resolve(this.lastAuth);
        } else if (state === 'closed' || state === 'replaced') {
          off();
          reject(new AssessmentClientError(change.reason ?? state, `client ${state}`));
        }
      });
    });
  }

  /** Sends a command frame and records the connection it went out on. */
  private send(connection: Connection, frame: ClientMessageFrame): boolean {
    if (!sendFrame(connection, frame)) return false;
    this.pending.markSent(frame.request_id, connection);
    return true;
  }

  /** After an auth: (re)send commands that were queued, or sent on an earlier connection. */
  private resendPending(connection: Connection): void {
    for (const frame of this.pending.unsentOn(connection)) this.send(connection, frame);
  }

  private resetFlight(): void {
    this.sender.reset();
    this.liveness.clearProbe();
  }

  private stopping(state: 'closed' | 'replaced', reason: string): void {
    this.liveness.uninstall();
    if (state === 'replaced') {
      // Another tab or device owns the session now: never resend this tab's answers.
      this.outbox.detach();
      this.emitOutbox();
    }
    this.pending.rejectAll(
      (requestId) =>
        new AssessmentClientError(
          reason,
          state === 'replaced'
            ? 'the session was taken over by another connection'
            : `client closed (${reason})`,
          { requestId },
        ),
    );
  }

  private emitOutbox(): void {
    this.events.emit('outbox', this.outbox.entries());
  }

  // ---------------------------------------------------------------- incoming frames

  private receive(connection: Connection, raw: unknown): void {
    if (typeof raw !== 'string') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return;
    }
    // Frames of types this version does not know are later, additive extensions: ignored.
    if (!isServerFrame(parsed)) return;
    const frame: ServerFrame = parsed;
    this.events.emit('frame', frame);
    const meta: FrameMeta = {
      ...(frame.request_id === undefined ? {} : { request_id: frame.request_id }),
      timestamp: frame.timestamp,
      frame,
    };
    switch (frame.type) {
      case 'auth_success':
        this.machine.onAuthSuccess(connection, frame.data, meta);
        return;
      case 'auth_error':
        this.machine.onAuthError(connection, frame);
        return;
      case 'session_replaced':
        this.machine.onSessionReplaced(connection, frame.data, meta);
        return;
      case 'error':
        this.onError(connection, frame);
        return;
      case 'pong':
        this.liveness.answered(frame.request_id);
        this.pending.settle(frame);
        this.events.emit(frame.type, frame.data, meta);
        return;
      case 'answer_feedback':
        this.onAnswerFeedback(frame, meta);
        return;
      // One case per type: each narrows the frame, so the event gets exactly its payload.
      case 'question':
        this.pending.settle(frame);
        this.events.emit(frame.type, frame.data, meta);
        return;
      case 'assessment_started':
        this.pending.settle(frame);
        this.events.emit(frame.type, frame.data, meta);
        return;
      case 'assessment_recovered':
        this.pending.settle(frame);
        this.events.emit(frame.type, frame.data, meta);
        return;
      case 'assessment_completed':
        this.pending.settle(frame);
        this.events.emit(frame.type, frame.data, meta);
        return;
      case 'assessment_status':
        this.pending.settle(frame);
        this.events.emit(frame.type, frame.data, meta);
        return;
      case 'test_info':
        this.pending.settle(frame);
        this.events.emit(frame.type, frame.data, meta);
        return;
      case 'ai_feedback': {
        const turn = `${frame.data.thread_id}:${frame.data.turn}`;
        if (this.aiTurnsSeen.has(turn)) return;
        this.aiTurnsSeen.add(turn);
        this.events.emit(frame.type, frame.data, meta);
        return;
      }
      case 'notice':
        this.events.emit(frame.type, frame.data, meta);
        return;
      // The proctor extension (docs/protocol.md): only staff connections that subscribed get these.
      case 'proctor_snapshot':
        this.pending.settle(frame);
        this.events.emit(frame.type, frame.data, meta);
        return;
      case 'proctor_unsubscribed':
        this.pending.settle(frame);
        this.events.emit(frame.type, frame.data, meta);
        return;
      case 'proctor_event':
        this.events.emit(frame.type, frame.data, meta);
        return;
      default: {
        // A frame type added to the protocol without a case here fails to compile.
        const unhandled: never = frame;
        void unhandled;
      }
    }
  }

  private onError(connection: Connection, frame: ErrorFrame): void {
    const { code, message } = frame.error;
    const requestId = frame.request_id;
    this.liveness.answered(requestId);
    const entry = requestId === undefined ? undefined : this.outbox.get(requestId);
    if (requestId !== undefined && entry !== undefined) {
      this.sender.answered(requestId);
      if (isFinalAnswerError(code)) {
        this.outbox.remove(requestId);
        this.emitOutbox();
        this.pending.settle(frame);
        this.sender.flush();
      } else {
        this.sender.retryLater();
      }
    } else if (code === 'not_authenticated' && requestId !== undefined && this.pending.has(requestId)) {
      // Refused because the token expired: kept, and sent again after the refresh below.
      this.pending.markUnsent(requestId);
    } else {
      this.pending.settle(frame);
    }
    this.events.emit('error', {
      code,
      message,
      ...(requestId === undefined ? {} : { request_id: requestId }),
      source: 'server',
    });
    if (code === 'not_authenticated' && connection === this.machine.current && connection.authenticated) {
      // The token expired (or the server forgot the auth): authenticate again with a fresh token.
      void this.machine.refreshAuth(connection, 'refused');
    }
  }

  private onAnswerFeedback(frame: DataFrameOf<'answer_feedback'>, meta: FrameMeta): void {
    const requestId = frame.request_id;
    if (requestId !== undefined && this.outbox.remove(requestId) !== undefined) {
      this.sender.answered(requestId);
      this.sender.resetRetries();
      this.emitOutbox();
    }
    this.pending.settle(frame);
    this.events.emit('answer_feedback', frame.data, meta);
    this.sender.flush();
  }
}
