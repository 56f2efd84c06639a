import { Duration, Stack, Token } from 'aws-cdk-lib';
import type { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  APP_METRICS,
  DEPLOYMENT_DIMENSION,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from '../lambdas/adapters/telemetry-names';
import { pascal } from './names';

/** Every alarm looks at 5-minute windows. */
export const ALARM_PERIOD = Duration.minutes(5);

/** Duration alarms fire when p99 exceeds this share of the function's timeout. */
export const DURATION_ALARM_RATIO = 0.8;

/**
 * The DynamoDB operations the functions use (lib-dynamodb Get/Put/Update/Delete/Query). The
 * per-table metrics need an `Operation` dimension, and an alarm may combine at most 10 metrics.
 */
export const ALARMED_TABLE_OPERATIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'] as const;

/** The Powertools metric the core counts when a request fails unexpectedly (lambdas/core/index.ts). */
export const INTERNAL_ERROR_METRIC = APP_METRICS.internalError;

/**
 * The recovery failure rate is only judged in windows with at least this many recovery attempts, so
 * one failure among two reconnects at 3 a.m. does not page anyone (each failure is logged anyway).
 */
export const MIN_RECOVERY_ATTEMPTS = 3;

export interface BackendAlarmsProps {
  /** Functions by name, as in ROUTES / SCHEDULED_JOBS. */
  readonly functions: Readonly<Record<string, lambda.Function>>;
  readonly webSocketApi: WebSocketApi;
  readonly stage: WebSocketStage;
  /** Tables by name. */
  // Table, not ITable: under exactOptionalPropertyTypes aws-cdk-lib's Table does not satisfy ITable.
  readonly tables: Readonly<Record<string, dynamodb.Table>>;
  /** Receives alarm and OK notifications; without it the alarms have no actions. */
  readonly topic?: sns.ITopic;
  /** ClientError count per 5 minutes above which the stage alarm fires. */
  readonly clientErrorThreshold: number;
  /** Share of failed recoveries (percent of recovery attempts per 5 minutes) above which the alarm fires. */
  readonly recoveryFailureRatePercent: number;
}

/**
 * CloudWatch alarms for the backend: Lambda errors, throttles and durations close to the timeout;
 * API Gateway execution and client errors of the stage; the application's `internal_error`
 * metric; DynamoDB throttles and system errors per table. Missing data never breaches: most of
 * these metrics have no data points while nothing goes wrong.
 */
export class BackendAlarms extends Construct {
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** Fires when too many reconnecting students did not get their assessment back. */
  public readonly recoveryFailureRate: cloudwatch.Alarm;
  private readonly created: cloudwatch.Alarm[] = [];
  private readonly action?: SnsAction;

  constructor(scope: Construct, id: string, props: BackendAlarmsProps) {
    super(scope, id);
    const rate = props.recoveryFailureRatePercent;
    if (!Token.isUnresolved(rate) && !(Number.isFinite(rate) && rate >= 0 && rate < 100)) {
      throw new Error(`alarms.recoveryFailureRatePercent must be a number from 0 to below 100, got ${rate}`);
    }
    if (props.topic) this.action = new SnsAction(props.topic);

    for (const [name, fn] of Object.entries(props.functions)) {
      const id = pascal(name);
      this.add(`${id}Errors`, fn.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }), {
        threshold: 0,
        description: `The ${name} function failed (errors, including timeouts) in the last 5 minutes. See its log group.`,
      });
      this.add(`${id}Throttles`, fn.metricThrottles({ period: ALARM_PERIOD, statistic: 'Sum' }), {
        threshold: 0,
        description: `Lambda throttled the ${name} function in the last 5 minutes (account or function concurrency limit).`,
      });
      if (fn.timeout) {
        const timeoutMs = fn.timeout.toMilliseconds();
        this.add(`${id}Duration`, fn.metricDuration({ period: ALARM_PERIOD, statistic: 'p99' }), {
          threshold: Math.round(timeoutMs * DURATION_ALARM_RATIO),
          description:
            `p99 duration of the ${name} function is above ${DURATION_ALARM_RATIO * 100}% of its ` +
            `${timeoutMs / 1000} s timeout.` +
            (name === 'sweep' ? ' The sweep is running out of budget: work is piling up.' : ''),
        });
      }
    }

    const stageDimensions = { ApiId: props.webSocketApi.apiId, Stage: props.stage.stageName };
    const apiMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: stageDimensions,
        statistic: 'Sum',
        period: ALARM_PERIOD,
      });
    this.add('ApiExecutionErrors', apiMetric('ExecutionError'), {
      threshold: 0,
      description: 'API Gateway could not call an integration of the WebSocket stage (ExecutionError).',
    });
    this.add('ApiClientErrors', apiMetric('ClientError'), {
      threshold: props.clientErrorThreshold,
      description:
        `More than ${props.clientErrorThreshold} requests in 5 minutes got a 4XX from API Gateway before ` +
        'reaching a function (ClientError): throttling, or misbehaving clients.',
    });

    this.add(
      'InternalErrors',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: INTERNAL_ERROR_METRIC,
        dimensionsMap: { service: SERVICE_NAME, [DEPLOYMENT_DIMENSION]: Stack.of(this).stackName },
        statistic: 'Sum',
        period: ALARM_PERIOD,
      }),
      {
        threshold: 0,
        description:
          'A request failed unexpectedly and the client got internal_error (application metric). ' +
          'The auth, message or default function logged the error ("<route> failed").',
      },
    );

    this.recoveryFailureRate = this.add(
      'RecoveryFailureRate',
      recoveryFailureRate(Stack.of(this).stackName),
      {
        threshold: props.recoveryFailureRatePercent,
        description:
          `More than ${props.recoveryFailureRatePercent}% of the reconnecting students with an assessment in progress ` +
          `got auth_success with recovery_error (no snapshot) in the last 5 minutes (at least ${MIN_RECOVERY_ATTEMPTS} ` +
          'attempts). The auth function logged why ("recovery lookup failed", or a test that no longer exists).',
      },
    );

    for (const [name, table] of Object.entries(props.tables)) {
      const id = `${pascal(name)}Table`;
      this.add(`${id}Throttles`, sumOverOperations(table, 'ThrottledRequests'), {
        threshold: 0,
        description: `DynamoDB throttled requests to the ${name} table.`,
      });
      this.add(`${id}SystemErrors`, sumOverOperations(table, 'SystemErrors'), {
        threshold: 0,
        description: `DynamoDB answered requests to the ${name} table with a 500 (SystemErrors).`,
      });
    }
    this.alarms = this.created;
  }

  private add(
    id: string,
    metric: cloudwatch.IMetric,
    options: { threshold: number; description: string },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: options.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    if (this.action) {
      alarm.addAlarmAction(this.action);
      alarm.addOkAction(this.action);
    }
    this.created.push(alarm);
    return alarm;
  }
}

/**
 * Failed recoveries as a percentage of recovery attempts (recovered + failed), 0 in windows with
 * fewer than MIN_RECOVERY_ATTEMPTS attempts. Uses the aggregate series (no test_id dimension).
 */
export function recoveryFailureRate(deployment: string): cloudwatch.MathExpression {
  const metric = (metricName: string) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: SERVICE_NAME, [DEPLOYMENT_DIMENSION]: deployment },
      statistic: 'Sum',
      period: ALARM_PERIOD,
    });
  return new cloudwatch.MathExpression({
    expression:
      `IF(FILL(recovered, 0) + FILL(failed, 0) >= ${MIN_RECOVERY_ATTEMPTS}, ` +
      '100 * FILL(failed, 0) / (FILL(recovered, 0) + FILL(failed, 0)), 0)',
    usingMetrics: { recovered: metric(APP_METRICS.recovered), failed: metric(APP_METRICS.recoveryFailed) },
    label: 'recovery failure rate (%)',
    period: ALARM_PERIOD,
  });
}

/**
 * The sum of a per-operation table metric over the operations the functions use. FILL makes each
 * series dense, so an operation without data points does not blank out the sum.
 */
function sumOverOperations(table: dynamodb.Table, metricName: string): cloudwatch.MathExpression {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  for (const operation of ALARMED_TABLE_OPERATIONS) {
    usingMetrics[operation.toLowerCase()] = table.metric(metricName, {
      dimensionsMap: { TableName: table.tableName, Operation: operation },
      statistic: 'Sum',
      period: ALARM_PERIOD,
    });
  }
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics)
      .map((key) => `FILL(${key}, 0)`)
      .join(' + '),
    usingMetrics,
    label: `${metricName} (${ALARMED_TABLE_OPERATIONS.join(', ')})`,
    period: ALARM_PERIOD,
  });
}
