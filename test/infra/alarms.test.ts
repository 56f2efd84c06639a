import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TABLE_DEFINITIONS, type TableName } from '../../lambdas/adapters/dynamodb/table-definitions';
import { ROUTES, SCHEDULED_JOBS } from '../../lambdas/routes';
import { buildApp } from '../../lib/app';
import { AssessmentWebSocketBackend } from '../../lib/assessment-websocket-backend';
import { ALARMED_TABLE_OPERATIONS } from '../../lib/backend-alarms';
import { readStackContext } from '../../lib/stack-context';
import { logicalId, NO_BUNDLING, synthesize, withoutSchemaValidation } from './synth';

interface AlarmProps {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: unknown }[];
  Statistic?: string;
  ExtendedStatistic?: string;
  Period?: number;
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  TreatMissingData: string;
  AlarmActions?: unknown[];
  OKActions?: unknown[];
  Metrics?: {
    Id: string;
    Expression?: string;
    ReturnData?: boolean;
    MetricStat?: {
      Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] };
      Period: number;
      Stat: string;
    };
  }[];
}

function alarmsOf(template: Template): AlarmProps[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
    (r) => (r as { Properties: AlarmProps }).Properties,
  );
}

const dims = (a: { Dimensions?: { Name: string; Value: unknown }[] }) =>
  Object.fromEntries((a.Dimensions ?? []).map((d) => [d.Name, d.Value]));

/** The single alarm on namespace/metric whose dimensions equal `dimensions`. */
function alarmOn(
  template: Template,
  namespace: string,
  metricName: string,
  dimensions: Record<string, unknown>,
): AlarmProps {
  const found = alarmsOf(template).filter(
    (a) =>
      a.Namespace === namespace &&
      a.MetricName === metricName &&
      JSON.stringify(dims(a)) === JSON.stringify(dimensions),
  );
  expect(found).toHaveLength(1);
  return found[0] as AlarmProps;
}

/** The single math alarm whose metrics are `metricName` of the given table. */
function tableAlarm(template: Template, metricName: string, tableId: string): AlarmProps {
  const found = alarmsOf(template).filter((a) =>
    a.Metrics?.some(
      (m) =>
        m.MetricStat?.Metric.MetricName === metricName &&
        JSON.stringify(dims(m.MetricStat.Metric).TableName) === JSON.stringify({ Ref: tableId }),
    ),
  );
  expect(found).toHaveLength(1);
  return found[0] as AlarmProps;
}

const FUNCTION_TIMEOUT_MS: Record<string, number> = {
  ...Object.fromEntries(ROUTES.map((r) => [r.name, 10_000])),
  ...Object.fromEntries(SCHEDULED_JOBS.map((j) => [j.name, 58_000])),
};
const TABLES = Object.keys(TABLE_DEFINITIONS) as TableName[];
const FUNCTIONS = Object.keys(FUNCTION_TIMEOUT_MS);
/** 3 per function, 2 for the stage, internal_error, the recovery failure rate, 2 per table. */
const EXPECTED_ALARMS = FUNCTIONS.length * 3 + 2 + 1 + 1 + TABLES.length * 2;

describe('default alarms (no topic)', () => {
  const { stack, template } = synthesize();
  const backend = stack.backend;

  test('one alarm per signal, all exposed on the construct', () => {
    expect(FUNCTIONS).toEqual(expect.arrayContaining(['connect', 'auth', 'message', 'sweep']));
    expect(alarmsOf(template)).toHaveLength(EXPECTED_ALARMS);
    expect(backend.alarms).toHaveLength(EXPECTED_ALARMS);
  });

  test('every alarm: > threshold, one 5-minute period, missing data not breaching, no actions', () => {
    for (const alarm of alarmsOf(template)) {
      expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');
      expect(alarm.EvaluationPeriods).toBe(1);
      expect(alarm.TreatMissingData).toBe('notBreaching');
      expect(alarm.AlarmActions).toBeUndefined();
      expect(alarm.OKActions).toBeUndefined();
      const periods = alarm.Metrics
        ? alarm.Metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Period] : []))
        : [alarm.Period];
      for (const period of periods) expect(period).toBe(300);
    }
  });

  test.each(FUNCTIONS)('function %s: Errors > 0, Throttles > 0 (sums)', (name) => {
    const fn = { Ref: logicalId(backend.functions[name] as never) };
    for (const metric of ['Errors', 'Throttles']) {
      const alarm = alarmOn(template, 'AWS/Lambda', metric, { FunctionName: fn });
      expect(alarm.Statistic).toBe('Sum');
      expect(alarm.Threshold).toBe(0);
    }
  });

  test.each(FUNCTIONS)('function %s: p99 Duration > 80%% of its timeout', (name) => {
    const fnConstruct = backend.functions[name];
    const fn = { Ref: logicalId(fnConstruct as never) };
    const timeoutMs = FUNCTION_TIMEOUT_MS[name] as number;
    expect(fnConstruct?.timeout?.toMilliseconds()).toBe(timeoutMs);
    const alarm = alarmOn(template, 'AWS/Lambda', 'Duration', { FunctionName: fn });
    expect(alarm.ExtendedStatistic).toBe('p99');
    expect(alarm.Threshold).toBe(timeoutMs * 0.8);
  });

  test('the sweep: Duration above 46.4 s of its 58 s', () => {
    const fn = { Ref: logicalId(backend.functions.sweep as never) };
    expect(alarmOn(template, 'AWS/Lambda', 'Duration', { FunctionName: fn }).Threshold).toBe(46_400);
  });

  test('API Gateway stage: ExecutionError > 0 and ClientError > 100, by ApiId and Stage', () => {
    const stage = { ApiId: { Ref: logicalId(backend.webSocketApi) }, Stage: 'prod' };
    const execution = alarmOn(template, 'AWS/ApiGateway', 'ExecutionError', stage);
    expect(execution.Statistic).toBe('Sum');
    expect(execution.Threshold).toBe(0);
    const client = alarmOn(template, 'AWS/ApiGateway', 'ClientError', stage);
    expect(client.Statistic).toBe('Sum');
    expect(client.Threshold).toBe(100);
    // IntegrationError counts the 4XX that $connect returns on purpose (refused origin or test).
    expect(alarmsOf(template).filter((a) => a.MetricName === 'IntegrationError')).toEqual([]);
  });

  test('application metric internal_error > 0 (Powertools: namespace AssessmentBackend, service and deployment dimensions)', () => {
    const alarm = alarmOn(template, 'AssessmentBackend', 'internal_error', {
      deployment: stack.stackName,
      service: 'assessment-websocket',
    });
    // The functions emit the same deployment dimension, or the alarm would watch nothing.
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const env = (fn as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties
        .Environment?.Variables;
      if (env?.CONNECTIONS_TABLE) expect(env.DEPLOYMENT_NAME).toBe(stack.stackName);
    }
    expect(alarm.Statistic).toBe('Sum');
    expect(alarm.Threshold).toBe(0);
  });

  test.each(TABLES)(
    'table %s: ThrottledRequests and SystemErrors summed over the operations used',
    (name) => {
      const tableId = logicalId(backend.tables[name]);
      for (const metric of ['ThrottledRequests', 'SystemErrors']) {
        const alarm = tableAlarm(template, metric, tableId);
        expect(alarm.Threshold).toBe(0);
        const inputs = (alarm.Metrics ?? []).filter((m) => m.MetricStat);
        expect(inputs.length).toBeLessThanOrEqual(10); // CloudWatch's limit for one alarm
        expect(inputs.map((m) => m.MetricStat?.Metric)).toEqual(
          ALARMED_TABLE_OPERATIONS.map((operation) => ({
            Namespace: 'AWS/DynamoDB',
            MetricName: metric,
            Dimensions: expect.arrayContaining([
              { Name: 'TableName', Value: { Ref: tableId } },
              { Name: 'Operation', Value: operation },
            ]),
          })),
        );
        for (const input of inputs) {
          expect(input.MetricStat?.Stat).toBe('Sum');
          expect(input.ReturnData).toBe(false);
        }
        const [expression] = (alarm.Metrics ?? []).filter((m) => m.Expression);
        expect(expression?.ReturnData).toBe(true);
        // Each input is filled with 0, so an operation without data points leaves the sum defined.
        expect(expression?.Expression).toBe(inputs.map((m) => `FILL(${m.Id}, 0)`).join(' + '));
      }
    },
  );

  test('UserErrors is not alarmed: it has no table dimension (account and region wide)', () => {
    expect(JSON.stringify(alarmsOf(template))).not.toContain('UserErrors');
  });
});

describe('alarm topic', () => {
  const arn = 'arn:aws:sns:eu-west-1:123456789012:assessment-alarms';

  test('-c alarmTopicArn: every alarm notifies the topic on ALARM and on OK', () => {
    const { template, stack } = synthesize({ alarmTopicArn: arn });
    const alarms = alarmsOf(template);
    expect(alarms).toHaveLength(EXPECTED_ALARMS);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([arn]);
      expect(alarm.OKActions).toEqual([arn]);
    }
    // An imported topic: the stack creates no topic and no topic policy.
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::SNS::TopicPolicy', 0);
    expect(stack.backend.alarms).toHaveLength(EXPECTED_ALARMS);
  });

  test('construct prop alarms.topic: actions reference the topic', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'WithTopic');
    const topic = new sns.Topic(stack, 'Ops');
    new AssessmentWebSocketBackend(stack, 'Backend', { alarms: { topic, clientErrorThreshold: 25 } });
    const template = withoutSchemaValidation(() => Template.fromStack(stack));
    const ref = { Ref: logicalId(topic) };
    for (const alarm of alarmsOf(template)) {
      expect(alarm.AlarmActions).toEqual([ref]);
      expect(alarm.OKActions).toEqual([ref]);
    }
    expect(alarmsOf(template).find((a) => a.MetricName === 'ClientError')?.Threshold).toBe(25);
  });

  test('a bad alarms.clientErrorThreshold is refused', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Bad');
    expect(
      () => new AssessmentWebSocketBackend(stack, 'Backend', { alarms: { clientErrorThreshold: -1 } }),
    ).toThrow(/alarms.clientErrorThreshold must be a number >= 0, got -1/);
  });
});

describe('disabled', () => {
  test.each<[string, unknown]>([
    ['-c alarms=false', 'false'],
    ['cdk.json "alarms": false', false],
  ])('%s creates no alarm', (_label, value) => {
    const { template, stack } = synthesize({ alarms: value });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(stack.backend.alarms).toEqual([]);
  });

  test('construct prop alarms.enabled = false creates no alarm', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'NoAlarms');
    const backend = new AssessmentWebSocketBackend(stack, 'Backend', { alarms: { enabled: false } });
    expect(backend.alarms).toEqual([]);
    withoutSchemaValidation(() => Template.fromStack(stack)).resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });

  test('alarms=true is the default', () => {
    const { template } = synthesize({ alarms: 'true' });
    template.resourceCountIs('AWS::CloudWatch::Alarm', EXPECTED_ALARMS);
  });
});

describe('context keys alarms and alarmTopicArn', () => {
  const read = (context: Record<string, unknown>) => readStackContext(new App({ context }).node);

  test('read and passed on', () => {
    expect(read({})).toEqual({ jwt: { kind: 'hs256' } });
    expect(read({ alarms: 'false' })).toEqual({ jwt: { kind: 'hs256' }, alarms: false });
    expect(read({ alarmTopicArn: ' arn:aws:sns:us-east-1:123456789012:ops ' })).toEqual({
      jwt: { kind: 'hs256' },
      alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
    });
    expect(read({ alarmTopicArn: 'arn:aws-cn:sns:cn-north-1:123456789012:ops.fifo' }).alarmTopicArn).toBe(
      'arn:aws-cn:sns:cn-north-1:123456789012:ops.fifo',
    );
    expect(read({ alarmTopicArn: '' })).toEqual({ jwt: { kind: 'hs256' } });
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a queue ARN',
      { alarmTopicArn: 'arn:aws:sqs:eu-west-1:123456789012:ops' },
      /alarmTopicArn must be the ARN of an SNS topic \(arn:aws:sns:<region>:<account>:<topic name>\), got 'arn:aws:sqs/,
    ],
    ['a topic name', { alarmTopicArn: 'ops-alerts' }, /alarmTopicArn must be the ARN of an SNS topic/],
    [
      'a subscription ARN',
      { alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops:8a21d249-4329-4871-acc6-7be709c6ea7f' },
      /alarmTopicArn must be the ARN of an SNS topic/,
    ],
    ['a short account id', { alarmTopicArn: 'arn:aws:sns:eu-west-1:1234:ops' }, /alarmTopicArn/],
    ['alarms=maybe', { alarms: 'maybe' }, /alarms must be true or false, got "maybe"/],
    ['alarms=0', { alarms: 0 }, /alarms must be true or false, got 0/],
    [
      'a topic with alarms off',
      { alarms: false, alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' },
      /alarmTopicArn is set but alarms=false creates no alarms/,
    ],
  ])('%s stops synth', (_label, context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});

test('cdk-nag passes on the app with an alarm topic (nag.test.ts covers the default app)', () => {
  const app = new App({
    context: { ...NO_BUNDLING, alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' },
  });
  buildApp(app);
  // In jest an unacknowledged nag error makes synth throw.
  expect(() => withoutSchemaValidation(() => app.synth())).not.toThrow();
  const result = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
  expect(result.violations.map((v) => v.ruleName)).toEqual([]);
});
