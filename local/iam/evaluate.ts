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
 * - NotAction / NotResource apply a statement to everything they do not name.
 * Conditions are not part of PolicyStatement and are therefore not evaluated.
 */
import type { PolicyStatement } from '../runtime/contract';

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

interface CompiledStatement {
  readonly deny: boolean;
  readonly actions: readonly RegExp[] | undefined;
  readonly notActions: readonly RegExp[] | undefined;
  readonly resources: readonly RegExp[] | undefined;
  readonly notResources: readonly RegExp[] | undefined;
}

const ESCAPE = /[.+^${}()|[\]\\]/g;

/** `dynamodb:Get*` -> /^dynamodb:Get.*$/i */
export function actionPattern(pattern: string): RegExp {
  const body = pattern.replace(ESCAPE, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** An ARN pattern whose wildcards stay inside their field for the first five fields. */
export function resourcePattern(pattern: string): RegExp {
  if (pattern === '*') return /^/;
  let body = '';
  let colons = 0;
  for (const char of pattern) {
    const inResourcePart = colons >= 5;
    if (char === ':') {
      colons++;
      body += ':';
    } else if (char === '*') {
      body += inResourcePart ? '.*' : '[^:]*';
    } else if (char === '?') {
      body += inResourcePart ? '.' : '[^:]';
    } else {
      body += char.replace(ESCAPE, '\\$&');
    }
  }
  // An ARN pattern with fewer than six fields names no resource (IAM's validator refuses it).
  if (colons < 5) return /(?!)/;
  return new RegExp(`^${body}$`, 's');
}

const compiledPolicies = new WeakMap<readonly PolicyStatement[], readonly CompiledStatement[]>();

function compile(policy: readonly PolicyStatement[]): readonly CompiledStatement[] {
  const cached = compiledPolicies.get(policy);
  if (cached) return cached;
  const compiled = policy.map((statement) => ({
    deny: statement.effect === 'Deny',
    actions: statement.actions?.map(actionPattern),
    notActions: statement.notActions?.map(actionPattern),
    resources: statement.resources?.map(resourcePattern),
    notResources: statement.notResources?.map(resourcePattern),
  }));
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

/**
 * The decision for `action` (e.g. `dynamodb:PutItem`) on `resourceArn`. Policies are compiled once
 * per array (kept by identity), so pass the same array on every call.
 */
export function evaluate(policy: readonly PolicyStatement[], action: string, resourceArn: string): Decision {
  let allowed = false;
  for (const statement of compile(policy)) {
    if (!applies(statement, action, resourceArn)) continue;
    if (statement.deny) return 'explicit-deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}
