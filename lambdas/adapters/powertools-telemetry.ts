/** The core's Telemetry port on Powertools: structured JSON logs and CloudWatch EMF metrics. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Telemetry } from '../core/ports';
import { DEPLOYMENT_DIMENSION, METRICS_NAMESPACE, SERVICE_NAME } from './telemetry-names';

export { METRICS_NAMESPACE } from './telemetry-names';

export class PowertoolsTelemetry implements Telemetry {
  readonly logger = new Logger({ serviceName: SERVICE_NAME });
  readonly metrics: Metrics;

  /** `deploymentName` becomes a dimension of every metric (the alarms select on it). */
  constructor(deploymentName?: string) {
    this.metrics = new Metrics({
      namespace: METRICS_NAMESPACE,
      serviceName: SERVICE_NAME,
      ...(deploymentName ? { defaultDimensions: { [DEPLOYMENT_DIMENSION]: deploymentName } } : {}),
    });
  }

  info(message: string, details: Record<string, unknown> = {}): void {
    this.logger.info(message, details);
  }
  warn(message: string, details: Record<string, unknown> = {}): void {
    this.logger.warn(message, details);
  }
  error(message: string, error: unknown, details: Record<string, unknown> = {}): void {
    this.logger.error(message, { ...details, error: error instanceof Error ? error : String(error) });
  }
  private pending = false;

  count(metric: string, value = 1): void {
    this.metrics.addMetric(metric, MetricUnit.Count, value);
    this.pending = true;
  }
  /** Called at the end of every invocation; an invocation that counted nothing emits nothing. */
  flush(): void {
    if (!this.pending) return;
    this.pending = false;
    this.metrics.publishStoredMetrics();
  }
}
