import { Duration, Stack } from 'aws-cdk-lib';
import type { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  APP_METRICS,
  AUTH_ERROR_METRICS,
  DEPLOYMENT_DIMENSION,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  TEST_ID_DIMENSION,
} from '../lambdas/adapters/telemetry-names';
import { ALARMED_TABLE_OPERATIONS } from './backend-alarms';

/** Dashboards plot 5-minute points: the same window the alarms judge. */
const PERIOD = Duration.minutes(5);
const FULL = 24;
const HALF = 12;
const THIRD = 8;
const HEIGHT = 6;

export interface BackendDashboardProps {
  /** Functions by name, as in ROUTES / SCHEDULED_JOBS. */
  readonly functions: Readonly<Record<string, lambda.Function>>;
  readonly webSocketApi: WebSocketApi;
  readonly stage: WebSocketStage;
  /** Tables by name. */
  // Table, not ITable: under exactOptionalPropertyTypes aws-cdk-lib's Table does not satisfy ITable.
  readonly tables: Readonly<Record<string, dynamodb.Table>>;
  /** Alarms shown at the top of the dashboard (state and threshold). */
  readonly alarms: readonly cloudwatch.Alarm[];
  /** The recovery failure rate alarm, drawn with its threshold on the recoveries row. */
  readonly recoveryAlarm?: cloudwatch.Alarm;
}

/**
 * One CloudWatch dashboard for the people who run an exam: connections and auth results, recoveries
 * and their latency, reconnects per test, answers, errors, then Lambda and DynamoDB health. How to
 * read it is in docs/operations.md ("The dashboard").
 */
export class BackendDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: BackendDashboardProps) {
    super(scope, id);
    const deployment = Stack.of(this).stackName;
    const app = (metricName: string, statistic = 'Sum', label?: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: SERVICE_NAME, [DEPLOYMENT_DIMENSION]: deployment },
        statistic,
        period: PERIOD,
        label: label ?? metricName,
      });
    const stageDimensions = { ApiId: props.webSocketApi.apiId, Stage: props.stage.stageName };
    const api = (metricName: string, statistic = 'Sum') =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: stageDimensions,
        statistic,
        period: PERIOD,
      });
    /** One line per test: the per-test series carry the test_id dimension (see telemetry-names.ts). */
    const perTest = (metricName: string, label: string) =>
      new cloudwatch.MathExpression({
        expression:
          `SEARCH('{${METRICS_NAMESPACE},${DEPLOYMENT_DIMENSION},service,${TEST_ID_DIMENSION}} ` +
          `MetricName="${metricName}" ${DEPLOYMENT_DIMENSION}="${deployment}"', 'Sum', ${PERIOD.toSeconds()})`,
        usingMetrics: {},
        label,
        period: PERIOD,
      });
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      options: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: HALF, height: HEIGHT, period: PERIOD, ...options });

    const functions = Object.entries(props.functions);
    const perFunction = (title: string, metric: (fn: lambda.Function) => cloudwatch.Metric) =>
      graph(
        title,
        functions.map(([name, fn]) => metric(fn).with({ label: name, period: PERIOD })),
        { width: THIRD },
      );
    const tables = Object.entries(props.tables);
    const perTable = (title: string, metricName: string) =>
      graph(
        title,
        tables.map(([name, table]) => sumOverOperations(table, metricName, name)),
        { width: THIRD },
      );

    const recoveries = [
      app(APP_METRICS.reconnected, 'Sum', 'reconnected'),
      app(APP_METRICS.recovered, 'Sum', 'recovered'),
      app(APP_METRICS.recoveryFailed, 'Sum', 'recovery failed'),
      app(APP_METRICS.sessionReplaced, 'Sum', 'session replaced'),
    ];

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${deployment}-${id}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown:
              `## Assessment backend: ${deployment}\n` +
              'Top: alarms. Then the exam as students live it (connections, sign-ins, recoveries, answers), ' +
              'then the machinery (Lambda, DynamoDB). How to read each graph and what to do about each alarm: ' +
              '`docs/operations.md`, "The dashboard" and "Monitoring and alarms".',
            width: FULL,
            height: 2,
          }),
        ],
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: [...props.alarms],
            width: FULL,
            height: Math.max(2, Math.ceil(props.alarms.length / 6) + 1),
          }),
        ],
        [
          graph('Connections', [
            api('ConnectCount'),
            app(APP_METRICS.connected),
            app(APP_METRICS.authenticated),
            app(APP_METRICS.disconnected),
          ]),
          graph('Auth results', [
            app(APP_METRICS.authenticated),
            app(APP_METRICS.reauthenticated),
            ...AUTH_ERROR_METRICS.map((name) => app(name)),
          ]),
        ],
        [
          graph('Reconnects and recoveries', recoveries, { width: THIRD }),
          graph(
            'Time from drop to recovered auth_success (ms)',
            ['p50', 'p90', 'p99', 'Maximum'].map((statistic) =>
              app(APP_METRICS.recoveryLatency, statistic, statistic),
            ),
            { width: THIRD },
          ),
          props.recoveryAlarm
            ? new cloudwatch.AlarmWidget({
                title: 'Recovery failure rate (%)',
                alarm: props.recoveryAlarm,
                width: THIRD,
                height: HEIGHT,
              })
            : graph('Recovery failure rate (%)', [], { width: THIRD }),
        ],
        [
          graph('Reconnects per test', [perTest(APP_METRICS.reconnected, 'reconnected')], { width: THIRD }),
          graph('Recovery failures per test', [perTest(APP_METRICS.recoveryFailed, 'recovery failed')], {
            width: THIRD,
          }),
          graph('Sessions replaced per test', [perTest(APP_METRICS.sessionReplaced, 'replaced')], {
            width: THIRD,
          }),
        ],
        [
          graph('Assessments and answers', [
            app(APP_METRICS.assessmentStarted),
            app(APP_METRICS.answerStored),
            app(APP_METRICS.assessmentSubmitted),
            app(APP_METRICS.assessmentTimedOut),
          ]),
          graph('Errors', [
            app(APP_METRICS.internalError),
            app(APP_METRICS.rateLimited),
            api('ExecutionError'),
            api('ClientError'),
          ]),
        ],
        [
          perFunction('Lambda errors', (fn) => fn.metricErrors({ statistic: 'Sum' })),
          perFunction('Lambda throttles', (fn) => fn.metricThrottles({ statistic: 'Sum' })),
          perFunction('Lambda duration p99 (ms)', (fn) => fn.metricDuration({ statistic: 'p99' })),
        ],
        [
          perTable('DynamoDB throttled requests', 'ThrottledRequests'),
          perTable('DynamoDB system errors', 'SystemErrors'),
          graph(
            'DynamoDB consumed capacity',
            tables.flatMap(([name, table]) => [
              table.metricConsumedReadCapacityUnits({
                statistic: 'Sum',
                period: PERIOD,
                label: `${name} read`,
              }),
              table.metricConsumedWriteCapacityUnits({
                statistic: 'Sum',
                period: PERIOD,
                label: `${name} write`,
              }),
            ]),
            { width: THIRD },
          ),
        ],
      ],
    });
  }
}

/** Like the table alarms: the per-operation metric summed over the operations the functions use. */
function sumOverOperations(
  table: dynamodb.Table,
  metricName: string,
  label: string,
): cloudwatch.MathExpression {
  // Ids are unique per graph, and a graph has one of these per table.
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  for (const operation of ALARMED_TABLE_OPERATIONS) {
    usingMetrics[`${label.replace(/[^A-Za-z0-9]/g, '').toLowerCase()}${operation}`] = table.metric(
      metricName,
      {
        dimensionsMap: { TableName: table.tableName, Operation: operation },
        statistic: 'Sum',
        period: PERIOD,
      },
    );
  }
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics)
      .map((key) => `FILL(${key}, 0)`)
      .join(' + '),
    usingMetrics,
    label,
    period: PERIOD,
  });
}
