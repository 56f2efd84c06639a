/**
 * The wire protocol v1 as code (docs/protocol.md is the same contract in prose). Shared by the
 * server, the client SDK and the demo; it imports nothing from either, and nothing at run time
 * beyond the language.
 */
export { authErrorFrame, dataFrame, errorFrame } from './build';
export {
  AUTH_ERROR_CODE_MEANINGS,
  AUTH_ERROR_CODES,
  type AuthErrorCode,
  ERROR_CODE_MEANINGS,
  ERROR_CODES,
  type ErrorCode,
  isAuthErrorCode,
  isErrorCode,
  NOTICE_CODE_MEANINGS,
  NOTICE_CODES,
  type NoticeCode,
} from './codes';
export * from './frames';
export * from './limits';
export * from './proctor';

/** The protocol version this module describes; extensions within it are additive. */
export const PROTOCOL_VERSION = 1;
