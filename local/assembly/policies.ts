/**
 * IAM policy documents as the template writes them, turned into the statements local/iam
 * evaluates: inline role policies, `AWS::IAM::Policy`, customer managed policies, and a few AWS
 * managed policies that samples attach.
 */
import { unsupportedOperators } from '../iam/conditions';
import { unsuppliedKeys } from '../iam/supplied-keys';
import type { PolicyStatement } from '../runtime/contract';
import { list, str } from './values';

/** A few AWS managed policies samples attach, with what they grant (the rest: see warnings). */
export const MANAGED_POLICIES: Readonly<Record<string, readonly PolicyStatement[]>> = {
  'service-role/AWSLambdaBasicExecutionRole': [
    {
      effect: 'Allow',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: ['*'],
    },
  ],
  AmazonDynamoDBFullAccess: [{ effect: 'Allow', actions: ['dynamodb:*'], resources: ['*'] }],
  AmazonDynamoDBReadOnlyAccess: [
    {
      effect: 'Allow',
      actions: [
        'dynamodb:BatchGetItem',
        'dynamodb:Describe*',
        'dynamodb:List*',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:Scan',
      ],
      resources: ['*'],
    },
  ],
  AmazonAPIGatewayInvokeFullAccess: [
    {
      effect: 'Allow',
      actions: ['execute-api:Invoke', 'execute-api:ManageConnections'],
      resources: ['arn:aws:execute-api:*:*:*'],
    },
  ],
  SecretsManagerReadWrite: [{ effect: 'Allow', actions: ['secretsmanager:*'], resources: ['*'] }],
  AmazonSSMReadOnlyAccess: [
    { effect: 'Allow', actions: ['ssm:Describe*', 'ssm:Get*', 'ssm:List*'], resources: ['*'] },
  ],
};

/** IAM's escape for a `$` that starts no policy variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: IAM's escape syntax, not a JavaScript template
const LITERAL_DOLLAR = '${$}';

/** Condition values as IAM reads them: strings, numbers and booleans, alone or in a list. */
const conditionValue = (value: unknown): string | undefined =>
  typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : undefined;

/**
 * The Condition element as operator -> key -> string values. Policy variables (`${aws:...}`) exist
 * only in policy language version 2012-10-17; under an older or missing Version their text is
 * literal, so `$` is escaped (`${$}`) for the evaluator.
 */
function normalizeConditions(
  raw: unknown,
  variables: boolean,
  where: string,
  warnings: string[],
): PolicyStatement['conditions'] | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    warnings.push(`${where}: a statement's Condition is not an object; the statement is read without it`);
    return undefined;
  }
  const conditions: Record<string, Record<string, string[]>> = {};
  for (const [operator, entries] of Object.entries(raw as Record<string, unknown>)) {
    if (entries === null || typeof entries !== 'object' || Array.isArray(entries)) {
      warnings.push(`${where}: Condition operator ${operator} has no key/value map; it never holds`);
      conditions[operator] = { '': [] };
      continue;
    }
    const byKey: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(entries as Record<string, unknown>)) {
      const values = list(value).map(conditionValue);
      const strings = values.filter((item): item is string => item !== undefined);
      if (strings.length < values.length)
        warnings.push(
          `${where}: Condition ${operator} ${key} has values that are not strings; they are ignored`,
        );
      byKey[key] = variables ? strings : strings.map((item) => item.replaceAll('$', LITERAL_DOLLAR));
    }
    conditions[operator] = byKey;
  }
  const absent = unsuppliedKeys(
    Object.values(conditions).flatMap((byKey) => Object.keys(byKey).filter((key) => key !== '')),
  );
  if (absent.length > 0)
    warnings.push(
      `${where}: Condition key ${absent.join(', ')} is never set locally, so it is absent from every request (on AWS it may be present): the condition is decided as for an absent key`,
    );
  const unsupported = unsupportedOperators(conditions);
  if (unsupported.length > 0)
    warnings.push(
      `${where}: Condition operator ${unsupported.join(', ')} is not evaluated locally: an Allow with it grants nothing, a Deny with it refuses regardless of that operator`,
    );
  return conditions;
}

export function normalizeStatements(document: unknown, where: string, warnings: string[]): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const version = (document as { Version?: unknown } | undefined)?.Version;
  for (const raw of list<Record<string, unknown>>(
    (document as { Statement?: unknown } | undefined)?.Statement,
  )) {
    const strings = (value: unknown) => list(value).map((item) => str(item));
    const conditions =
      raw.Condition !== undefined
        ? normalizeConditions(raw.Condition, version === '2012-10-17', where, warnings)
        : undefined;
    statements.push({
      effect: raw.Effect === 'Deny' ? 'Deny' : 'Allow',
      ...(raw.Action !== undefined ? { actions: strings(raw.Action) } : {}),
      ...(raw.NotAction !== undefined ? { notActions: strings(raw.NotAction) } : {}),
      ...(raw.Resource !== undefined ? { resources: strings(raw.Resource) } : {}),
      ...(raw.NotResource !== undefined ? { notResources: strings(raw.NotResource) } : {}),
      ...(conditions !== undefined ? { conditions } : {}),
    });
  }
  return statements;
}
