/**
 * Application metrics the dashboard and the alarms plot (Powertools EMF, namespace and dimensions in
 * lambdas/adapters/telemetry-names.ts). The core counts them under these names.
 */
import { AUTH_ERROR_CODES } from '../protocol';

/** Dimension of the per-test copies of the reconnection metrics (docs/operations.md). */
export const TEST_ID_DIMENSION = 'test_id';

export const APP_METRICS = {
  connected: 'connected',
  authenticated: 'authenticated',
  reauthenticated: 'reauthenticated',
  disconnected: 'disconnected',
  reconnected: 'reconnected',
  recovered: 'recovered',
  recoveryFailed: 'recovery_failed',
  recoveryLatency: 'recovery_latency',
  sessionReplaced: 'session_replaced',
  assessmentStarted: 'assessment_started',
  answerStored: 'answer_stored',
  assessmentSubmitted: 'assessment_submitted',
  assessmentTimedOut: 'assessment_timed_out',
  internalError: 'internal_error',
  rateLimited: 'rate_limited',
} as const;

/** One metric per auth_error code: `auth_error_<code>`. */
export const AUTH_ERROR_METRICS: readonly string[] = AUTH_ERROR_CODES.map((code) => `auth_error_${code}`);
