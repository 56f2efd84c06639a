/**
 * Validation of client frames. Every failure becomes a typed protocol error that names the bad
 * field; nothing here throws on hostile input.
 */
import * as v from 'valibot';
import { isValidTestId, MAX_FRAME_BYTES, MESSAGE_TYPES, type MessageType } from '../../protocol';

export type Parsed<T> =
  | { ok: true; value: T }
  | { ok: false; code: FrameErrorCode; message: string; requestId?: string };
type FrameErrorCode = 'invalid_json' | 'invalid_message' | 'unknown_type' | 'message_too_large';

/**
 * Replies echo the frame's request_id even when it is malformed (too long, say), so the client
 * can match the error to what it sent; only absurd sizes are not echoed.
 */
const MAX_ECHOED_REQUEST_ID = 1024;

/** The request id to echo on any reply to this frame, when it carried a string one. */
export function echoableRequestId(frame: unknown): string | undefined {
  if (typeof frame !== 'object' || frame === null) return undefined;
  const candidate = (frame as Record<string, unknown>).request_id;
  return typeof candidate === 'string' && candidate.length > 0 && candidate.length <= MAX_ECHOED_REQUEST_ID
    ? candidate
    : undefined;
}

/** Parses a frame body into a JSON object, enforcing the frame size limit first. */
export function parseJsonObject(body: string | undefined | null): Parsed<Record<string, unknown>> {
  if (body === undefined || body === null || body === '') {
    return { ok: false, code: 'invalid_json', message: 'frame is empty; send a JSON object' };
  }
  let value: unknown;
  let parseError = false;
  try {
    value = JSON.parse(body);
  } catch {
    parseError = true;
  }
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (Buffer.byteLength(body, 'utf8') > MAX_FRAME_BYTES) {
    // API Gateway already bounds messages at 128 KB, so parsing one to echo its request_id is cheap.
    const requestId = isObject ? echoableRequestId(value) : undefined;
    return {
      ok: false,
      code: 'message_too_large',
      message: `message exceeds ${MAX_FRAME_BYTES} bytes`,
      ...(requestId ? { requestId } : {}),
    };
  }
  if (parseError) return { ok: false, code: 'invalid_json', message: 'frame is not valid JSON' };
  if (!isObject) return { ok: false, code: 'invalid_json', message: 'frame must be a JSON object' };
  return { ok: true, value: value as Record<string, unknown> };
}

function describeIssues(issues: v.BaseIssue<unknown>[]): string {
  const fields = new Map<string, string>();
  for (const issue of issues) {
    const path = v.getDotPath(issue) ?? 'frame';
    if (!fields.has(path)) fields.set(path, issue.message);
  }
  return [...fields].map(([path, message]) => `${path}: ${message}`).join('; ');
}

// ---- auth ---------------------------------------------------------------------------------

export interface AuthFrame {
  /** A token that is not a string is kept as is, to be refused as invalid (it is not missing). */
  token?: string | { notAString: unknown };
  /** The frame's test_id; a value that is not a string is kept as is, to be refused. */
  testId?: string | { notAString: unknown };
  requestId?: string;
}

/** Token and test id checks that have their own auth_error codes happen in the auth use case. */
export function parseAuthFrame(frame: Record<string, unknown>): AuthFrame {
  const rawToken = frame.token;
  const token =
    rawToken === undefined || rawToken === null || rawToken === ''
      ? undefined
      : typeof rawToken === 'string'
        ? rawToken
        : { notAString: rawToken };
  const raw = frame.test_id;
  const testId =
    raw === undefined || raw === null ? undefined : typeof raw === 'string' ? raw : { notAString: raw };
  const requestId = echoableRequestId(frame);
  return {
    ...(token === undefined ? {} : { token }),
    ...(testId === undefined ? {} : { testId }),
    ...(requestId === undefined ? {} : { requestId }),
  };
}

// ---- message ------------------------------------------------------------------------------

const ENVELOPE = v.object({
  type: v.pipe(
    v.string('type must be a string'),
    v.minLength(1, 'type must not be empty'),
    v.maxLength(64, 'type is too long'),
  ),
  request_id: v.optional(v.pipe(v.string('request_id must be a string'), v.minLength(1), v.maxLength(64))),
  // valibot's record() accepts arrays (and copies them into objects), so arrays are refused first.
  data: v.optional(
    v.pipe(
      v.custom<unknown>((data) => !Array.isArray(data), 'data must be an object'),
      v.record(v.string(), v.unknown(), 'data must be an object'),
    ),
  ),
});

const SUBMIT_ANSWER = v.object({
  request_id: v.pipe(
    v.string('request_id is required for submit_answer'),
    v.minLength(1, 'request_id must be 1-64 characters'),
    v.maxLength(64, 'request_id must be 1-64 characters'),
  ),
  data: v.object(
    {
      question_id: v.pipe(v.string('question_id must be a string'), v.minLength(1), v.maxLength(64)),
      selected_option: v.pipe(v.string('selected_option must be a string'), v.maxLength(500)),
    },
    'data must be an object with question_id and selected_option',
  ),
});

const PROCTOR_TYPES = ['proctor_subscribe', 'proctor_unsubscribe'] as const;
type ProctorType = (typeof PROCTOR_TYPES)[number];

const PROCTOR_DATA = v.object({
  data: v.object(
    {
      test_id: v.pipe(
        v.string('test_id must be a string'),
        v.check(isValidTestId, 'test_id must match ^[A-Za-z0-9-]{1,64}$ and not be "general"'),
      ),
    },
    'data must be an object with test_id',
  ),
});

export type MessageFrame =
  | { type: Exclude<MessageType, 'submit_answer' | ProctorType>; requestId?: string }
  | { type: 'submit_answer'; requestId: string; questionId: string; selectedOption: string }
  | { type: ProctorType; requestId?: string; testId: string };

export function parseMessageFrame(frame: Record<string, unknown>): Parsed<MessageFrame> {
  if (frame.type === undefined) {
    return { ok: false, code: 'invalid_message', message: 'type is required' };
  }
  const envelope = v.safeParse(ENVELOPE, frame);
  if (!envelope.success) {
    return { ok: false, code: 'invalid_message', message: describeIssues(envelope.issues) };
  }
  const { type, request_id: requestId } = envelope.output;
  if (!(MESSAGE_TYPES as readonly string[]).includes(type)) {
    return { ok: false, code: 'unknown_type', message: `unknown message type: ${JSON.stringify(type)}` };
  }
  if ((PROCTOR_TYPES as readonly string[]).includes(type)) {
    const proctor = v.safeParse(PROCTOR_DATA, frame);
    if (!proctor.success) {
      return { ok: false, code: 'invalid_message', message: describeIssues(proctor.issues) };
    }
    return {
      ok: true,
      value: {
        type: type as ProctorType,
        testId: proctor.output.data.test_id,
        ...(requestId ? { requestId } : {}),
      },
    };
  }
  if (type !== 'submit_answer') {
    return {
      ok: true,
      value: {
        type: type as Exclude<MessageType, 'submit_answer' | ProctorType>,
        ...(requestId ? { requestId } : {}),
      },
    };
  }
  const answer = v.safeParse(SUBMIT_ANSWER, frame);
  if (!answer.success) {
    return { ok: false, code: 'invalid_message', message: describeIssues(answer.issues) };
  }
  return {
    ok: true,
    value: {
      type,
      requestId: answer.output.request_id,
      questionId: answer.output.data.question_id,
      selectedOption: answer.output.data.selected_option,
    },
  };
}
