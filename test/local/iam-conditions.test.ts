// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are written ${key}, as in policy documents
/**
 * IAM Condition evaluation (local/iam/conditions.ts), case by case against the rules of the IAM
 * user guide: each operator matching and not, absent keys, ...IfExists, Null, set operators,
 * several keys and values, policy variables; then through evaluate() with Allow and Deny.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readAssembly } from '../../local/assembly/manifest';
import { normalizeStatements } from '../../local/assembly/policies';
import { describeApp } from '../../local/assembly/template';
import {
  type ConditionBlock,
  type ContextValue,
  compileConditions,
  contextOf,
} from '../../local/iam/conditions';
import { evaluate, evaluateRequest } from '../../local/iam/evaluate';
import type { PolicyStatement } from '../../local/runtime/contract';

type Context = Record<string, ContextValue | undefined>;

const holds = (block: ConditionBlock, context: Context, effect: 'Allow' | 'Deny' = 'Allow') =>
  compileConditions(block).holds(contextOf(context), effect);

const ROLE = 'arn:aws:iam::111122223333:role/Writer';

// [description, condition block, request context, expected]
const cases: [string, ConditionBlock, Context, boolean][] = [
  // Strings
  [
    'StringEquals matches',
    { StringEquals: { 'aws:RequestedRegion': ['eu-west-1'] } },
    { 'aws:RequestedRegion': 'eu-west-1' },
    true,
  ],
  [
    'StringEquals is case-sensitive',
    { StringEquals: { 'aws:RequestedRegion': ['EU-WEST-1'] } },
    { 'aws:RequestedRegion': 'eu-west-1' },
    false,
  ],
  [
    'StringNotEquals matches another value',
    { StringNotEquals: { 'aws:RequestedRegion': ['us-east-1'] } },
    { 'aws:RequestedRegion': 'eu-west-1' },
    true,
  ],
  [
    'StringNotEquals fails on the value',
    { StringNotEquals: { 'aws:RequestedRegion': ['eu-west-1'] } },
    { 'aws:RequestedRegion': 'eu-west-1' },
    false,
  ],
  [
    'StringEqualsIgnoreCase matches',
    { StringEqualsIgnoreCase: { 's:k': ['HeLLo'] } },
    { 's:k': 'hello' },
    true,
  ],
  [
    'StringEqualsIgnoreCase fails',
    { StringEqualsIgnoreCase: { 's:k': ['hell'] } },
    { 's:k': 'hello' },
    false,
  ],
  [
    'StringNotEqualsIgnoreCase matches',
    { StringNotEqualsIgnoreCase: { 's:k': ['world'] } },
    { 's:k': 'hello' },
    true,
  ],
  [
    'StringNotEqualsIgnoreCase fails',
    { StringNotEqualsIgnoreCase: { 's:k': ['HELLO'] } },
    { 's:k': 'hello' },
    false,
  ],
  ['StringLike with *', { StringLike: { 's:k': ['user-*'] } }, { 's:k': 'user-42' }, true],
  ['StringLike with ?', { StringLike: { 's:k': ['user-?'] } }, { 's:k': 'user-42' }, false],
  ['StringLike needs the whole value', { StringLike: { 's:k': ['user'] } }, { 's:k': 'user-42' }, false],
  ['StringLike dots are no wildcards', { StringLike: { 's:k': ['a.c'] } }, { 's:k': 'abc' }, false],
  ['StringNotLike matches', { StringNotLike: { 's:k': ['admin-*'] } }, { 's:k': 'user-1' }, true],
  ['StringNotLike fails', { StringNotLike: { 's:k': ['user-*'] } }, { 's:k': 'user-1' }, false],
  // Numbers
  ['NumericEquals matches', { NumericEquals: { 's:n': ['10'] } }, { 's:n': '10.0' }, true],
  ['NumericEquals fails', { NumericEquals: { 's:n': ['10'] } }, { 's:n': '11' }, false],
  ['NumericNotEquals matches', { NumericNotEquals: { 's:n': ['10'] } }, { 's:n': '11' }, true],
  ['NumericNotEquals fails', { NumericNotEquals: { 's:n': ['10'] } }, { 's:n': '10' }, false],
  ['NumericLessThan matches', { NumericLessThan: { 's:n': ['10'] } }, { 's:n': '9' }, true],
  ['NumericLessThan fails on equal', { NumericLessThan: { 's:n': ['10'] } }, { 's:n': '10' }, false],
  [
    'NumericLessThanEquals matches equal',
    { NumericLessThanEquals: { 's:n': ['10'] } },
    { 's:n': '10' },
    true,
  ],
  ['NumericLessThanEquals fails', { NumericLessThanEquals: { 's:n': ['10'] } }, { 's:n': '11' }, false],
  ['NumericGreaterThan matches', { NumericGreaterThan: { 's:n': ['10'] } }, { 's:n': '11' }, true],
  ['NumericGreaterThan fails', { NumericGreaterThan: { 's:n': ['10'] } }, { 's:n': '10' }, false],
  [
    'NumericGreaterThanEquals matches',
    { NumericGreaterThanEquals: { 's:n': ['10'] } },
    { 's:n': '10' },
    true,
  ],
  [
    'NumericGreaterThanEquals fails',
    { NumericGreaterThanEquals: { 's:n': ['10'] } },
    { 's:n': '9.5' },
    false,
  ],
  ['Numeric on text never matches', { NumericLessThan: { 's:n': ['10'] } }, { 's:n': 'ten' }, false],
  // Dates (ISO 8601 and epoch seconds)
  [
    'DateEquals ISO vs epoch',
    { DateEquals: { 'aws:CurrentTime': ['2026-01-01T00:00:00Z'] } },
    { 'aws:CurrentTime': '1767225600' },
    true,
  ],
  [
    'DateEquals fails',
    { DateEquals: { 'aws:CurrentTime': ['2026-01-01T00:00:00Z'] } },
    { 'aws:CurrentTime': '2026-01-01T00:00:01Z' },
    false,
  ],
  [
    'DateNotEquals matches',
    { DateNotEquals: { 'aws:CurrentTime': ['2026-01-01T00:00:00Z'] } },
    { 'aws:CurrentTime': '2026-01-02T00:00:00Z' },
    true,
  ],
  [
    'DateNotEquals fails',
    { DateNotEquals: { 'aws:CurrentTime': ['2026-01-01T00:00:00Z'] } },
    { 'aws:CurrentTime': '2026-01-01T00:00:00.000Z' },
    false,
  ],
  [
    'DateLessThan matches',
    { DateLessThan: { 'aws:CurrentTime': ['2026-12-31T23:59:59Z'] } },
    { 'aws:CurrentTime': '2026-06-01T00:00:00Z' },
    true,
  ],
  [
    'DateLessThan fails',
    { DateLessThan: { 'aws:CurrentTime': ['2026-01-01T00:00:00Z'] } },
    { 'aws:CurrentTime': '2026-06-01T00:00:00Z' },
    false,
  ],
  [
    'DateLessThanEquals matches equal',
    { DateLessThanEquals: { 'aws:EpochTime': ['1767225600'] } },
    { 'aws:EpochTime': '1767225600' },
    true,
  ],
  [
    'DateLessThanEquals fails',
    { DateLessThanEquals: { 'aws:EpochTime': ['1767225600'] } },
    { 'aws:EpochTime': '1767225601' },
    false,
  ],
  [
    'DateGreaterThan matches',
    { DateGreaterThan: { 'aws:CurrentTime': ['2020-01-01T00:00:00Z'] } },
    { 'aws:CurrentTime': '2026-06-01T00:00:00Z' },
    true,
  ],
  [
    'DateGreaterThan fails',
    { DateGreaterThan: { 'aws:CurrentTime': ['2030-01-01T00:00:00Z'] } },
    { 'aws:CurrentTime': '2026-06-01T00:00:00Z' },
    false,
  ],
  [
    'DateGreaterThanEquals matches',
    { DateGreaterThanEquals: { 'aws:CurrentTime': ['2026-06-01T00:00:00Z'] } },
    { 'aws:CurrentTime': '2026-06-01T00:00:00Z' },
    true,
  ],
  [
    'DateGreaterThanEquals fails',
    { DateGreaterThanEquals: { 'aws:CurrentTime': ['2026-06-02T00:00:00Z'] } },
    { 'aws:CurrentTime': '2026-06-01T00:00:00Z' },
    false,
  ],
  // Bool, Binary
  ['Bool matches', { Bool: { 'aws:SecureTransport': ['true'] } }, { 'aws:SecureTransport': 'true' }, true],
  [
    'Bool is case-insensitive',
    { Bool: { 'aws:SecureTransport': ['True'] } },
    { 'aws:SecureTransport': 'true' },
    true,
  ],
  ['Bool fails', { Bool: { 'aws:SecureTransport': ['false'] } }, { 'aws:SecureTransport': 'true' }, false],
  [
    'BinaryEquals matches the base64 text',
    { BinaryEquals: { 's:b': ['QmluYXJ5'] } },
    { 's:b': 'QmluYXJ5' },
    true,
  ],
  ['BinaryEquals fails', { BinaryEquals: { 's:b': ['QmluYXJ5'] } }, { 's:b': 'QmluYXJ6' }, false],
  // IP addresses
  [
    'IpAddress in a v4 range',
    { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] } },
    { 'aws:SourceIp': '203.0.113.7' },
    true,
  ],
  [
    'IpAddress outside the range',
    { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] } },
    { 'aws:SourceIp': '198.51.100.7' },
    false,
  ],
  [
    'IpAddress single v4 address',
    { IpAddress: { 'aws:SourceIp': ['203.0.113.7'] } },
    { 'aws:SourceIp': '203.0.113.7' },
    true,
  ],
  [
    'IpAddress v6 range',
    { IpAddress: { 'aws:SourceIp': ['2001:db8::/32'] } },
    { 'aws:SourceIp': '2001:db8:1::5' },
    true,
  ],
  [
    'NotIpAddress outside the range',
    { NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] } },
    { 'aws:SourceIp': '198.51.100.7' },
    true,
  ],
  [
    'NotIpAddress fails inside',
    { NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] } },
    { 'aws:SourceIp': '203.0.113.9' },
    false,
  ],
  // ARNs
  ['ArnEquals matches', { ArnEquals: { 'aws:PrincipalArn': [ROLE] } }, { 'aws:PrincipalArn': ROLE }, true],
  [
    'ArnEquals fails',
    { ArnEquals: { 'aws:PrincipalArn': [`${ROLE}2`] } },
    { 'aws:PrincipalArn': ROLE },
    false,
  ],
  [
    'ArnLike with a wildcard in the resource part',
    { ArnLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/Wr*'] } },
    { 'aws:PrincipalArn': ROLE },
    true,
  ],
  [
    'ArnLike wildcard does not span fields',
    { ArnLike: { 'aws:PrincipalArn': ['arn:aws:*:role/Writer'] } },
    { 'aws:PrincipalArn': ROLE },
    false,
  ],
  [
    'ArnNotEquals matches',
    { ArnNotEquals: { 'aws:PrincipalArn': ['arn:aws:iam::111122223333:role/Other'] } },
    { 'aws:PrincipalArn': ROLE },
    true,
  ],
  [
    'ArnNotEquals fails',
    { ArnNotEquals: { 'aws:PrincipalArn': [ROLE] } },
    { 'aws:PrincipalArn': ROLE },
    false,
  ],
  [
    'ArnNotLike matches',
    { ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/Admin*'] } },
    { 'aws:PrincipalArn': ROLE },
    true,
  ],
  [
    'ArnNotLike fails',
    { ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/*'] } },
    { 'aws:PrincipalArn': ROLE },
    false,
  ],
  // Keys absent from the request
  ['a positive operator on an absent key fails', { StringEquals: { 's:missing': ['x'] } }, {}, false],
  ['a negated operator on an absent key holds', { StringNotEquals: { 's:missing': ['x'] } }, {}, true],
  ['NotIpAddress on an absent key holds', { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8'] } }, {}, true],
  [
    'ArnNotLike on an absent key holds',
    { ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/*'] } },
    {},
    true,
  ],
  ['an empty list counts as absent', { StringEquals: { 's:list': ['x'] } }, { 's:list': [] }, false],
  // ...IfExists
  ['IfExists holds when absent', { StringEqualsIfExists: { 's:missing': ['x'] } }, {}, true],
  ['IfExists tests a present key (match)', { StringEqualsIfExists: { 's:k': ['x'] } }, { 's:k': 'x' }, true],
  [
    'IfExists tests a present key (no match)',
    { StringEqualsIfExists: { 's:k': ['x'] } },
    { 's:k': 'y' },
    false,
  ],
  ['negated IfExists on a present key', { StringNotEqualsIfExists: { 's:k': ['x'] } }, { 's:k': 'x' }, false],
  [
    'NumericLessThanIfExists on a present key',
    { NumericLessThanIfExists: { 's:n': ['5'] } },
    { 's:n': '3' },
    true,
  ],
  // Null
  ['Null true holds for an absent key', { Null: { 's:missing': ['true'] } }, {}, true],
  ['Null true fails for a present key', { Null: { 's:k': ['true'] } }, { 's:k': 'v' }, false],
  ['Null false holds for a present key', { Null: { 's:k': ['false'] } }, { 's:k': 'v' }, true],
  ['Null false fails for an absent key', { Null: { 's:missing': ['false'] } }, {}, false],
  // Set operators on multivalued keys
  [
    'ForAllValues: every value allowed',
    { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['a', 'b', 'c'] } },
    { 'dynamodb:Attributes': ['a', 'b'] },
    true,
  ],
  [
    'ForAllValues: one value not allowed',
    { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['a', 'b'] } },
    { 'dynamodb:Attributes': ['a', 'z'] },
    false,
  ],
  [
    'ForAllValues holds for an absent key',
    { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['a'] } },
    {},
    true,
  ],
  [
    'ForAllValues:StringNotLike: a value that matches',
    { 'ForAllValues:StringNotLike': { 'aws:TagKeys': ['key1*'] } },
    { 'aws:TagKeys': ['key1:legal'] },
    false,
  ],
  [
    'ForAllValues:StringNotLike: no value matches',
    { 'ForAllValues:StringNotLike': { 'aws:TagKeys': ['key1*'] } },
    { 'aws:TagKeys': ['key2:audit'] },
    true,
  ],
  [
    'ForAnyValue: one value matches',
    { 'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': ['u1'] } },
    { 'dynamodb:LeadingKeys': ['u2', 'u1'] },
    true,
  ],
  [
    'ForAnyValue: none matches',
    { 'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': ['u1'] } },
    { 'dynamodb:LeadingKeys': ['u2', 'u3'] },
    false,
  ],
  [
    'ForAnyValue fails for an absent key',
    { 'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': ['u1'] } },
    {},
    false,
  ],
  [
    'ForAnyValue:StringNotEquals: one value outside',
    { 'ForAnyValue:StringNotEquals': { 's:l': ['a'] } },
    { 's:l': ['a', 'b'] },
    true,
  ],
  [
    'ForAllValues:StringLikeIfExists when absent',
    { 'ForAllValues:StringLikeIfExists': { 's:l': ['a*'] } },
    {},
    true,
  ],
  [
    'no set operator on several request values: any',
    { StringEquals: { 's:l': ['b'] } },
    { 's:l': ['a', 'b'] },
    true,
  ],
  // Several keys and values
  ['values OR together', { StringEquals: { 's:k': ['a', 'b', 'c'] } }, { 's:k': 'b' }, true],
  ['negated values NOR together', { StringNotEquals: { 's:k': ['a', 'b'] } }, { 's:k': 'b' }, false],
  [
    'keys under one operator AND together (both hold)',
    { StringEquals: { 's:a': ['1'], 's:b': ['2'] } },
    { 's:a': '1', 's:b': '2' },
    true,
  ],
  [
    'keys under one operator AND together (one fails)',
    { StringEquals: { 's:a': ['1'], 's:b': ['2'] } },
    { 's:a': '1', 's:b': '3' },
    false,
  ],
  [
    'operators AND together (one fails)',
    { StringEquals: { 's:a': ['1'] }, Bool: { 's:b': ['true'] } },
    { 's:a': '1', 's:b': 'false' },
    false,
  ],
  [
    'operators AND together (both hold)',
    { StringEquals: { 's:a': ['1'] }, Bool: { 's:b': ['true'] } },
    { 's:a': '1', 's:b': 'true' },
    true,
  ],
  // Key names are case-insensitive, values are not
  [
    'condition key in another case',
    { StringEquals: { 'AWS:requestedREGION': ['eu-west-1'] } },
    { 'aws:RequestedRegion': 'eu-west-1' },
    true,
  ],
  // Policy variables
  [
    'a variable takes the request value',
    { StringEquals: { 'dynamodb:LeadingKeys': ['${aws:userid}'] } },
    { 'dynamodb:LeadingKeys': 'u1', 'aws:userid': 'u1' },
    true,
  ],
  [
    'a variable inside a pattern',
    { StringLike: { 's:k': ['home/${aws:username}/*'] } },
    { 's:k': 'home/ann/notes', 'aws:username': 'ann' },
    true,
  ],
  [
    'a substituted value is no wildcard',
    { StringLike: { 's:k': ['${s:v}'] } },
    { 's:k': 'abc', 's:v': 'a*' },
    false,
  ],
  [
    'a variable without a value matches nothing',
    { StringEquals: { 's:k': ['${aws:username}'] } },
    { 's:k': '' },
    false,
  ],
  [
    "a variable's default",
    { StringEquals: { 's:k': ["${aws:username, 'nobody'}"] } },
    { 's:k': 'nobody' },
    true,
  ],
  ['${*} is a literal star', { StringLike: { 's:k': ['a${*}'] } }, { 's:k': 'abc' }, false],
  ['${*} matches a star', { StringLike: { 's:k': ['a${*}'] } }, { 's:k': 'a*' }, true],
  [
    'a variable in an ARN',
    { ArnLike: { 's:arn': ['arn:aws:dynamodb:*:*:table/${s:t}'] } },
    { 's:arn': 'arn:aws:dynamodb:us-east-1:1:table/T', 's:t': 'T' },
    true,
  ],
];

test.each(cases)('%s', (_name, block, context, expected) => {
  expect(holds(block, context)).toBe(expected);
});

test('an unsupported operator fails in an Allow and holds in a Deny, and is reported', () => {
  const block = { StringMatchesRegex: { 's:k': ['.*'] } };
  const compiled = compileConditions(block);
  expect(compiled.unsupported).toEqual(['StringMatchesRegex']);
  expect(compiled.holds(contextOf({ 's:k': 'x' }), 'Allow')).toBe(false);
  expect(compiled.holds(contextOf({ 's:k': 'x' }), 'Deny')).toBe(true);
  // The supported clauses still count: a Deny whose other clause fails does not apply.
  const mixed = compileConditions({ ...block, StringEquals: { 's:k': ['y'] } });
  expect(mixed.holds(contextOf({ 's:k': 'x' }), 'Deny')).toBe(false);
  expect(compileConditions({ Null: { 's:k': ['maybe'] } }).unsupported).toEqual(['Null']);
});

test('compileConditions lists the keys it reads, variables included, lower-cased', () => {
  const { keys } = compileConditions({
    'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['${aws:PrincipalTag/Team}'] },
  });
  expect([...keys].sort()).toEqual(['aws:principaltag/team', 'dynamodb:leadingkeys']);
});

describe('statements with conditions in evaluate()', () => {
  const T = 'arn:aws:dynamodb:eu-west-1:111122223333:table/Orders';
  const allowOwnPartition: PolicyStatement = {
    effect: 'Allow',
    actions: ['dynamodb:GetItem'],
    resources: [T],
    conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['tenant-a'] } },
  };
  const denyOutsideRegion: PolicyStatement = {
    effect: 'Deny',
    notActions: ['iam:*'],
    resources: ['*'],
    conditions: { StringNotEquals: { 'aws:RequestedRegion': ['eu-west-1'] } },
  };
  const policy = [allowOwnPartition, denyOutsideRegion];
  const context = (region: string, keys: string[]) =>
    contextOf({ 'aws:RequestedRegion': region, 'dynamodb:LeadingKeys': keys });

  test('an Allow applies only when its condition holds', () => {
    expect(evaluate(policy, 'dynamodb:GetItem', T, context('eu-west-1', ['tenant-a']))).toBe('allow');
    expect(evaluate(policy, 'dynamodb:GetItem', T, context('eu-west-1', ['tenant-b']))).toBe('implicit-deny');
  });

  test('a Deny applies only when its condition holds', () => {
    expect(evaluate(policy, 'dynamodb:GetItem', T, context('us-east-1', ['tenant-a']))).toBe('explicit-deny');
  });

  test('a decision a condition took part in is marked as depending on the request', () => {
    expect(evaluateRequest(policy, 'dynamodb:GetItem', T, context('eu-west-1', ['tenant-a']))).toEqual({
      decision: 'allow',
      dependsOnRequest: true,
    });
    const plain: PolicyStatement[] = [{ effect: 'Allow', actions: ['dynamodb:GetItem'], resources: [T] }];
    expect(evaluateRequest(plain, 'dynamodb:GetItem', T)).toEqual({
      decision: 'allow',
      dependsOnRequest: false,
    });
  });
});

describe('Condition elements read from templates', () => {
  test('values become strings, and an unknown operator is warned about', () => {
    const warnings: string[] = [];
    const [statement] = normalizeStatements(
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'dynamodb:GetItem',
            Resource: '*',
            Condition: {
              Bool: { 'aws:SecureTransport': true },
              NumericLessThan: { 's:n': 5 },
              StringMatchesRegex: { 's:k': 'x' },
            },
          },
        ],
      },
      'Role/Policy',
      warnings,
    );
    expect(statement?.conditions).toEqual({
      Bool: { 'aws:SecureTransport': ['true'] },
      NumericLessThan: { 's:n': ['5'] },
      StringMatchesRegex: { 's:k': ['x'] },
    });
    expect(warnings).toEqual([
      expect.stringContaining('Condition key s:n, s:k is never set locally'),
      expect.stringContaining('StringMatchesRegex is not evaluated locally'),
    ]);
    expect(warnings.join('\n')).not.toContain('unconditionally');
  });

  test('a condition on a key no local request carries is warned about; keys the services set are not', () => {
    const warnings: string[] = [];
    normalizeStatements(
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Deny',
            Action: '*',
            Resource: '*',
            Condition: {
              StringNotEquals: { 'aws:PrincipalOrgID': 'o-abc', 'aws:RequestedRegion': 'eu-west-1' },
            },
          },
          {
            Effect: 'Allow',
            Action: 'dynamodb:GetItem',
            Resource: '*',
            Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': 'u1' } },
          },
        ],
      },
      'Role/Policy',
      warnings,
    );
    expect(warnings).toEqual([
      expect.stringContaining('Condition key aws:principalorgid is never set locally'),
    ]);
  });

  test('policy variables only exist in policy version 2012-10-17', () => {
    const read = (Version: string | undefined) =>
      normalizeStatements(
        {
          ...(Version ? { Version } : {}),
          Statement: {
            Effect: 'Allow',
            Action: '*',
            Resource: '*',
            Condition: { StringEquals: { 's:k': '${aws:username}' } },
          },
        },
        'p',
        [],
      );
    const context = contextOf({ 's:k': 'ann', 'aws:username': 'ann' });
    expect(evaluate(read('2012-10-17'), 'x:Y', '*', context)).toBe('allow');
    expect(evaluate(read('2008-10-17'), 'x:Y', '*', context)).toBe('implicit-deny');
    expect(evaluate(read('2008-10-17'), 'x:Y', '*', contextOf({ 's:k': '${aws:username}' }))).toBe('allow');
  });
});

test("a template role's Condition, intrinsics resolved, reaches the function's policy", () => {
  const root = mkdtempSync(path.join(tmpdir(), 'iam-conditions-'));
  try {
    writeFileSync(
      path.join(root, 'manifest.json'),
      JSON.stringify({
        version: '55.0.0',
        artifacts: {
          App: {
            type: 'aws:cloudformation:stack',
            environment: 'aws://unknown-account/unknown-region',
            properties: { templateFile: 'App.template.json', stackName: 'App' },
          },
        },
      }),
    );
    writeFileSync(
      path.join(root, 'App.template.json'),
      JSON.stringify({
        Resources: {
          Role: {
            Type: 'AWS::IAM::Role',
            Properties: {
              AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [] },
              Policies: [
                {
                  PolicyName: 'guard',
                  PolicyDocument: {
                    Version: '2012-10-17',
                    Statement: [
                      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*' },
                      {
                        Effect: 'Deny',
                        NotAction: 'iam:*',
                        Resource: '*',
                        Condition: { StringNotEquals: { 'aws:RequestedRegion': [{ Ref: 'AWS::Region' }] } },
                      },
                    ],
                  },
                },
              ],
            },
          },
          Fn: {
            Type: 'AWS::Lambda::Function',
            Properties: {
              Handler: 'index.handler',
              Runtime: 'nodejs22.x',
              Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
              Code: { ZipFile: 'exports.handler = async () => 1;' },
            },
          },
        },
      }),
    );
    const app = describeApp(readAssembly(root), {
      region: 'eu-west-1',
      accountId: '123456789012',
      workDir: path.join(root, 'work'),
    });
    const policy = app.functions[0]?.policy ?? [];
    expect(policy[1]?.conditions).toEqual({ StringNotEquals: { 'aws:RequestedRegion': ['eu-west-1'] } });
    expect(app.warnings.join('\n')).not.toMatch(/Condition/);
    const table = 'arn:aws:dynamodb:eu-west-1:123456789012:table/T';
    expect(
      evaluate(policy, 'dynamodb:GetItem', table, contextOf({ 'aws:RequestedRegion': 'eu-west-1' })),
    ).toBe('allow');
    expect(
      evaluate(policy, 'dynamodb:GetItem', table, contextOf({ 'aws:RequestedRegion': 'us-east-1' })),
    ).toBe('explicit-deny');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
