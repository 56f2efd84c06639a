/** Names dashboards and alarms rely on; shared by the Powertools adapter and the CDK construct. */
import { AUTH_ERROR_CODES } from '../../protocol';

export const SERVICE_NAME = 'assessment-websocket';
export const METRICS_NAMESPACE = 'AssessmentBackend';
/** Metric dimension naming the deployment (the stack), so two stacks in one account never mix. */
export const DEPLOYMENT_DIMENSION = 'deployment';

/** Dimension of the per-test copies of the reconnection metrics (docs/operations.md). */
export const TEST_ID_DIMENSION = 'test_id';

/** Application metrics the dashboard and the alarms plot; the core counts them under these names. */
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
