import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../lib/app';
import { NO_BUNDLING, withoutSchemaValidation } from './synth';

interface Report {
  pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
}

/**
 * Synthesizes the real app; in jest (NODE_ENV=test) an unacknowledged nag error throws here.
 * aws-cdk-lib's CloudFormation schema validator is skipped (about 11 s of CPU); `npm run synth`
 * runs it.
 */
function synthWithNag(context: Record<string, unknown> = {}): { app: App; report: Report } {
  const app = new App({ context: { ...NO_BUNDLING, ...context } });
  buildApp(app);
  const assembly = withoutSchemaValidation(() => app.synth());
  const report: Report = JSON.parse(
    fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'),
  );
  return { app, report };
}

const findings = (report: Report): string[] =>
  report.pluginReports.flatMap((r) => r.violations.map((v) => `${r.pluginName} ${v.severity} ${v.ruleName}`));

describe.each<[string, Record<string, unknown>]>([
  ['HS256, generated secret', {}],
  [
    'HS256, existing secret',
    { jwtSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf' },
  ],
  ['JWKS', { jwtJwksUrl: 'https://id.example.com/.well-known/jwks.json', stageName: 'live' }],
])('cdk-nag AwsSolutions on the real app (%s)', (_label, context) => {
  let app: App;
  let report: Report;
  beforeAll(() => {
    ({ app, report } = synthWithNag(context));
  });

  test('synth reports no finding, error or warning, from any validation plugin', () => {
    expect(findings(report)).toEqual([]);
  });

  test('a direct run of the rule pack finds nothing unacknowledged', () => {
    const result = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
    expect(
      result.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
    expect(result.success).toBe(true);
  });
});

test('also with an account and region set (ARNs then carry a literal region)', () => {
  const app = new App({ context: NO_BUNDLING });
  const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  process.env.CDK_DEFAULT_ACCOUNT = '123456789012';
  process.env.CDK_DEFAULT_REGION = 'eu-west-1';
  try {
    buildApp(app);
  } finally {
    restore('CDK_DEFAULT_ACCOUNT', saved.account);
    restore('CDK_DEFAULT_REGION', saved.region);
  }
  expect(() => withoutSchemaValidation(() => app.synth())).not.toThrow();
  expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
});

test('every acknowledgement names an AwsSolutions rule and gives a concrete reason', () => {
  const { app } = synthWithNag();
  const acks: [string, string, string][] = [];
  const visit = (c: IConstruct) => {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        acks.push([c.node.path, id, reason]);
      }
    }
    for (const child of c.node.children) visit(child);
  };
  visit(app);
  expect(acks.length).toBeGreaterThan(0);
  for (const [where, id, reason] of acks) {
    expect(`${where} ${id}`).toMatch(/AwsSolutions-[A-Z]+\d+/);
    expect(reason.length).toBeGreaterThan(60);
  }
  // Wildcards are acknowledged one resource at a time, never the whole IAM5 rule.
  expect(acks.map(([, id]) => id).filter((id) => /IAM5$/.test(id))).toEqual([]);
});

test('an unacknowledged finding fails synth (so the checks above can fail)', () => {
  const app = new App({ context: NO_BUNDLING });
  const stack = buildApp(app);
  const role = new iam.Role(stack, 'TooBroad', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
  expect(() => withoutSchemaValidation(() => app.synth())).toThrow(
    /AwsSolutions-IAM5\[Action::dynamodb:\*\]/,
  );
  expect(Stack.of(role).stackName).toBe('AssessmentWebSocketBackend');
});

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
