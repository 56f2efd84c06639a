import type { App } from 'aws-cdk-lib';
import { AssessmentStack } from './assessment-stack';
import { applyNagChecks } from './nag';

export const STACK_NAME = 'AssessmentWebSocketBackend';

/** The whole CDK app: bin/app.ts runs it, and the infra tests synthesize exactly the same. */
export function buildApp(app: App): AssessmentStack {
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const stack = new AssessmentStack(app, STACK_NAME, {
    description: 'Serverless WebSocket backend for timed online assessments',
    // Environment-agnostic unless the CLI resolved an account/region from credentials.
    ...(account || region ? { env: { account, region } } : {}),
  });
  applyNagChecks(app);
  return stack;
}
