/**
 * Wire protocol v1 (../shared/protocol-v1.md): the frames the server sends and the codes it uses.
 * Everything a client sees is built here, so the envelope has one shape everywhere.
 */

export const ERROR_CODES = [
  'invalid_json',
  'unknown_action',
  'unknown_type',
  'invalid_message',
  'message_too_large',
  'not_authenticated',
  'no_test_selected',
  'test_not_found',
  'no_active_assessment',
  'assessment_completed',
  'invalid_question',
  'already_answered',
  'all_answered',
  'request_id_reused',
  'time_up',
  'rate_limited',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const AUTH_ERROR_CODES = [
  'missing_token',
  'invalid_token',
  'expired_token',
  'forbidden',
  'test_mismatch',
  'invalid_test_id',
] as const;
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

export const MESSAGE_TYPES = [
  'heartbeat',
  'get_test_info',
  'start_assessment',
  'get_question',
  'submit_answer',
  'get_assessment_status',
  'complete_assessment',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Clock leeway for token times (`exp`, `nbf`), at auth and on later frames alike; at most 60 s. */
export const TOKEN_CLOCK_LEEWAY_SECONDS = 30;

/** Largest client frame a handler accepts; API Gateway itself refuses frames over 32 KB. */
export const MAX_FRAME_BYTES = 32 * 1024;

export interface Progress {
  answered: number;
  total: number;
  current_question_index: number;
}

export interface QuestionView {
  question_id: string;
  index: number;
  total: number;
  text: string;
  options: string[];
  remaining_seconds: number;
}

export interface AssessmentSnapshot {
  assessment_id: string;
  test_id: string;
  thread_id: string;
  is_in_assessment: true;
  status: 'in_progress';
  started_at: string;
  deadline: string;
  remaining_seconds: number;
  progress: Progress;
  current_question?: QuestionView;
  answers: { question_id: string; selected_option: string }[];
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
  test_id: string | null;
  connection_id: string;
  recovered: boolean;
  recovered_assessment?: AssessmentSnapshot;
  recovery_error?: true;
}

export interface ServerFrame {
  type: string;
  data?: object;
  error?: { code: string; message: string };
  request_id?: string;
  timestamp: string;
}

export function frame(type: string, now: Date, data?: object, requestId?: string): ServerFrame {
  return {
    type,
    ...(data === undefined ? {} : { data }),
    ...(requestId === undefined ? {} : { request_id: requestId }),
    timestamp: now.toISOString(),
  };
}

export function errorFrame(code: ErrorCode, message: string, now: Date, requestId?: string): ServerFrame {
  return {
    type: 'error',
    error: { code, message },
    ...(requestId === undefined ? {} : { request_id: requestId }),
    timestamp: now.toISOString(),
  };
}

export function authErrorFrame(
  code: AuthErrorCode,
  message: string,
  now: Date,
  requestId?: string,
): ServerFrame {
  return {
    type: 'auth_error',
    error: { code, message },
    ...(requestId === undefined ? {} : { request_id: requestId }),
    timestamp: now.toISOString(),
  };
}
