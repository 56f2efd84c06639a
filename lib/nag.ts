import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Runs cdk-nag's AWS Solutions rules at synth. With cdk-nag 3 the pack is a validation plugin:
 * an unacknowledged error fails `cdk synth` (and `app.synth()` in tests). Acknowledgements sit
 * next to the resources they concern, in the construct, each with its reason.
 */
export function applyNagChecks(app: App): AwsSolutionsChecks {
  const checks = new AwsSolutionsChecks(app, { verbose: true });
  Validations.of(app).addPlugins(checks);
  return checks;
}
