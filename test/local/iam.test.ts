import fc from 'fast-check';
import {
  accessDeniedMessage,
  connectionsArn,
  dynamodbIndexArn,
  dynamodbTableArn,
  secretArn,
  ssmParameterArn,
} from '../../local/iam/arns';
import { type Decision, evaluate } from '../../local/iam/evaluate';
import type { PolicyStatement } from '../../local/runtime/contract';

const scope = { region: 'us-east-1', accountId: '111122223333' };
const T = dynamodbTableArn(scope, 'Orders');
const OTHER = dynamodbTableArn(scope, 'OrdersArchive');
const INDEX = dynamodbIndexArn(scope, 'Orders', 'byCustomer');
const conn = (method: 'POST' | 'GET' | 'DELETE', id = 'AbC=', stage = 'prod') =>
  connectionsArn(scope, 'a1b2c3', stage, method, id);
const EXECUTE_API = 'arn:aws:execute-api:us-east-1:111122223333:a1b2c3';

const allow = (actions: string[], resources: string[]): PolicyStatement => ({
  effect: 'Allow',
  actions,
  resources,
});
const deny = (actions: string[], resources: string[]): PolicyStatement => ({
  effect: 'Deny',
  actions,
  resources,
});

const cases: [string, PolicyStatement[], string, string, Decision][] = [
  ['no statements', [], 'dynamodb:GetItem', T, 'implicit-deny'],
  ['exact action and resource', [allow(['dynamodb:GetItem'], [T])], 'dynamodb:GetItem', T, 'allow'],
  ['another action', [allow(['dynamodb:GetItem'], [T])], 'dynamodb:PutItem', T, 'implicit-deny'],
  [
    'action prefix is not a match',
    [allow(['dynamodb:GetItem'], [T])],
    'dynamodb:GetItems',
    T,
    'implicit-deny',
  ],
  ['actions match case-insensitively', [allow(['DynamoDB:getitem'], [T])], 'dynamodb:GetItem', T, 'allow'],
  ['* in an action', [allow(['dynamodb:Get*'], [T])], 'dynamodb:GetItem', T, 'allow'],
  ['* in an action stays a pattern', [allow(['dynamodb:Get*'], [T])], 'dynamodb:PutItem', T, 'implicit-deny'],
  ['? in an action', [allow(['dynamodb:?etItem'], [T])], 'dynamodb:GetItem', T, 'allow'],
  ['service wildcard', [allow(['dynamodb:*'], [T])], 'dynamodb:DeleteItem', T, 'allow'],
  ['service wildcard of another service', [allow(['s3:*'], [T])], 'dynamodb:DeleteItem', T, 'implicit-deny'],
  [
    '* action and * resource',
    [allow(['*'], ['*'])],
    'ssm:GetParameter',
    'arn:aws:ssm:x:y:parameter/a',
    'allow',
  ],
  [
    'resources match case-sensitively',
    [allow(['dynamodb:GetItem'], [T.toLowerCase()])],
    'dynamodb:GetItem',
    T,
    'implicit-deny',
  ],
  [
    'a table ARN does not cover its indexes',
    [allow(['dynamodb:Query'], [T])],
    'dynamodb:Query',
    INDEX,
    'implicit-deny',
  ],
  [
    'index/* covers an index',
    [allow(['dynamodb:Query'], [`${T}/index/*`])],
    'dynamodb:Query',
    INDEX,
    'allow',
  ],
  [
    'index/* does not cover the table',
    [allow(['dynamodb:Query'], [`${T}/index/*`])],
    'dynamodb:Query',
    T,
    'implicit-deny',
  ],
  [
    'table/T* covers the table, its indexes...',
    [allow(['dynamodb:Query'], [`${T}*`])],
    'dynamodb:Query',
    INDEX,
    'allow',
  ],
  [
    '...and any table named T-something',
    [allow(['dynamodb:Query'], [`${T}*`])],
    'dynamodb:Query',
    OTHER,
    'allow',
  ],
  [
    'a wildcard region and account field',
    [allow(['dynamodb:GetItem'], ['arn:aws:dynamodb:*:*:table/Orders'])],
    'dynamodb:GetItem',
    T,
    'allow',
  ],
  [
    'a wildcard never spans the colons of the first five fields',
    [allow(['dynamodb:GetItem'], ['arn:aws:dynamodb:*:table/Orders'])],
    'dynamodb:GetItem',
    T,
    'implicit-deny',
  ],
  [
    'regex characters in names are literal',
    [allow(['dynamodb:GetItem'], [dynamodbTableArn(scope, 'my.table')])],
    'dynamodb:GetItem',
    dynamodbTableArn(scope, 'myXtable'),
    'implicit-deny',
  ],
  [
    'explicit Deny beats Allow',
    [allow(['dynamodb:*'], [T]), deny(['dynamodb:DeleteItem'], [T])],
    'dynamodb:DeleteItem',
    T,
    'explicit-deny',
  ],
  [
    'explicit Deny beats Allow in any order',
    [deny(['dynamodb:Delete*'], ['*']), allow(['dynamodb:*'], [T])],
    'dynamodb:DeleteItem',
    T,
    'explicit-deny',
  ],
  [
    'a Deny elsewhere leaves the Allow',
    [allow(['dynamodb:*'], [T]), deny(['dynamodb:*'], [OTHER])],
    'dynamodb:PutItem',
    T,
    'allow',
  ],
  [
    'a Deny alone is still explicit',
    [deny(['dynamodb:PutItem'], [T])],
    'dynamodb:PutItem',
    T,
    'explicit-deny',
  ],
  [
    'NotAction allows every other action',
    [{ effect: 'Allow', notActions: ['dynamodb:DeleteItem'], resources: [T] }],
    'dynamodb:PutItem',
    T,
    'allow',
  ],
  [
    'NotAction does not allow the action it names',
    [{ effect: 'Allow', notActions: ['dynamodb:DeleteItem'], resources: [T] }],
    'dynamodb:DeleteItem',
    T,
    'implicit-deny',
  ],
  [
    'Deny with NotResource denies every other resource',
    [allow(['dynamodb:*'], ['*']), { effect: 'Deny', actions: ['dynamodb:*'], notResources: [T] }],
    'dynamodb:GetItem',
    OTHER,
    'explicit-deny',
  ],
  [
    'Deny with NotResource spares the resource it names',
    [allow(['dynamodb:*'], ['*']), { effect: 'Deny', actions: ['dynamodb:*'], notResources: [T] }],
    'dynamodb:GetItem',
    T,
    'allow',
  ],
  [
    'CDK grantManagementApiAccess covers every method',
    [allow(['execute-api:ManageConnections'], [`${EXECUTE_API}/prod/*/@connections/*`])],
    'execute-api:ManageConnections',
    conn('DELETE'),
    'allow',
  ],
  [
    'a POST grant does not cover DELETE',
    [allow(['execute-api:ManageConnections'], [`${EXECUTE_API}/prod/POST/@connections/*`])],
    'execute-api:ManageConnections',
    conn('DELETE'),
    'implicit-deny',
  ],
  [
    'a POST grant covers POST to any connection',
    [allow(['execute-api:ManageConnections'], [`${EXECUTE_API}/prod/POST/@connections/*`])],
    'execute-api:ManageConnections',
    conn('POST', 'Zz9-x='),
    'allow',
  ],
  [
    'GET is its own method',
    [allow(['execute-api:ManageConnections'], [`${EXECUTE_API}/prod/GET/@connections/*`])],
    'execute-api:ManageConnections',
    conn('GET'),
    'allow',
  ],
  [
    'a grant on one stage does not cover another',
    [allow(['execute-api:ManageConnections'], [`${EXECUTE_API}/prod/*/@connections/*`])],
    'execute-api:ManageConnections',
    conn('POST', 'AbC=', 'dev'),
    'implicit-deny',
  ],
  [
    'Invoke is not ManageConnections',
    [allow(['execute-api:Invoke'], [`${EXECUTE_API}/*`])],
    'execute-api:ManageConnections',
    conn('POST'),
    'implicit-deny',
  ],
  [
    'secret name with ?????? suffix',
    [
      allow(
        ['secretsmanager:GetSecretValue'],
        ['arn:aws:secretsmanager:us-east-1:111122223333:secret:jwt-??????'],
      ),
    ],
    'secretsmanager:GetSecretValue',
    secretArn(scope, 'jwt', 'AbC123'),
    'allow',
  ],
  [
    '?????? needs exactly six characters',
    [
      allow(
        ['secretsmanager:GetSecretValue'],
        ['arn:aws:secretsmanager:us-east-1:111122223333:secret:jwt-??????'],
      ),
    ],
    'secretsmanager:GetSecretValue',
    secretArn(scope, 'jwt2', 'AbC123'),
    'implicit-deny',
  ],
  [
    'a parameter path wildcard covers nested names',
    [allow(['ssm:GetParameter'], ['arn:aws:ssm:us-east-1:111122223333:parameter/app/*'])],
    'ssm:GetParameter',
    ssmParameterArn(scope, '/app/nested/key'),
    'allow',
  ],
];

test.each(cases)('%s', (_name, policy, action, resource, expected) => {
  expect(evaluate(policy, action, resource)).toBe(expected);
});

test('a statement without actions or resources applies to nothing', () => {
  expect(evaluate([{ effect: 'Deny', resources: ['*'] }], 'dynamodb:GetItem', T)).toBe('implicit-deny');
  expect(evaluate([{ effect: 'Allow', actions: ['*'] }], 'dynamodb:GetItem', T)).toBe('implicit-deny');
});

test('ARN builders', () => {
  expect(T).toBe('arn:aws:dynamodb:us-east-1:111122223333:table/Orders');
  expect(INDEX).toBe('arn:aws:dynamodb:us-east-1:111122223333:table/Orders/index/byCustomer');
  expect(conn('POST')).toBe('arn:aws:execute-api:us-east-1:111122223333:a1b2c3/prod/POST/@connections/AbC=');
  expect(ssmParameterArn(scope, 'plain')).toBe('arn:aws:ssm:us-east-1:111122223333:parameter/plain');
  expect(ssmParameterArn({ ...scope, partition: 'aws-cn' }, '/a')).toBe(
    'arn:aws-cn:ssm:us-east-1:111122223333:parameter/a',
  );
});

test('refusal wording', () => {
  const who = 'arn:aws:sts::111122223333:assumed-role/R/F';
  expect(accessDeniedMessage(who, 'dynamodb:PutItem', T, 'implicit-deny')).toBe(
    `User: ${who} is not authorized to perform: dynamodb:PutItem on resource: ${T} because no identity-based policy allows the dynamodb:PutItem action`,
  );
  expect(accessDeniedMessage(who, 'dynamodb:PutItem', T, 'explicit-deny')).toBe(
    `User: ${who} is not authorized to perform: dynamodb:PutItem on resource: ${T} with an explicit deny in an identity-based policy`,
  );
});

/** A slow, obviously correct reading of IAM's resource matching, to check the fast one against. */
function referenceMatch(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const fields = (text: string) => {
    const parts = text.split(':');
    return parts.length < 6 ? null : [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const p = fields(pattern);
  const a = fields(arn);
  if (!p || !a) return false;
  const glob = (pat: string, text: string): boolean => {
    if (pat === '') return text === '';
    const [head, rest] = [pat[0], pat.slice(1)];
    if (head === '*') return glob(rest, text) || (text !== '' && glob(pat, text.slice(1)));
    if (text === '') return false;
    return (head === '?' || head === text[0]) && glob(rest, text.slice(1));
  };
  return p.every((part, i) => glob(part, a[i] ?? ''));
}

test('resource matching agrees with a field-by-field glob on random ARNs and patterns', () => {
  const field = (pieces: string[]) =>
    fc.array(fc.constantFrom(...pieces), { maxLength: 4 }).map((p) => p.join(''));
  const plain = ['a', 'b', 'T', '0', '-', '.', '/'];
  const wild = [...plain, '*', '?'];
  // Six fields (sometimes five), the last one free to hold colons and slashes.
  const arnLike = (pieces: string[]) =>
    fc
      .tuple(fc.array(field(pieces), { minLength: 4, maxLength: 5 }), field([...pieces, ':']))
      .map(([head, last]) => [...head, last].join(':'));
  // A concrete ARN made from a pattern, so that matches are common, then sometimes altered.
  const instance = (pattern: string) =>
    fc.tuple(fc.constantFrom('', 'a', 'b:c', 'T/x'), fc.boolean()).map(([fill, flip]) => {
      const concrete = pattern.replace(/\*/g, fill).replace(/\?/g, 'a');
      return flip ? `${concrete}b` : concrete;
    });
  const pair = fc.oneof(
    fc.tuple(arnLike(wild), arnLike(plain)),
    arnLike(wild).chain((pattern) => fc.tuple(fc.constant(pattern), instance(pattern))),
  );
  let matched = 0;
  fc.assert(
    fc.property(pair, ([pattern, arn]) => {
      const expected = referenceMatch(pattern, arn);
      if (expected) matched++;
      const policy = [allow(['dynamodb:GetItem'], [pattern])];
      expect(evaluate(policy, 'dynamodb:GetItem', arn)).toBe(expected ? 'allow' : 'implicit-deny');
    }),
    { numRuns: 3000 },
  );
  // The generator must produce matches, or the property says little.
  expect(matched).toBeGreaterThan(300);
});
