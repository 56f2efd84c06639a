/**
 * The CloudWatch dashboard and the recovery failure rate alarm, read from the synthesized template
 * of the real app (bundling skipped).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { APP_METRICS } from '../../lambdas/adapters/telemetry-names';
import { AssessmentWebSocketBackend } from '../../lib/assessment-websocket-backend';
import { MIN_RECOVERY_ATTEMPTS } from '../../lib/backend-alarms';
import { logicalId, NO_BUNDLING, synthesize, withoutSchemaValidation } from './synth';

interface Widget {
  type: string;
  width: number;
  height: number;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: unknown[][];
    alarms?: unknown[];
    annotations?: { alarms?: unknown[] };
    period?: number;
  };
}

/**
 * The dashboard body is a Fn::Join of JSON text and tokens (function and table names, the API id),
 * which CDK places inside JSON strings; each token becomes `<{'Ref':'...'}>` so the text parses.
 */
function widgetsOf(body: unknown): Widget[] {
  const parts = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const text = parts
    .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replaceAll('"', "'")}>`))
    .join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

const titled = (widgets: Widget[], title: string) => {
  const found = widgets.filter((w) => w.properties.title === title);
  expect(found).toHaveLength(1);
  return found[0] as Widget;
};

/** The metric names a graph plots (`[namespace, name, ...dimensions, options]` rows). */
const metricNames = (widget: Widget) =>
  (widget.properties.metrics ?? []).flatMap((row) => {
    const named = row.find((cell, i) => i === 1 && typeof cell === 'string');
    return typeof named === 'string' ? [named] : [];
  });

const expressions = (widget: Widget) =>
  (widget.properties.metrics ?? []).flatMap((row) => {
    const options = row.at(-1) as { expression?: string } | undefined;
    return options?.expression ? [options.expression] : [];
  });

describe('dashboard', () => {
  const { stack, template } = synthesize();
  const backend = stack.backend;
  const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
  const [dashboard] = Object.values(dashboards) as {
    Properties: { DashboardName: unknown; DashboardBody: unknown };
  }[];
  const widgets = dashboard ? widgetsOf(dashboard.Properties.DashboardBody) : [];

  test('one dashboard, named after the stack, exposed on the construct', () => {
    expect(Object.keys(dashboards)).toHaveLength(1);
    expect(backend.dashboard).toBeDefined();
    expect(JSON.stringify(dashboard?.Properties.DashboardName)).toContain(`${stack.stackName}-Dashboard`);
  });

  test('rows cover connections, auth, recoveries, per-test reconnects, answers, errors, Lambda and DynamoDB', () => {
    const titles = widgets.map((w) => w.properties.title).filter(Boolean);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Alarms',
        'Connections',
        'Auth results',
        'Reconnects and recoveries',
        'Time from drop to recovered auth_success (ms)',
        'Recovery failure rate (%)',
        'Reconnects per test',
        'Assessments and answers',
        'Errors',
        'Lambda errors',
        'Lambda throttles',
        'Lambda duration p99 (ms)',
        'DynamoDB throttled requests',
        'DynamoDB system errors',
      ]),
    );
    // A dashboard row is 24 units wide: no widget is cut off.
    for (const widget of widgets) expect(widget.width).toBeLessThanOrEqual(24);
  });

  test('application graphs plot the metrics the functions emit, with the deployment dimension', () => {
    expect(metricNames(titled(widgets, 'Reconnects and recoveries'))).toEqual([
      APP_METRICS.reconnected,
      APP_METRICS.recovered,
      APP_METRICS.recoveryFailed,
      APP_METRICS.sessionReplaced,
    ]);
    const latency = titled(widgets, 'Time from drop to recovered auth_success (ms)');
    expect(new Set(metricNames(latency))).toEqual(new Set([APP_METRICS.recoveryLatency]));
    const stats = (latency.properties.metrics ?? []).map((row) => (row.at(-1) as { stat?: string }).stat);
    expect(stats).toEqual(['p50', 'p90', 'p99', 'Maximum']);
    expect(metricNames(titled(widgets, 'Auth results'))).toEqual(
      expect.arrayContaining([
        APP_METRICS.authenticated,
        'auth_error_invalid_token',
        'auth_error_expired_token',
      ]),
    );
    expect(metricNames(titled(widgets, 'Assessments and answers'))).toEqual([
      APP_METRICS.assessmentStarted,
      APP_METRICS.answerStored,
      APP_METRICS.assessmentSubmitted,
      APP_METRICS.assessmentTimedOut,
    ]);
    for (const row of titled(widgets, 'Reconnects and recoveries').properties.metrics ?? []) {
      expect(row).toEqual(
        expect.arrayContaining([
          'AssessmentBackend',
          'deployment',
          stack.stackName,
          'service',
          'assessment-websocket',
        ]),
      );
    }
  });

  test('per-test graphs search the test_id dimension of this deployment only', () => {
    const [search] = expressions(titled(widgets, 'Reconnects per test'));
    expect(search).toBe(
      `SEARCH('{AssessmentBackend,deployment,service,test_id} MetricName="${APP_METRICS.reconnected}" ` +
        `deployment="${stack.stackName}"', 'Sum', 300)`,
    );
  });

  test('Lambda graphs have one line per function, DynamoDB graphs one per table', () => {
    const functions = Object.keys(backend.functions);
    expect(titled(widgets, 'Lambda errors').properties.metrics).toHaveLength(functions.length);
    const tables = Object.keys(backend.tables);
    // Each table line is a FILL sum over five operations: one expression row plus five hidden inputs.
    const throttles = titled(widgets, 'DynamoDB throttled requests');
    expect(expressions(throttles)).toHaveLength(tables.length);
  });

  test('the alarm status widget lists every alarm of the construct', () => {
    const status = titled(widgets, 'Alarms');
    expect(status.properties.alarms).toHaveLength(backend.alarms.length);
  });

  test('dashboard: false creates none', () => {
    const app = new App({ context: NO_BUNDLING });
    const bare = new Stack(app, 'Bare');
    const construct = new AssessmentWebSocketBackend(bare, 'Backend', { dashboard: false });
    expect(construct.dashboard).toBeUndefined();
    expect(bare.node.findAll().some((c) => c.node.id === 'Dashboard')).toBe(false);
  });
});

describe('recovery failure rate alarm', () => {
  const { stack, template } = synthesize();
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
    Properties: {
      Threshold: number;
      ComparisonOperator: string;
      TreatMissingData: string;
      Metrics?: {
        Id: string;
        Expression?: string;
        ReturnData?: boolean;
        MetricStat?: {
          Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] };
          Stat: string;
          Period: number;
        };
      }[];
    };
  }[];
  const rate = alarms.filter((a) => a.Properties.Metrics?.some((m) => m.Expression?.includes('failed')));

  test('one alarm: failed recoveries above 5% of attempts, judged only with enough attempts', () => {
    expect(rate).toHaveLength(1);
    const alarm = rate[0]?.Properties;
    expect(alarm?.Threshold).toBe(5);
    expect(alarm?.ComparisonOperator).toBe('GreaterThanThreshold');
    expect(alarm?.TreatMissingData).toBe('notBreaching');
    const expression = alarm?.Metrics?.find((m) => m.Expression)?.Expression;
    expect(expression).toBe(
      `IF(FILL(recovered, 0) + FILL(failed, 0) >= ${MIN_RECOVERY_ATTEMPTS}, ` +
        '100 * FILL(failed, 0) / (FILL(recovered, 0) + FILL(failed, 0)), 0)',
    );
  });

  test('its inputs are the aggregate recovered / recovery_failed sums of this deployment', () => {
    const inputs = (rate[0]?.Properties.Metrics ?? []).filter((m) => m.MetricStat);
    expect(
      inputs.map((m) => [m.Id, m.MetricStat?.Metric.MetricName, m.MetricStat?.Stat, m.MetricStat?.Period]),
    ).toEqual([
      ['recovered', APP_METRICS.recovered, 'Sum', 300],
      ['failed', APP_METRICS.recoveryFailed, 'Sum', 300],
    ]);
    for (const input of inputs) {
      expect(input.ReturnData).toBe(false);
      expect(input.MetricStat?.Metric.Namespace).toBe('AssessmentBackend');
      // No test_id dimension: an alarm cannot search, so it watches the aggregate series.
      expect(input.MetricStat?.Metric.Dimensions).toEqual(
        expect.arrayContaining([
          { Name: 'deployment', Value: stack.stackName },
          { Name: 'service', Value: 'assessment-websocket' },
        ]),
      );
      expect(input.MetricStat?.Metric.Dimensions).toHaveLength(2);
    }
  });

  test('the threshold is a construct prop, checked at synth', () => {
    const make = (recoveryFailureRatePercent: number) => {
      const app = new App({ context: NO_BUNDLING });
      return new AssessmentWebSocketBackend(new Stack(app, 'S'), 'Backend', {
        alarms: { recoveryFailureRatePercent },
      });
    };
    const custom = make(20);
    expect(custom.node.findAll().length).toBeGreaterThan(0);
    expect(() => make(-1)).toThrow(/recoveryFailureRatePercent/);
    expect(() => make(100)).toThrow(/recoveryFailureRatePercent/);
  });

  test('the construct exposes it among its alarms', () => {
    const ids = stack.backend.alarms.map((a) => logicalId(a));
    expect(ids.some((id) => id.includes('RecoveryFailureRate'))).toBe(true);
  });
});

describe('proctor claims', () => {
  test('the construct passes configured claim names to every function, and nothing by default', () => {
    const envs = (props: ConstructorParameters<typeof AssessmentWebSocketBackend>[2]) => {
      const app = new App({ context: NO_BUNDLING });
      const stack = new Stack(app, 'S');
      new AssessmentWebSocketBackend(stack, 'Backend', props);
      const functions = withoutSchemaValidation(() => Template.fromStack(stack)).findResources(
        'AWS::Lambda::Function',
      );
      return Object.values(functions)
        .map(
          (f) => (f as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties,
        )
        .map((p) => p.Environment?.Variables ?? {})
        .filter((v) => v.CONNECTIONS_TABLE !== undefined);
    };
    const custom = envs({ proctor: { claim: 'roles', role: 'staff', testsClaim: 'exams' } });
    expect(custom.length).toBeGreaterThan(0);
    for (const env of custom) {
      expect(env).toMatchObject({
        PROCTOR_CLAIM: 'roles',
        PROCTOR_ROLE: 'staff',
        PROCTOR_TESTS_CLAIM: 'exams',
      });
    }
    for (const env of envs({})) expect(env.PROCTOR_CLAIM).toBeUndefined();
  });
});
