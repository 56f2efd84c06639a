/** Names dashboards and alarms rely on; shared by the Powertools adapter and the CDK construct. */
export const SERVICE_NAME = 'assessment-websocket';
export const METRICS_NAMESPACE = 'AssessmentBackend';
/** Metric dimension naming the deployment (the stack), so two stacks in one account never mix. */
export const DEPLOYMENT_DIMENSION = 'deployment';
