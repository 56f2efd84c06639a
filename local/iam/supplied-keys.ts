/**
 * The condition keys the local services put in a request's context (services/context.ts for the
 * global keys, services/dynamodb.ts and services/secrets-manager.ts for their own). A condition on
 * any other key sees it absent, which on AWS would usually be present (organization ids, tags, VPC
 * endpoints, the caller's IP): the template reader warns about those so an AccessDenied that AWS
 * would not give is explained at start. Lower case, as IAM compares keys.
 */
export const SUPPLIED_GLOBAL_KEYS: readonly string[] = [
  'aws:requestedregion',
  'aws:principalaccount',
  'aws:resourceaccount',
  'aws:principalarn',
  'aws:principaltype',
  'lambda:sourcefunctionarn',
  'aws:securetransport',
  'aws:viaawsservice',
  'aws:principalisawsservice',
  'aws:tokenissuetime',
  'aws:currenttime',
  'aws:epochtime',
];

export const SUPPLIED_SERVICE_KEYS: readonly string[] = [
  'dynamodb:leadingkeys',
  'dynamodb:attributes',
  'dynamodb:select',
  'dynamodb:returnvalues',
  'dynamodb:returnconsumedcapacity',
  'secretsmanager:secretid',
  'secretsmanager:versionid',
  'secretsmanager:versionstage',
];

const SUPPLIED = new Set([...SUPPLIED_GLOBAL_KEYS, ...SUPPLIED_SERVICE_KEYS]);

/** The keys of `keys` (any case) that no local request carries, in lower case. */
export function unsuppliedKeys(keys: Iterable<string>): string[] {
  return [...new Set([...keys].map((key) => key.toLowerCase()))].filter((key) => !SUPPLIED.has(key));
}
