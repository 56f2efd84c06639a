/**
 * The ports the core depends on. Nothing here knows about AWS: DynamoDB and API Gateway adapters
 * implement these, and so do the in-memory twins used by fast unit tests.
 * Times are epoch milliseconds throughout the core.
 */
import type { ServerFrame } from '../../protocol';

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
}

export interface ConnectionRegistry {
  /** Remembers a new, unauthenticated connection ($connect). */
  registerPending(connection: Omit<ConnectionRecord, 'auth'>): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | null>;
  /** Stores the connection as authenticated (it leaves the unauthenticated-deadline index). */
  saveAuthenticated(connection: ConnectionRecord & { auth: ConnectionAuth }): Promise<void>;
  /**
   * Points the key at this connection, whoever held it before. Returns the connection id that
   * held the key until now when it was a different connection, else null.
   */
  claimKey(key: string, connectionId: string): Promise<string | null>;
  /** The connection that holds the key now, if any. */
  holderOf(key: string): Promise<string | null>;
  /** Drops the key mapping only if it still points to this connection. */
  releaseKey(key: string, connectionId: string): Promise<boolean>;
  /** Drops the connection's own record and returns what it held. */
  removeConnection(connectionId: string): Promise<ConnectionRecord | null>;
  /** Unauthenticated connections whose auth deadline is at or before `nowMs` (a query, not a scan). */
  findUnauthenticatedOverdue(nowMs: number, limit: number): Promise<ConnectionRecord[]>;
}

/** Per-connection message budget: fixed windows, checked in the same round trip as the lookup. */
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
  | { ok: true; userId: string; expiresAtMs: number }
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
  count(metric: string, value?: number): void;
}

export interface AnswerRecord {
  questionId: string;
  option: string;
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
  /** question_id -> selected option */
  answers: Record<string, string>;
  /** request_id -> the answer it carried; remembered for the life of the assessment. */
  requestIds: Record<string, AnswerRecord>;
  completion?: { reason: 'submitted' | 'time_up'; score: number; completedAtMs: number };
}

export type NewAssessment = Omit<
  AssessmentRecord,
  'status' | 'answeredCount' | 'answers' | 'requestIds' | 'completion'
>;

export interface AnswerWrite {
  userId: string;
  testId: string;
  questionId: string;
  option: string;
  /** Index of the question being answered; the write succeeds only if it is the current one. */
  questionIndex: number;
  requestId: string;
  nowMs: number;
}

export interface CompletionWrite {
  userId: string;
  testId: string;
  /** The write succeeds only if no answer was stored since the score was computed. */
  expectedAnsweredCount: number;
  reason: 'submitted' | 'time_up';
  score: number;
  completedAtMs: number;
}

export interface AssessmentStore {
  get(userId: string, testId: string): Promise<AssessmentRecord | null>;
  /** Creates the one attempt for (user, test); if it exists already, returns that one instead. */
  create(assessment: NewAssessment): Promise<{ created: boolean; record: AssessmentRecord }>;
  /**
   * Stores an answer with one conditional write: the assessment is in progress, before its
   * deadline, the question is the current one and the request id is new. Null when any of that
   * does not hold (the caller reads the record to say why).
   */
  recordAnswer(write: AnswerWrite): Promise<AssessmentRecord | null>;
  /** Finishes an in-progress assessment; null when it is no longer in that state. */
  complete(write: CompletionWrite): Promise<AssessmentRecord | null>;
  /** In-progress assessments whose deadline is at or before `nowMs` (a query, not a scan). */
  findOverdue(nowMs: number, limit: number): Promise<{ userId: string; testId: string }[]>;
}
