/**
 * IAM policy documents as the template writes them, turned into the statements local/iam
 * evaluates: inline role policies, `AWS::IAM::Policy`, customer managed policies, and a few AWS
 * managed policies that samples attach.
 */
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

export function normalizeStatements(document: unknown, where: string, warnings: string[]): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  for (const raw of list<Record<string, unknown>>(
    (document as { Statement?: unknown } | undefined)?.Statement,
  )) {
    if (raw.Condition !== undefined)
      warnings.push(
        `${where}: a statement's Condition is not evaluated (the statement applies unconditionally)`,
      );
    const strings = (value: unknown) => list(value).map((item) => str(item));
    statements.push({
      effect: raw.Effect === 'Deny' ? 'Deny' : 'Allow',
      ...(raw.Action !== undefined ? { actions: strings(raw.Action) } : {}),
      ...(raw.NotAction !== undefined ? { notActions: strings(raw.NotAction) } : {}),
      ...(raw.Resource !== undefined ? { resources: strings(raw.Resource) } : {}),
      ...(raw.NotResource !== undefined ? { notResources: strings(raw.NotResource) } : {}),
    });
  }
  return statements;
}
