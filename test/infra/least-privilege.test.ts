import type { TableName } from '../../lambdas/adapters/dynamodb/table-definitions';
import { ROUTES, SCHEDULED_JOBS } from '../../lambdas/routes';
import {
  asArray,
  iamPolicies,
  logicalId,
  type Statement,
  type Synthesized,
  statementsOfFunction,
  synthesize,
} from './synth';

let s: Synthesized;
let tableIds: Record<TableName, string>;
let apiId: string;
let secretId: string;
beforeAll(() => {
  s = synthesize();
  const b = s.stack.backend;
  tableIds = {
    connections: logicalId(b.tables.connections),
    assessments: logicalId(b.tables.assessments),
    tests: logicalId(b.tables.tests),
  };
  apiId = logicalId(b.webSocketApi);
  if (!b.jwtSecret) throw new Error('expected a generated secret');
  secretId = logicalId(b.jwtSecret);
});

const allStatements = (): Statement[] => iamPolicies(s.template).flatMap((p) => p.statements);
const actionsOf = (st: Statement) => asArray(st.Action);
const resourcesOf = (st: Statement) => asArray(st.Resource);
const fnStatements = (name: string): Statement[] => {
  const fn = s.stack.backend.functions[name];
  if (!fn) throw new Error(`no function ${name}`);
  return statementsOfFunction(s.template, logicalId(fn));
};

/** `connections` for a table's ARN, `connections/index/*` for its indexes. */
const describeResource = (resource: unknown): string => {
  const text = JSON.stringify(resource);
  for (const [name, id] of Object.entries(tableIds) as [TableName, string][]) {
    if (text === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })) return name;
    if (text === JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/index/*']] })) {
      return `${name}/index/*`;
    }
  }
  return text;
};

/** The tables (by name) a set of statements reaches with DynamoDB actions. */
const dynamoTables = (statements: Statement[]): Set<TableName> => {
  const names = new Set<TableName>();
  for (const st of statements.filter((x) => actionsOf(x).some((a) => a.startsWith('dynamodb:')))) {
    const text = JSON.stringify(st.Resource);
    for (const [name, id] of Object.entries(tableIds) as [TableName, string][]) {
      if (text.includes(`"${id}"`)) names.add(name);
    }
  }
  return names;
};

test('the template has policies to check', () => {
  expect(iamPolicies(s.template).length).toBeGreaterThanOrEqual(ROUTES.length + SCHEDULED_JOBS.length);
});

test('no role may Scan, Batch*, or DescribeTable: no function calls them', () => {
  const actions = allStatements().flatMap(actionsOf);
  expect(actions.filter((a) => /^dynamodb:(Scan|Batch|DescribeTable|ConditionCheck)/.test(a))).toEqual([]);
});

test('no statement allows every action, every action of a service, or every resource', () => {
  for (const st of allStatements()) {
    for (const action of actionsOf(st)) {
      expect(action).not.toBe('*');
      expect(action).not.toMatch(/^[a-z0-9-]+:\*$/i);
    }
    expect(resourcesOf(st)).not.toContain('*');
    expect(st).not.toHaveProperty('NotAction');
    expect(st).not.toHaveProperty('NotResource');
  }
});

test('no role has an AWS managed policy (their log permissions cover the whole account)', () => {
  for (const role of Object.values(s.template.findResources('AWS::IAM::Role'))) {
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  }
});

test('DynamoDB statements name only our tables and their indexes', () => {
  const allowed = Object.values(tableIds).flatMap((id) => [
    JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }),
    JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/index/*']] }),
  ]);
  const dynamo = allStatements().filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')));
  expect(dynamo.length).toBeGreaterThan(0);
  for (const st of dynamo) {
    expect(actionsOf(st).every((a) => a.startsWith('dynamodb:'))).toBe(true);
    for (const resource of resourcesOf(st)) {
      expect(allowed).toContain(JSON.stringify(resource));
    }
  }
});

test('execute-api statements allow ManageConnections on this API and stage only', () => {
  const apiStatements = allStatements().filter((st) =>
    actionsOf(st).some((a) => a.startsWith('execute-api:')),
  );
  expect(apiStatements.length).toBeGreaterThan(0);
  for (const st of apiStatements) {
    expect(actionsOf(st)).toEqual(['execute-api:ManageConnections']);
    for (const resource of resourcesOf(st)) {
      const parts = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      expect(parts).toContainEqual({ Ref: apiId });
      expect(parts[parts.length - 1]).toBe('/prod/*/@connections/*');
    }
  }
});

test('log statements write only to the function log groups', () => {
  const logStatements = allStatements().filter((st) => actionsOf(st).some((a) => a.startsWith('logs:')));
  for (const st of logStatements) {
    expect(actionsOf(st).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    for (const resource of resourcesOf(st)) {
      const id = (resource as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      expect(s.template.toJSON().Resources[id].Type).toBe('AWS::Logs::LogGroup');
    }
  }
});

test('only the secret is readable, and only with read actions', () => {
  const secretStatements = allStatements().filter((st) =>
    actionsOf(st).some((a) => a.startsWith('secretsmanager:')),
  );
  for (const st of secretStatements) {
    expect(actionsOf(st).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(resourcesOf(st)).toEqual([{ Ref: secretId }]);
  }
});

describe.each([...ROUTES, ...SCHEDULED_JOBS].map((spec) => [spec.name, spec]))(
  '%s function',
  (name, spec) => {
    test('reaches exactly the tables routes.ts lists', () => {
      expect([...dynamoTables(fnStatements(name))].sort()).toEqual(Object.keys(spec.tables).sort());
    });

    test('has exactly the DynamoDB actions routes.ts lists, on each table and its indexes', () => {
      const granted: Record<string, string[]> = {};
      for (const st of fnStatements(name).filter((x) =>
        actionsOf(x).some((a) => a.startsWith('dynamodb:')),
      )) {
        for (const resource of resourcesOf(st)) {
          const where = describeResource(resource);
          granted[where] = [...(granted[where] ?? []), ...actionsOf(st)].sort();
        }
      }
      const expected: Record<string, string[]> = {};
      for (const [table, actions] of Object.entries(spec.tables) as [TableName, readonly string[]][]) {
        const onTable = actions.filter((a) => a !== 'QueryIndexes').map((a) => `dynamodb:${a}`);
        if (onTable.length > 0) expected[table] = onTable.sort();
        if (actions.includes('QueryIndexes')) expected[`${table}/index/*`] = ['dynamodb:Query'];
      }
      expect(granted).toEqual(expected);
    });

    test(`${spec.manageConnections ? 'may' : 'may not'} manage connections`, () => {
      const has = fnStatements(name).some((st) => actionsOf(st).includes('execute-api:ManageConnections'));
      expect(has).toBe(spec.manageConnections);
    });

    test(`${spec.readsJwtSecret ? 'may' : 'may not'} read the JWT secret`, () => {
      const has = fnStatements(name).some((st) => actionsOf(st).some((a) => a.startsWith('secretsmanager:')));
      expect(has).toBe(spec.readsJwtSecret);
    });
  },
);

test('the connect function can neither post to connections nor read the secret', () => {
  const statements = fnStatements('connect');
  expect(statements.flatMap(actionsOf).some((a) => a.startsWith('execute-api:'))).toBe(false);
  expect(statements.flatMap(actionsOf).some((a) => a.startsWith('secretsmanager:'))).toBe(false);
});
