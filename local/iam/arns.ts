/**
 * The ARNs IAM evaluates for the calls the local services answer, and the wording of AWS's refusal.
 * Formats follow the service authorization reference: DynamoDB tables and their indexes, Secrets
 * Manager secrets, SSM parameters, and the execute-api resource of `@connections` calls.
 */
import type { Decision } from './evaluate';

export interface AccountScope {
  readonly partition?: string;
  readonly region: string;
  readonly accountId: string;
}

const prefix = (scope: AccountScope, service: string) =>
  `arn:${scope.partition ?? 'aws'}:${service}:${scope.region}:${scope.accountId}`;

export const dynamodbTableArn = (scope: AccountScope, tableName: string) =>
  `${prefix(scope, 'dynamodb')}:table/${tableName}`;

export const dynamodbIndexArn = (scope: AccountScope, tableName: string, indexName: string) =>
  `${dynamodbTableArn(scope, tableName)}/index/${indexName}`;

/** A secret's ARN without the suffix: what IAM sees for a secret named but not (yet) created. */
export const secretPartialArn = (scope: AccountScope, name: string) =>
  `${prefix(scope, 'secretsmanager')}:secret:${name}`;

/** Secrets Manager appends a hyphen and six random characters to the name in a secret's ARN. */
export const secretArn = (scope: AccountScope, name: string, suffix: string) =>
  `${secretPartialArn(scope, name)}-${suffix}`;

/** `/app/key` -> `...:parameter/app/key`; a name without a leading slash gets one. */
export const ssmParameterArn = (scope: AccountScope, nameOrPath: string) =>
  `${prefix(scope, 'ssm')}:parameter${nameOrPath.startsWith('/') ? '' : '/'}${nameOrPath}`;

export type ConnectionsMethod = 'POST' | 'GET' | 'DELETE';

/** `arn:aws:execute-api:region:account:apiId/stage/POST/@connections/{id}` */
export const connectionsArn = (
  scope: AccountScope,
  apiId: string,
  stage: string,
  method: ConnectionsMethod,
  connectionId: string,
) => `${prefix(scope, 'execute-api')}:${apiId}/${stage}/${method}/@connections/${connectionId}`;

/** The session ARN Lambda's credentials carry: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION`. */
/** `Name` of `arn:aws:iam::1:role/Name` or `arn:aws:iam::1:role/some/path/Name` (sessions drop the path). */
export const roleNameOf = (roleArn: string): string =>
  /:role\/(?:.*\/)?([^/]+)$/.exec(roleArn)?.[1] ?? roleArn;

export const assumedRoleArn = (scope: AccountScope, roleName: string, sessionName: string) =>
  `arn:${scope.partition ?? 'aws'}:sts::${scope.accountId}:assumed-role/${roleName}/${sessionName}`;

/**
 * AWS's sentence for a refused call, e.g. `User: arn:aws:sts::1:assumed-role/R/F is not authorized to
 * perform: dynamodb:PutItem on resource: arn:... because no identity-based policy allows the
 * dynamodb:PutItem action`. execute-api states the refusal without the reason clause.
 */
export function accessDeniedMessage(
  principalArn: string,
  action: string,
  resource: string,
  decision: Exclude<Decision, 'allow'>,
  options: { readonly withReason?: boolean } = {},
): string {
  const base = `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource}`;
  if (decision === 'explicit-deny') return `${base} with an explicit deny in an identity-based policy`;
  return options.withReason === false
    ? base
    : `${base} because no identity-based policy allows the ${action} action`;
}
