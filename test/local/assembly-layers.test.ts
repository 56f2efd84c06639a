// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, not template literals.
/**
 * The assembly reader on layers (JSON fixture): a function's Layers list resolved to the layers'
 * asset folders in list order, whatever form names them (Ref, Fn::GetAtt LayerVersionArn, an ARN
 * written out with Fn::Sub, even with another version number); layers it cannot mount warned
 * about; the layer resources not listed as not run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readAssembly } from '../../local/assembly/manifest';
import { type AppDescription, describeApp } from '../../local/assembly/template';
import { fileWriter } from '../support/files';

let root: string;
let app: AppDescription;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'assembly-layers-'));
  const write = fileWriter(root);
  write('manifest.json', {
    version: '55.0.0',
    artifacts: {
      'Layered.assets': { type: 'cdk:asset-manifest', properties: { file: 'Layered.assets.json' } },
      Layered: {
        type: 'aws:cloudformation:stack',
        environment: 'aws://111111111111/eu-central-1',
        properties: { templateFile: 'Layered.template.json', stackName: 'Layered' },
        dependencies: ['Layered.assets'],
      },
    },
  });
  write('asset.fn1/index.js', 'exports.handler = async () => 1;\n');
  write('asset.layer1/nodejs/node_modules/util/index.js', 'exports.x = 1;\n');
  write('asset.layer2/nodejs/helper.js', 'exports.y = 2;\n');
  write('Layered.assets.json', {
    version: '55.0.0',
    files: Object.fromEntries(
      ['fn1', 'layer1', 'layer2'].map((hash) => [
        hash,
        { source: { path: `asset.${hash}`, packaging: 'zip' }, destinations: {} },
      ]),
    ),
  });
  const content = (hash: string) => ({
    S3Bucket: { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' },
    S3Key: `${hash}.zip`,
  });
  write('Layered.template.json', {
    Resources: {
      Utils: {
        Type: 'AWS::Lambda::LayerVersion',
        Properties: { LayerName: 'utils', Content: content('layer1') },
      },
      Helpers: { Type: 'AWS::Lambda::LayerVersion', Properties: { Content: content('layer2') } },
      HelpersPermission: {
        Type: 'AWS::Lambda::LayerVersionPermission',
        Properties: { Action: 'lambda:GetLayerVersion', LayerVersionArn: { Ref: 'Helpers' }, Principal: '*' },
      },
      Elsewhere: {
        Type: 'AWS::Lambda::LayerVersion',
        Properties: { Content: { S3Bucket: 'a-bucket-of-someone-else', S3Key: 'layers/elsewhere.zip' } },
      },
      Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {} } },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
          Code: content('fn1'),
          Layers: [
            { 'Fn::Sub': 'arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:layer:utils:4' },
            'arn:aws:lambda:eu-central-1:999999999999:layer:vendor-extension:7',
            { Ref: 'Elsewhere' },
            { 'Fn::GetAtt': ['Helpers', 'LayerVersionArn'] },
            { Ref: 'Utils' },
            { Ref: 'Helpers' },
          ],
        },
      },
      Plain: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
          Code: content('fn1'),
        },
      },
    },
    Outputs: { UtilsArn: { Value: { Ref: 'Utils' } } },
  });
  app = describeApp(readAssembly(root), {
    region: 'us-east-1',
    accountId: '000000000000',
    workDir: path.join(root, 'work'),
  });
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('assembly reader: layers', () => {
  it("gives a function its mountable layers' content in list order, however the list names them", () => {
    const fn = app.functions.find((f) => f.logicalId === 'Fn');
    const [utils, helpers] = ['asset.layer1', 'asset.layer2'].map((folder) => path.join(root, folder));
    expect(fn?.layers).toEqual([utils, helpers, utils, helpers]);
    expect(app.functions.find((f) => f.logicalId === 'Plain')?.layers).toBeUndefined();
  });

  it("makes a layer's Ref its version ARN in the stack's account and region", () => {
    expect(app.outputs.find((o) => o.logicalId === 'UtilsArn')?.value).toBe(
      'arn:aws:lambda:eu-central-1:111111111111:layer:utils:1',
    );
  });

  it('warns about each layer it cannot mount, by function, and about more layers than Lambda allows', () => {
    const layerWarnings = app.warnings.filter((warning) => warning.includes('layer'));
    expect(layerWarnings).toEqual([
      expect.stringMatching(/^Layered\/Elsewhere: the layer's content is not an asset of this assembly/),
      'Layered/Fn: 6 layers (Lambda allows 5; CloudFormation would refuse the function)',
      expect.stringMatching(
        /^Layered\/Fn: layer arn:aws:lambda:eu-central-1:999999999999:layer:vendor-extension:7 has no content in this assembly \(published elsewhere, by another account or app\); it is not mounted/,
      ),
      expect.stringMatching(
        /^Layered\/Fn: layer arn:aws:lambda:eu-central-1:111111111111:layer:Layered-Elsewhere-[A-Za-z0-9]+:1 has no content in this assembly/,
      ),
    ]);
  });

  it('does not list layers or their permissions as not run', () => {
    expect(app.notRun.filter((item) => item.type.startsWith('AWS::Lambda::Layer'))).toEqual([]);
  });
});
