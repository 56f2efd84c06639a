/** Builders of server frames: the only way the server makes one, so a type gets only its payload. */
import type { AuthErrorCode, ErrorCode } from './codes';
import type { AuthErrorFrame, DataFrameOf, DataFrameType, ErrorFrame, ServerFrameData } from './frames';

const withRequestId = (requestId: string | undefined) =>
  requestId === undefined ? {} : { request_id: requestId };

export function dataFrame<T extends DataFrameType>(
  type: T,
  data: ServerFrameData[T],
  now: Date,
  requestId?: string,
): DataFrameOf<T> {
  return { type, data, ...withRequestId(requestId), timestamp: now.toISOString() };
}

export function errorFrame(code: ErrorCode, message: string, now: Date, requestId?: string): ErrorFrame {
  return {
    type: 'error',
    error: { code, message },
    ...withRequestId(requestId),
    timestamp: now.toISOString(),
  };
}

export function authErrorFrame(
  code: AuthErrorCode,
  message: string,
  now: Date,
  requestId?: string,
): AuthErrorFrame {
  return {
    type: 'auth_error',
    error: { code, message },
    ...withRequestId(requestId),
    timestamp: now.toISOString(),
  };
}
