/**
 * Nested stacks (AWS::CloudFormation::Stack, CDK's NestedStack) in the template reader: the nested
 * template found through the asset its TemplateURL names, parameters from the parent's resource,
 * outputs back through `Fn::GetAtt [Nested, Outputs.X]`, and a nested stack whose template is not
 * in the assembly listed as not run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readAssembly } from '../../local/assembly/manifest';
import { describeApp } from '../../local/assembly/template';

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'nested-assembly-'));
  const write = (file: string, value: unknown) => writeFileSync(path.join(root, file), JSON.stringify(value));
  const templateUrl = (hash: string) => ({
    'Fn::Join': [
      '',
      ['https://s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, `/bucket/${hash}.json`],
    ],
  });
  write('manifest.json', {
    version: '55.0.0',
    artifacts: {
      'Parent.assets': { type: 'cdk:asset-manifest', properties: { file: 'Parent.assets.json' } },
      Parent: {
        type: 'aws:cloudformation:stack',
        environment: 'aws://unknown-account/unknown-region',
        properties: { templateFile: 'Parent.template.json', stackName: 'Parent' },
        dependencies: ['Parent.assets'],
      },
    },
  });
  write('Parent.assets.json', {
    version: '55.0.0',
    files: { nestedhash: { source: { path: 'ParentChild.nested.template.json', packaging: 'file' } } },
  });
  write('Parent.template.json', {
    Resources: {
      Notes: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        },
      },
      Child: {
        Type: 'AWS::CloudFormation::Stack',
        Properties: {
          TemplateURL: templateUrl('nestedhash'),
          Parameters: { NotesName: { Ref: 'Notes' }, NotesArn: { 'Fn::GetAtt': ['Notes', 'Arn'] } },
        },
      },
      Elsewhere: {
        Type: 'AWS::CloudFormation::Stack',
        Properties: { TemplateURL: templateUrl('unknownhash') },
      },
    },
    Outputs: { HandlerName: { Value: { 'Fn::GetAtt': ['Child', 'Outputs.HandlerName'] } } },
  });
  write('ParentChild.nested.template.json', {
    Parameters: { NotesName: { Type: 'String' }, NotesArn: { Type: 'String' } },
    Resources: {
      Handler: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Code: { ZipFile: 'exports.handler = async () => ({ statusCode: 200 });' },
          Role: 'arn:aws:iam::000000000000:role/handler-role',
          Environment: { Variables: { NOTES_TABLE: { Ref: 'NotesName' } } },
        },
      },
    },
    Outputs: { HandlerName: { Value: { Ref: 'Handler' } } },
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const read = () =>
  describeApp(readAssembly(root), { region: 'eu-west-1', accountId: '123456789012', workDir: root });

describe('nested stacks', () => {
  it("reads the nested template as a stack of its own, with the parent's values as parameters", () => {
    const app = read();
    const table = app.tables[0];
    const handler = app.functions.find((fn) => fn.logicalId === 'Handler');
    expect(app.stacks.map((s) => s.stackName)).toEqual([
      'Parent',
      expect.stringMatching(/^Parent-Child-[A-Z0-9]{12}$/),
    ]);
    expect(handler?.environment).toEqual({ NOTES_TABLE: table?.tableName });
    expect(handler?.functionName).toMatch(/^Parent-Child-[A-Z0-9]{12}-Handler-[A-Z0-9]{12}$/);
    expect(app.stacks[1]).toMatchObject({ region: 'eu-west-1', accountId: '123456789012' });
  });

  it("resolves the parent's Fn::GetAtt Outputs.X from the nested stack's outputs", () => {
    const app = read();
    const handler = app.functions.find((fn) => fn.logicalId === 'Handler');
    expect(app.outputs.find((o) => o.stackName === 'Parent' && o.logicalId === 'HandlerName')?.value).toBe(
      handler?.functionName,
    );
  });

  it('lists a nested stack whose template is not in the assembly', () => {
    expect(read().notRun.map((n) => `${n.logicalId}: ${n.reason}`)).toEqual([
      'Elsewhere: a nested stack whose template is not in this assembly (its resources are not run)',
    ]);
  });
});
