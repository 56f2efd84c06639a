/**
 * The frames of protocol v1 as discriminated unions keyed by `type` (server frames) and by
 * `action` then `type` (client frames). Each payload is declared once, here.
 */
import type { AuthErrorCode, ErrorCode, NoticeCode } from './codes';
import type {
  ProctorEventData,
  ProctorSnapshotData,
  ProctorSubscribeData,
  ProctorUnsubscribedData,
} from './proctor';

// ---- payloads ----------------------------------------------------------------------------

export interface Progress {
  answered: number;
  total: number;
  /** The index of the first unanswered question; equal to `total` when every one is answered. */
  current_question_index: number;
}

export interface QuestionView {
  question_id: string;
  /** 0-based. */
  index: number;
  total: number;
  text: string;
  options: string[];
  /** Seconds to the deadline, possibly fractional (floor it for display). */
  remaining_seconds: number;
}

export interface StoredAnswer {
  question_id: string;
  selected_option: string;
}

/** An assessment in progress: `recovered_assessment`, `assessment_started`, `assessment_recovered`. */
export interface AssessmentSnapshot {
  assessment_id: string;
  test_id: string;
  thread_id: string;
  is_in_assessment: true;
  status: 'in_progress';
  started_at: string;
  deadline: string;
  /** Deadline minus server time; time keeps running while the client is offline. */
  remaining_seconds: number;
  progress: Progress;
  /** Absent when every question is answered. */
  current_question?: QuestionView;
  answers: StoredAnswer[];
}

export type CompletionReason = 'submitted' | 'time_up';

export interface CompletedSummary {
  assessment_id: string;
  test_id: string;
  score: number;
  total: number;
  answered: number;
  completed_at: string;
  reason: CompletionReason;
}

export interface AuthSuccessData {
  user_id: string;
  /** null on a general connection. */
  test_id: string | null;
  /** The connection key `<user_id>_<test_id>` or `<user_id>_general`; the same on every reconnect. */
  connection_id: string;
  recovered: boolean;
  /** Present exactly when `recovered` is true. */
  recovered_assessment?: AssessmentSnapshot;
  /** Recovery failed; the connection still works. */
  recovery_error?: true;
}

/** Correctness is never revealed. */
export interface AnswerFeedbackData {
  question_id: string;
  accepted: true;
  /** True for a resend of an answer already stored; no `question` follows it then. */
  duplicate: boolean;
  progress: Progress;
}

/** Narrow on `is_in_assessment`, then on the presence of `assessment`. */
export type AssessmentStatusData =
  | { is_in_assessment: true; assessment: AssessmentSnapshot }
  | { is_in_assessment: false; assessment?: CompletedSummary };

export interface TestInfo {
  test_id: string;
  title: string;
  duration_seconds: number;
  total_questions: number;
}

export interface PongData {
  server_time: string;
}

export interface SessionReplacedData {
  connection_id: string;
}

// ---- additive extensions (docs/protocol.md, changelog): a v1 client ignores them ----------

/**
 * The AI service's reply to one stored answer; sent only by deployments with an AI service,
 * after the answer's `answer_feedback` and next `question`.
 */
export interface AiFeedbackData {
  question_id: string;
  /** The attempt's thread: the snapshot's `thread_id`. */
  thread_id: string;
  /** The turn's number in the thread, from 1: one turn per stored answer. */
  turn: number;
  feedback: string;
  /** A question the AI service generated in reply, to reflect on: not answered with `submit_answer`, not scored. */
  next_question?: { text: string };
}

/** Something the client should know that is not an error of its request; nothing failed for it. */
export interface NoticeData {
  code: NoticeCode;
  message: string;
}

// ---- server -> client --------------------------------------------------------------------

/** The payload of every server frame that carries `data`, by frame type. */
export interface ServerFrameData {
  auth_success: AuthSuccessData;
  session_replaced: SessionReplacedData;
  question: QuestionView;
  answer_feedback: AnswerFeedbackData;
  assessment_started: AssessmentSnapshot;
  assessment_recovered: AssessmentSnapshot;
  assessment_completed: CompletedSummary;
  assessment_status: AssessmentStatusData;
  test_info: TestInfo;
  pong: PongData;
  ai_feedback: AiFeedbackData;
  notice: NoticeData;
  proctor_snapshot: ProctorSnapshotData;
  proctor_event: ProctorEventData;
  proctor_unsubscribed: ProctorUnsubscribedData;
}

export type DataFrameType = keyof ServerFrameData;
export type ServerFrameType = DataFrameType | 'error' | 'auth_error';

interface Envelope {
  /** The `request_id` of the client frame this answers, when it carried one. */
  request_id?: string;
  /** ISO-8601. */
  timestamp: string;
}

/** A data frame of one type (not distributed over a union of types: the builders use this). */
export interface DataFrameOf<T extends DataFrameType> extends Envelope {
  type: T;
  data: ServerFrameData[T];
  error?: never;
}

/** Every data frame, one union member per type. */
export type DataFrame = { [T in DataFrameType]: DataFrameOf<T> }[DataFrameType];

export interface ErrorFrame extends Envelope {
  type: 'error';
  error: { code: ErrorCode; message: string };
  data?: never;
}

/** The server closes the connection after sending it. */
export interface AuthErrorFrame extends Envelope {
  type: 'auth_error';
  error: { code: AuthErrorCode; message: string };
  data?: never;
}

/** Every frame the server sends, discriminated by `type`. */
export type ServerFrame = DataFrame | ErrorFrame | AuthErrorFrame;

/** The server frame of one type. */
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;

const DATA_FRAME_TYPES_BY_NAME: Record<DataFrameType, true> = {
  auth_success: true,
  session_replaced: true,
  question: true,
  answer_feedback: true,
  assessment_started: true,
  assessment_recovered: true,
  assessment_completed: true,
  assessment_status: true,
  test_info: true,
  pong: true,
  ai_feedback: true,
  notice: true,
  proctor_snapshot: true,
  proctor_event: true,
  proctor_unsubscribed: true,
};

export const DATA_FRAME_TYPES = Object.keys(DATA_FRAME_TYPES_BY_NAME) as readonly DataFrameType[];
export const SERVER_FRAME_TYPES: readonly ServerFrameType[] = [...DATA_FRAME_TYPES, 'error', 'auth_error'];

/**
 * True for a frame of a type this protocol version defines, with `data` (or `error`) an object.
 * Payload fields are the server's promise and are not checked one by one. Frames of unknown
 * types (later, additive extensions) are not ServerFrames: a v1 client ignores them.
 */
export function isServerFrame(value: unknown): value is ServerFrame {
  if (typeof value !== 'object' || value === null) return false;
  const { type, data, error } = value as { type?: unknown; data?: unknown; error?: unknown };
  if (type === 'error' || type === 'auth_error') return isObject(error);
  return typeof type === 'string' && Object.hasOwn(DATA_FRAME_TYPES_BY_NAME, type) && isObject(data);
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

// ---- client -> server --------------------------------------------------------------------

export interface AuthClientFrame {
  action: 'auth';
  /** The JWT. */
  token: string;
  /** Makes a connection opened without `test_id` an assessment connection; must match the URL's. */
  test_id?: string;
  request_id?: string;
}

export interface SubmitAnswerData {
  question_id: string;
  /** Exactly one of the question's `options`. */
  selected_option: string;
}

/** Types without fields send no `data` or an empty object. */
export type NoData = Record<string, never>;

/** The `data` of each `message` type. */
export interface MessageData {
  heartbeat: NoData;
  get_test_info: NoData;
  start_assessment: NoData;
  get_question: NoData;
  submit_answer: SubmitAnswerData;
  get_assessment_status: NoData;
  complete_assessment: NoData;
  /** Proctor extension: staff tokens only (docs/protocol.md, section 12). */
  proctor_subscribe: ProctorSubscribeData;
  proctor_unsubscribe: ProctorSubscribeData;
}

export type MessageType = keyof MessageData;

const MESSAGE_TYPES_BY_NAME: Record<MessageType, true> = {
  heartbeat: true,
  get_test_info: true,
  start_assessment: true,
  get_question: true,
  submit_answer: true,
  get_assessment_status: true,
  complete_assessment: true,
  proctor_subscribe: true,
  proctor_unsubscribe: true,
};

export const MESSAGE_TYPES = Object.keys(MESSAGE_TYPES_BY_NAME) as readonly MessageType[];

export function isMessageType(type: string): type is MessageType {
  return Object.hasOwn(MESSAGE_TYPES_BY_NAME, type);
}

/** A `message` frame of one type: `submit_answer` requires `request_id` and `data`. */
export type MessageClientFrameOf<T extends MessageType> = T extends 'submit_answer'
  ? { action: 'message'; type: T; request_id: string; data: MessageData[T] }
  : { action: 'message'; type: T; request_id?: string; data?: MessageData[T] };

export type MessageClientFrame = { [T in MessageType]: MessageClientFrameOf<T> }[MessageType];

/** Every frame a client sends. */
export type ClientFrame = AuthClientFrame | MessageClientFrame;
