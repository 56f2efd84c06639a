/** The core's Telemetry port on Powertools: structured JSON logs and CloudWatch EMF metrics. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricScope, Telemetry } from '../core/ports';
import { DEPLOYMENT_DIMENSION, METRICS_NAMESPACE, SERVICE_NAME, TEST_ID_DIMENSION } from './telemetry-names';

export { METRICS_NAMESPACE } from './telemetry-names';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

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

  count(metric: string, value = 1, scope?: MetricScope): void {
    this.add(metric, MetricUnit.Count, value, scope);
  }
  timing(metric: string, ms: number, scope?: MetricScope): void {
    this.add(metric, MetricUnit.Milliseconds, ms, scope);
  }

  /**
   * Every metric goes into the invocation's document (service and deployment dimensions: what the
   * alarms watch). A per-test copy is a separate document with a `test_id` dimension as well, so
   * the dashboard can search one series per test without multiplying every other metric.
   */
  private add(metric: string, unit: Unit, value: number, scope: MetricScope | undefined): void {
    this.metrics.addMetric(metric, unit, value);
    this.pending = true;
    if (scope?.testId !== undefined) {
      const perTest = this.metrics.singleMetric();
      perTest.addDimension(TEST_ID_DIMENSION, scope.testId);
      perTest.addMetric(metric, unit, value);
    }
  }
  /** Called at the end of every invocation; an invocation that counted nothing emits nothing. */
  flush(): void {
    if (!this.pending) return;
    this.pending = false;
    this.metrics.publishStoredMetrics();
  }
}
