/**
 * The ports the core depends on. Nothing here knows about AWS: DynamoDB and API Gateway adapters
 * implement these, and so do the in-memory twins used by fast unit tests.
 * Times are epoch milliseconds throughout the core.
 */
import type { ServerFrame } from '../../protocol';
import type { ConnectionEnd, HistoryEntry, KeyHistory, PriorHolding } from './connection-history';

export interface Clock {
  now(): number;
}

export interface IdGenerator {
  newId(): string;
}

// ---- connections --------------------------------------------------------------------------

export interface ConnectionRecord {
  connectionId: string;
  /** The test of an assessment connection; null on a general connection. */
  testId: string | null;
  connectedAtMs: number;
  /** When an unauthenticated connection is closed by the sweep. */
  authDeadlineMs: number;
  /** Present once the connection has authenticated. */
  auth?: ConnectionAuth;
}

export interface ConnectionAuth {
  userId: string;
  key: string;
  /** When the token used to authenticate expires; a fresh `auth` frame extends it. */
  tokenExpiresAtMs: number;
  /** The tests a proctor token may watch; absent for every other token. */
  proctorTests?: string[];
  /**
   * The key claim this connection won (see ConnectionRegistry.claimKey). Writes to the assessment
   * carry it, so a connection that was replaced by a later claim can no longer change anything.
   */
  epoch: number;
}

/** Who a socket is, fixed by its first verified token: a socket never changes user or test. */
export interface IdentityBinding {
  connectionId: string;
  userId: string;
  key: string;
  /** The test of the connection after this auth (null: general). */
  testId: string | null;
  nowMs: number;
}

export type IdentityBindResult =
  | { ok: true; connection: ConnectionRecord }
  | { ok: false; reason: 'other_user' | 'test_mismatch' };

export interface FrameAdmission {
  connection: ConnectionRecord | null;
  withinBudget: boolean;
}

export interface KeyClaim {
  /** The connection that held the key until now when it was a different one, else null. */
  previous: string | null;
  /** Strictly greater than every earlier claim of this key. */
  epoch: number;
  /** What the key's record held before the claim: the base of the connection history. */
  prior: PriorHolding;
}

export interface ConnectionRegistry {
  /** Remembers a new, unauthenticated connection ($connect). */
  registerPending(connection: Omit<ConnectionRecord, 'auth'>): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | null>;
  /**
   * Binds an unbound socket to a user and test with one conditional write, before anything else
   * is written: of two `auth` frames for different users on one socket, one fails. Refused, it
   * changes nothing and says why. A missing record (expired, swept) is recreated.
   */
  bindIdentity(binding: IdentityBinding): Promise<IdentityBindResult>;
  /**
   * Marks a bound connection authenticated with the epoch of the claim it won (it leaves the
   * unauthenticated-deadline index).
   */
  markAuthenticated(connectionId: string, auth: ConnectionAuth): Promise<void>;
  /**
   * Points the key at this connection, whoever held it before, in one atomic write that also
   * returns who held it and a new epoch, greater than any earlier claim's.
   */
  claimKey(key: string, connectionId: string): Promise<KeyClaim>;
  /**
   * Counts one frame against the connection's budget (protocol RATE_LIMIT, fixed windows) and
   * returns the connection, in one request for most frames. No record: null and within budget
   * (the caller refuses the frame anyway); nothing is created.
   */
  admitFrame(connectionId: string, nowMs: number): Promise<FrameAdmission>;
  /** The connection that holds the key now, if any. */
  holderOf(key: string): Promise<string | null>;
  /**
   * Drops the key mapping only if it still points to this connection, recording when and why the
   * connection ended (the history keeps the record).
   */
  releaseKey(key: string, connectionId: string, end: ConnectionEnd): Promise<boolean>;
  /** Adds a new connection's event and totals to the key's history (after its claim). */
  recordConnection(key: string, entry: HistoryEntry): Promise<void>;
  /** The connection history of one key, null when the key never had a connection. */
  historyOf(key: string): Promise<KeyHistory | null>;
  /** The history of every assessment key of one test (an index query, not a scan). */
  rosterOf(testId: string): Promise<KeyHistory[]>;
  /** Drops the connection's own record and returns what it held. */
  removeConnection(connectionId: string): Promise<ConnectionRecord | null>;
  /** Unauthenticated connections whose auth deadline is at or before `nowMs` (a query, not a scan). */
  findUnauthenticatedOverdue(nowMs: number, limit: number): Promise<ConnectionRecord[]>;
}

/** Per-connection frame budget (fixed windows), for routes that need nothing else of the record. */
export interface RateLimiter {
  tryConsume(connectionId: string, nowMs: number): Promise<boolean>;
}

/** Sends frames to, and closes, client connections (API Gateway's @connections API). */
export interface ConnectionNotifier {
  /** 'gone' when the connection no longer exists (410): the caller cleans up its records. */
  send(connectionId: string, frame: ServerFrame): Promise<'sent' | 'gone'>;
  close(connectionId: string): Promise<void>;
}

// ---- identity -----------------------------------------------------------------------------

export type TokenCheck =
  | { ok: true; userId: string; expiresAtMs: number; proctorTests?: string[] }
  | { ok: false; code: 'invalid_token' | 'expired_token'; reason: string };

export interface TokenVerifier {
  verify(token: string): Promise<TokenCheck>;
}

// ---- tests and assessments ----------------------------------------------------------------

export interface QuestionDefinition {
  question_id: string;
  text: string;
  options: string[];
  correct_option: string;
}

export interface TestDefinition {
  test_id: string;
  title: string;
  duration_seconds: number;
  questions: QuestionDefinition[];
}

export interface TestCatalog {
  get(testId: string): Promise<TestDefinition | null>;
}

/** Logs and metrics, kept to what the core needs so it does not depend on Powertools. */
export interface Telemetry {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, error: unknown, details?: Record<string, unknown>): void;
  /** With `scope.testId`, also counted in a per-test series (a `test_id` dimension). */
  count(metric: string, value?: number, scope?: MetricScope): void;
  /** A duration in milliseconds (dashboards plot its percentiles). */
  timing(metric: string, ms: number, scope?: MetricScope): void;
}

export interface MetricScope {
  testId?: string;
}

/** Which connections watch which tests as proctors, and until when. */
export interface ProctorSubscriptions {
  subscribe(testId: string, connectionId: string, untilMs: number, nowMs: number): Promise<void>;
  unsubscribe(testId: string, connectionId: string): Promise<void>;
  /** The connections subscribed to the test whose subscription lasts beyond `nowMs`. */
  subscribersOf(testId: string, nowMs: number): Promise<string[]>;
}

/**
 * One answer as the store keeps it: the chosen option's position in the question's `options`, and
 * a hash of the request id that stored it (`requestHash` in answers.ts). The option's text (up to
 * 500 characters) and the client's request id (up to 64) stay out of the item: DynamoDB bills each
 * write by the item's size, and every answer rewrites the item.
 */
export interface StoredChoice {
  option: number;
  request: string;
}

/**
 * Answers stored before choices were compact (a deployed table has such attempts, and answers
 * added to them later are compact): question id -> option text, request id -> question id.
 */
export interface LegacyAnswers {
  options: Record<string, string>;
  requestQuestions: Record<string, string>;
}

export interface AssessmentRecord {
  userId: string;
  testId: string;
  assessmentId: string;
  threadId: string;
  status: 'in_progress' | 'completed';
  startedAtMs: number;
  deadlineMs: number;
  total: number;
  /** Answers are stored in question order, so this is also the index of the current question. */
  answeredCount: number;
  /**
   * The compact answers, in question order: entry j answers the j-th question (in the test's
   * order, below `answeredCount`) that `legacy` does not answer. Read them with the test through
   * `answersOf` (answers.ts), which gives back the options' text.
   */
  choices: StoredChoice[];
  legacy?: LegacyAnswers;
  /**
   * The client's request ids of answers whose AI turn is still to be sent, by question index:
   * the turn's idempotency key and its `request_id` need the id itself, not its hash. Removed
   * when the turn is counted as delivered.
   */
  pendingRequestIds?: Record<string, string>;
  completion?: { reason: 'submitted' | 'time_up'; score: number; completedAtMs: number };
  /**
   * Only for attempts with an AI thread: how many stored answers, in question order, the thread
   * has received. Absent when the thread id is a local name (no AI service, or it failed at start).
   */
  aiTurnsDelivered?: number;
  /**
   * The epoch of the latest connection bound to this attempt (see ConnectionAuth.epoch). A write
   * that carries a smaller epoch comes from a replaced connection and is refused.
   */
  holderEpoch?: number;
}

export type NewAssessment = Omit<
  AssessmentRecord,
  'status' | 'answeredCount' | 'choices' | 'legacy' | 'pendingRequestIds' | 'completion' | 'holderEpoch'
>;

export interface AnswerWrite {
  userId: string;
  testId: string;
  /** Index of the question being answered; the write succeeds only if it is the current one. */
  questionIndex: number;
  /** The chosen option's position in the question's options. */
  option: number;
  /** The client's request id; the store keeps its hash (`requestHash`), unique in the attempt. */
  requestId: string;
  /**
   * Also keep the request id itself until the answer's AI turn is delivered (set when an AI
   * service is configured).
   */
  keepRequestIdForAi?: boolean;
  nowMs: number;
  /** The writing connection's epoch: refused when a later connection holds the attempt. */
  epoch: number;
}

export interface CompletionWrite {
  userId: string;
  testId: string;
  /** The write succeeds only if no answer was stored since the score was computed. */
  expectedAnsweredCount: number;
  reason: 'submitted' | 'time_up';
  score: number;
  completedAtMs: number;
  /** The submitting connection's epoch; absent when the server finishes the attempt (deadline). */
  epoch?: number;
}

export type CreateResult = { created: boolean; record: AssessmentRecord } | { fenced: true };

export interface AssessmentStore {
  get(userId: string, testId: string): Promise<AssessmentRecord | null>;
  /**
   * Creates the one attempt for (user, test); if it exists already, returns that one instead.
   * `fenced` when a connection with a later epoch holds the attempt (nothing is written).
   */
  create(assessment: NewAssessment & { holderEpoch: number }): Promise<CreateResult>;
  /**
   * Binds the attempt to the connection that just won the key with `epoch`, so writes from
   * earlier connections are refused from now on. Returns the attempt (null if none was started:
   * the binding is kept for when it is), and `fenced` when a later epoch holds it already.
   */
  bindHolder(
    userId: string,
    testId: string,
    epoch: number,
  ): Promise<{ record: AssessmentRecord | null; fenced: boolean }>;
  /**
   * Stores an answer with one conditional write: the assessment is in progress, before its
   * deadline, the question is the current one, the request id is new and no later connection
   * holds the attempt. Null when any of that
   * does not hold (the caller reads the record to say why).
   */
  recordAnswer(write: AnswerWrite): Promise<AssessmentRecord | null>;
  /** Finishes an in-progress assessment; null when it is no longer in that state. */
  complete(write: CompletionWrite): Promise<AssessmentRecord | null>;
  /**
   * Raises the attempt's AI turn count from `from` to `delivered` (never lowers it) and drops the
   * kept request ids of those answers; changes nothing for an attempt without an AI thread, or
   * for none at all. Returns the count it raised (the turns from there on were recorded by this
   * call), or null when it raised nothing (another call had recorded as many already).
   */
  recordAiTurns(
    userId: string,
    testId: string,
    turns: { from: number; delivered: number },
  ): Promise<number | null>;
  /** In-progress assessments whose deadline is at or before `nowMs` (a query, not a scan). */
  findOverdue(nowMs: number, limit: number): Promise<{ userId: string; testId: string }[]>;
}

// ---- the AI service -----------------------------------------------------------------------

/** One stored answer, as the AI service's thread receives it. The correct option is never sent. */
export interface AiAnswer {
  requestId: string;
  questionId: string;
  questionIndex: number;
  questionText: string;
  options: string[];
  selectedOption: string;
}

/** The AI service's reply to one answer: feedback, and possibly a generated follow-up question. */
export interface AiReply {
  /** The turn's number in its thread, from 1. */
  turn: number;
  feedback: string;
  nextQuestion?: { text: string };
}

export interface AiCallOptions {
  /** Aborts the call (and its retries) when the caller's own time budget runs out. */
  signal?: AbortSignal;
}

/**
 * The external AI service that keeps one thread per attempt. Failures reject (the adapter's own
 * error classes); the core then carries on without it and tells the client with a notice.
 */
export interface AiService {
  /** Opens the thread of an attempt. A retry with the same idempotency key returns the same thread. */
  createThread(
    attempt: { assessmentId: string; testId: string },
    idempotencyKey: string,
    options?: AiCallOptions,
  ): Promise<{ threadId: string }>;
  /**
   * Adds one answer to the thread. The idempotency key is unique per stored answer across every
   * thread, so a retried send never makes a second turn.
   */
  sendAnswer(
    threadId: string,
    answer: AiAnswer,
    idempotencyKey: string,
    options?: AiCallOptions,
  ): Promise<AiReply>;
}
