/**
 * Rules on configuration values, owned here once: the runtime's environment schema, the CDK
 * construct's props and the stack's context keys all check against these.
 */
import { DEFAULT_AUTH_DEADLINE_SECONDS } from '../protocol';

/** Whole seconds an unauthenticated connection may stay open. */
export const AUTH_DEADLINE_SECONDS = { min: 1, max: 7200, default: DEFAULT_AUTH_DEADLINE_SECONDS } as const;

export function isValidAuthDeadlineSeconds(value: number): boolean {
  return Number.isInteger(value) && value >= AUTH_DEADLINE_SECONDS.min && value <= AUTH_DEADLINE_SECONDS.max;
}

/** API Gateway's rule for stage names. */
export const STAGE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Milliseconds one attempt of a call to the AI service may take. A call tries up to 3 times within
 * the 6 s an invocation may spend on the service (lambdas/core/ai-thread.ts), inside the routes'
 * 10 s Lambda timeout.
 */
export const AI_SERVICE_TIMEOUT_MS = { min: 100, max: 5000, default: 2000 } as const;
