/**
 * IAM's decision for one identity-based policy, one action and one resource, by the rules AWS
 * documents for identity policies:
 * - an applicable Deny wins over any Allow ('explicit-deny');
 * - otherwise an applicable Allow is needed ('allow'); without one the request is 'implicit-deny';
 * - actions match case-insensitively, with `*` and `?` wildcards (`dynamodb:Get*`, `*`);
 * - resources match case-sensitively; `*` alone matches everything, otherwise each of the first five
 *   colon-separated ARN fields is matched on its own (a wildcard there never spans a colon) and the
 *   resource part (after the fifth colon) may be matched across `/` and `:` (so
 *   `table/T*` also covers `table/T/index/I`, while `table/T` does not);
 * - NotAction / NotResource apply a statement to everything they do not name;
 * - a statement with a `Condition` applies only when its conditions hold for the request's
 *   context (conditions.ts).
 */
import type { PolicyStatement } from '../runtime/contract';
import { type CompiledConditions, compileConditions, EMPTY_CONTEXT, type RequestContext } from './conditions';
import { actionPattern, resourcePattern } from './patterns';

export { actionPattern, resourcePattern } from './patterns';

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

interface CompiledStatement {
  readonly deny: boolean;
  readonly actions: readonly RegExp[] | undefined;
  readonly notActions: readonly RegExp[] | undefined;
  readonly resources: readonly RegExp[] | undefined;
  readonly notResources: readonly RegExp[] | undefined;
  readonly conditions: CompiledConditions | undefined;
}

interface CompiledPolicy {
  readonly statements: readonly CompiledStatement[];
  /** Lower-cased condition keys any statement reads: what a request context may be asked for. */
  readonly conditionKeys: ReadonlySet<string>;
}

const compiledPolicies = new WeakMap<readonly PolicyStatement[], CompiledPolicy>();

function compile(policy: readonly PolicyStatement[]): CompiledPolicy {
  const cached = compiledPolicies.get(policy);
  if (cached) return cached;
  const conditionKeys = new Set<string>();
  const statements = policy.map((statement) => {
    const conditions =
      statement.conditions && Object.keys(statement.conditions).length > 0
        ? compileConditions(statement.conditions)
        : undefined;
    for (const key of conditions?.keys ?? []) conditionKeys.add(key);
    return {
      deny: statement.effect === 'Deny',
      actions: statement.actions?.map(actionPattern),
      notActions: statement.notActions?.map(actionPattern),
      resources: statement.resources?.map(resourcePattern),
      notResources: statement.notResources?.map(resourcePattern),
      conditions,
    };
  });
  const compiled = { statements, conditionKeys };
  compiledPolicies.set(policy, compiled);
  return compiled;
}

const anyMatches = (patterns: readonly RegExp[], value: string) => patterns.some((p) => p.test(value));

function applies(statement: CompiledStatement, action: string, resource: string): boolean {
  const actionApplies = statement.actions
    ? anyMatches(statement.actions, action)
    : statement.notActions
      ? !anyMatches(statement.notActions, action)
      : false;
  if (!actionApplies) return false;
  if (statement.resources) return anyMatches(statement.resources, resource);
  if (statement.notResources) return !anyMatches(statement.notResources, resource);
  return false;
}

export interface RequestDecision {
  readonly decision: Decision;
  /**
   * True when a statement with conditions applied to the action and resource, so another request
   * for the same pair may be decided otherwise: such a decision must not be cached.
   */
  readonly dependsOnRequest: boolean;
}

/**
 * The decision for `action` (e.g. `dynamodb:PutItem`) on `resourceArn` in a request's context
 * (asked only when a statement with conditions applies). Policies are compiled once per array
 * (kept by identity), so pass the same array on every call.
 */
export function evaluateRequest(
  policy: readonly PolicyStatement[],
  action: string,
  resourceArn: string,
  context: RequestContext = EMPTY_CONTEXT,
): RequestDecision {
  let allowed = false;
  let dependsOnRequest = false;
  for (const statement of compile(policy).statements) {
    if (!applies(statement, action, resourceArn)) continue;
    if (statement.conditions) {
      dependsOnRequest = true;
      if (!statement.conditions.holds(context, statement.deny ? 'Deny' : 'Allow')) continue;
    }
    if (statement.deny) return { decision: 'explicit-deny', dependsOnRequest };
    allowed = true;
  }
  return { decision: allowed ? 'allow' : 'implicit-deny', dependsOnRequest };
}

/** The decision alone; a policy with conditions is judged against `context` (none: every key absent). */
export function evaluate(
  policy: readonly PolicyStatement[],
  action: string,
  resourceArn: string,
  context?: RequestContext,
): Decision {
  return evaluateRequest(policy, action, resourceArn, context).decision;
}

/** The condition keys a policy's statements read, lower-cased (empty for a policy without conditions). */
export function conditionKeysOf(policy: readonly PolicyStatement[]): ReadonlySet<string> {
  return compile(policy).conditionKeys;
}
