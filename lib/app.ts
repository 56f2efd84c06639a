import type { App } from 'aws-cdk-lib';
import { AssessmentStack } from './assessment-stack';
import { applyNagChecks } from './nag';
import { readStackContext } from './stack-context';

export const STACK_NAME = 'AssessmentWebSocketBackend';

/** The whole CDK app: bin/app.ts runs it, and the infra tests synthesize exactly the same. */
export function buildApp(app: App): AssessmentStack {
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  // Read before the stack exists: a bad value then leaves no half-built stack for the CLI to synthesize.
  const config = readStackContext(app.node);
  const stack = new AssessmentStack(app, STACK_NAME, {
    config,
    description: 'Serverless WebSocket backend for timed online assessments',
    // Environment-agnostic unless the CLI resolved an account or region (credentials, profile, defaults).
    ...(account || region ? { env: { ...(account ? { account } : {}), ...(region ? { region } : {}) } } : {}),
  });
  applyNagChecks(app);
  return stack;
}
