/**
 * Shared helpers for the infrastructure tests: synthesize the real app (lib/app.ts, nag checks
 * included) without bundling, and read IAM statements out of a template.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../lib/app';
import type { AssessmentStack } from '../../lib/assessment-stack';

/** Context that skips esbuild: the tests look at the template, not at the bundles. */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/**
 * For template tests: cdk-nag findings are reported but do not abort synth (nag.test.ts fails on
 * them), so a template assertion can still say what is wrong.
 */
const REPORT_ONLY = { '@aws-cdk/core:failSynthOnValidationErrors': false };

export interface Synthesized {
  readonly app: App;
  readonly stack: AssessmentStack;
  readonly template: Template;
}

export function synthesize(context: Record<string, unknown> = {}): Synthesized {
  const app = new App({ context: { ...NO_BUNDLING, ...REPORT_ONLY, ...context } });
  const stack = buildApp(app);
  return { app, stack, template: withoutSchemaValidation(() => Template.fromStack(stack)) };
}

/**
 * Skips aws-cdk-lib's built-in CloudFormation schema validator, which costs about 11 s of CPU per
 * jest worker. Plugins such as cdk-nag still run. `npm run synth` runs the schema validator.
 */
export function withoutSchemaValidation<T>(fn: () => T): T {
  const saved = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = saved;
  }
}

export function logicalId(construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!child) throw new Error(`${construct.node.path} has no default child`);
  return Stack.of(construct).getLogicalId(child as never);
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
}

export interface PolicyResource {
  readonly logicalId: string;
  readonly type: string;
  /** Logical ids of the roles the policy is attached to. */
  readonly roles: string[];
  readonly statements: Statement[];
}

/** Every IAM policy in the template: standalone policies and inline policies of roles. */
export function iamPolicies(template: Template): PolicyResource[] {
  const result: PolicyResource[] = [];
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties?: Record<string, unknown> }
  >;
  for (const [id, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      const doc = props.PolicyDocument as { Statement: Statement[] };
      const roles = ((props.Roles as { Ref: string }[] | undefined) ?? []).map((r) => r.Ref);
      result.push({ logicalId: id, type: resource.Type, roles, statements: doc.Statement });
    }
    if (resource.Type === 'AWS::IAM::Role') {
      for (const inline of (props.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ??
        []) {
        result.push({
          logicalId: id,
          type: resource.Type,
          roles: [id],
          statements: inline.PolicyDocument.Statement,
        });
      }
    }
  }
  return result;
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** All statements granted to one function's execution role. */
export function statementsOfFunction(template: Template, functionLogicalId: string): Statement[] {
  const fn = template.toJSON().Resources[functionLogicalId];
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return iamPolicies(template)
    .filter((p) => p.roles.includes(roleId))
    .flatMap((p) => p.statements);
}
