/**
 * The Powertools adapter's EMF output: every metric in the invocation's document with the service
 * and deployment dimensions (what the alarms watch), and the per-test copy in a document of its
 * own with a test_id dimension as well (what the dashboard's per-test graphs search).
 */
import { PowertoolsTelemetry } from '../../lambdas/adapters/powertools-telemetry';

interface Emf {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/**
 * The test environment disables metrics (test/support/env.ts); here they are on, and
 * POWERTOOLS_DEV makes Powertools print through the global console, which the test can watch.
 */
function capture(work: (telemetry: PowertoolsTelemetry) => void): Emf[] {
  const saved = { dev: process.env.POWERTOOLS_DEV, disabled: process.env.POWERTOOLS_METRICS_DISABLED };
  process.env.POWERTOOLS_DEV = 'true';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  try {
    work(new PowertoolsTelemetry('Stack-1'));
  } finally {
    log.mockRestore();
    for (const [name, value] of [
      ['POWERTOOLS_DEV', saved.dev],
      ['POWERTOOLS_METRICS_DISABLED', saved.disabled],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  return lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Emf);
}

it('per-test metrics: one aggregate series and one with test_id; durations in milliseconds', () => {
  const docs = capture((telemetry) => {
    telemetry.count('reconnected', 1, { testId: 'exam-1' });
    telemetry.timing('recovery_latency', 4200, { testId: 'exam-1' });
    telemetry.count('answer_stored');
    telemetry.flush();
  });
  const perTest = docs.filter((d) => d.test_id === 'exam-1');
  expect(perTest.map((d) => d._aws.CloudWatchMetrics[0]?.Dimensions)).toEqual([
    [['service', 'deployment', 'test_id']],
    [['service', 'deployment', 'test_id']],
  ]);
  expect(perTest.map((d) => [d.reconnected ?? d.recovery_latency, d.deployment])).toEqual([
    [1, 'Stack-1'],
    [4200, 'Stack-1'],
  ]);
  const aggregate = docs.find((d) => d.test_id === undefined);
  expect(aggregate?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'deployment']]);
  expect(aggregate).toMatchObject({ reconnected: 1, recovery_latency: 4200, answer_stored: 1 });
  const units = Object.fromEntries(
    (aggregate?._aws.CloudWatchMetrics[0]?.Metrics ?? []).map((m) => [m.Name, m.Unit]),
  );
  expect(units).toEqual({ reconnected: 'Count', recovery_latency: 'Milliseconds', answer_stored: 'Count' });
});
