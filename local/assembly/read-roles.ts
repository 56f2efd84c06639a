/**
 * Roles and the policies attached to them, across stacks (grants may live in another stack than
 * the role): inline role policies, `AWS::IAM::Policy`, customer managed policies by ARN, and the
 * AWS managed policies `policies.ts` knows.
 */
import type { PolicyStatement } from '../runtime/contract';
import { MANAGED_POLICIES, normalizeStatements } from './policies';
import { existingResources, type StackState } from './stack-state';
import { list, str } from './values';

/** A role's whole policy by role name; `where` names the function asking, for warnings. */
export type PolicyOfRole = (roleName: string, where: string) => PolicyStatement[];

export function readRolePolicies(states: readonly StackState[], warnings: string[]): PolicyOfRole {
  const statementsByRoleName = new Map<string, PolicyStatement[]>();
  const addStatements = (roleName: string, statements: PolicyStatement[]) => {
    statementsByRoleName.set(roleName, [...(statementsByRoleName.get(roleName) ?? []), ...statements]);
  };
  const managedByArn = new Map<string, PolicyStatement[]>();
  const roleManagedArns = new Map<string, string[]>();
  for (const { state, logicalId, resource } of existingResources(states)) {
    const where = `${state.artifact.stackName}/${logicalId}`;
    if (resource.Type === 'AWS::IAM::Role') {
      const props = state.props(logicalId);
      const roleName = state.physicalName(logicalId);
      for (const policy of list<Record<string, unknown>>(props.Policies)) {
        addStatements(roleName, normalizeStatements(policy.PolicyDocument, where, warnings));
      }
      roleManagedArns.set(
        roleName,
        list(props.ManagedPolicyArns).map((arn) => str(arn)),
      );
    } else if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      const props = state.props(logicalId);
      const statements = normalizeStatements(props.PolicyDocument, where, warnings);
      for (const role of list(props.Roles)) addStatements(str(role), statements);
      if (resource.Type === 'AWS::IAM::ManagedPolicy')
        managedByArn.set(str(state.ctx.ref(logicalId)), statements);
    }
  }
  return (roleName, where) => {
    const statements = [...(statementsByRoleName.get(roleName) ?? [])];
    for (const arn of roleManagedArns.get(roleName) ?? []) {
      const own = managedByArn.get(arn);
      const awsManaged = /^arn:aws[a-z-]*:iam::aws:policy\/(.+)$/.exec(arn)?.[1];
      if (own) statements.push(...own);
      else if (awsManaged && MANAGED_POLICIES[awsManaged])
        statements.push(...(MANAGED_POLICIES[awsManaged] ?? []));
      else warnings.push(`${where}: managed policy ${arn} is unknown locally; its grants are not applied`);
    }
    return statements;
  };
}
