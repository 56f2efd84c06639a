/**
 * The Powertools for AWS Lambda (TypeScript) layer that AWS publishes: an app lists its ARN and
 * leaves `@aws-lambda-powertools/*` out of its bundle. Locally the ARN mounts a stand-in layer with
 * the installed Powertools packages, so such a handler runs (CommonJS and ES module), and the
 * packages of the real layer that are not installed are named in a warning.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { publishedLayer } from '../../local/assembly/published-layers';
import { type LayerIndex, layersOf } from '../../local/assembly/read-layers';
import type { InvokeResult } from '../../local/runtime/contract';
import { createFunctionRuntime, type LocalFunctionRuntime } from '../../local/runtime/index';
import { ACCOUNT, fixtureFunction, REGION } from './runtime-helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const POWERTOOLS_ARN = 'arn:aws:lambda:eu-west-1:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:24';
const NO_LAYERS_IN_ASSEMBLY: LayerIndex = { byArn: new Map(), byLayerArn: new Map() };

const answer = (result: InvokeResult): unknown => {
  if (!result.ok) throw new Error(`invocation failed: ${result.errorType}: ${result.errorMessage}`);
  return result.value;
};

describe('published layers', () => {
  it('mounts the Powertools TypeScript layer by its ARN (any region, version, V1 or V2); other ARNs stay unmounted', () => {
    const warnings: string[] = [];
    const mounted = layersOf(
      NO_LAYERS_IN_ASSEMBLY,
      'App/Fn',
      [
        POWERTOOLS_ARN,
        'arn:aws:lambda:us-east-1:094274105915:layer:AWSLambdaPowertoolsTypeScript:3',
        'arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:38',
      ],
      warnings,
    );
    const standIn = publishedLayer(POWERTOOLS_ARN)?.location;
    expect(standIn).toBeDefined();
    expect(mounted).toEqual([standIn, standIn]);
    // The insights layer has no content here; the Powertools packages not installed are named.
    expect(warnings.some((w) => w.includes('LambdaInsightsExtension') && w.includes('not mounted'))).toBe(
      true,
    );
    expect(warnings.some((w) => w.includes('@aws-lambda-powertools/tracer'))).toBe(true);
    expect(warnings.join('\n')).not.toContain('@aws-lambda-powertools/logger');
    // The V1 layer's Powertools is not the installed major version: said once, for that ARN only.
    const versionWarnings = warnings.filter((w) => w.includes('whose API differs'));
    expect(versionWarnings).toEqual([
      expect.stringMatching(
        /AWSLambdaPowertoolsTypeScript:3 carries Powertools v1; .* installed 2\.\d+\.\d+ packages/,
      ),
    ]);
    expect(
      publishedLayer('arn:aws:lambda:us-east-1:123456789012:layer:AWSLambdaPowertoolsTypeScriptV2:24'),
    ).toBe(undefined);
  });

  describe('a handler that imports Powertools from the layer', () => {
    let dir: string;
    let runtime: LocalFunctionRuntime;

    beforeAll(() => {
      mkdirSync(path.join(ROOT, '.local-cache'), { recursive: true });
      dir = mkdtempSync(path.join(ROOT, '.local-cache', 'published-layers-'));
      // The handlers live under the project, whose node_modules has Powertools: only /opt may supply it.
      writeFileSync(
        path.join(dir, 'index.js'),
        "const { Logger } = require('@aws-lambda-powertools/logger');\n" +
          "const logger = new Logger({ serviceName: 'cjs' });\n" +
          'exports.handler = async () => typeof logger.info;\n',
      );
      writeFileSync(
        path.join(dir, 'esm.mjs'),
        "import { Metrics } from '@aws-lambda-powertools/metrics';\n" +
          "const metrics = new Metrics({ namespace: 'local', serviceName: 'esm' });\n" +
          'export const handler = async () => typeof metrics.addMetric;\n',
      );
      const layers = [publishedLayer(POWERTOOLS_ARN)?.location ?? ''];
      runtime = createFunctionRuntime({
        functions: [
          fixtureFunction('cjs', dir, 'index.handler', { layers }),
          fixtureFunction('esm', dir, 'esm.handler', { layers }),
          fixtureFunction('cjs-without', dir, 'index.handler'),
        ],
        region: REGION,
        accountId: ACCOUNT,
        log: () => {},
        lifecycleLogs: false,
      });
    });

    afterAll(async () => {
      await runtime?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('runs, CommonJS and ES module', async () => {
      expect(answer(await runtime.invoke('RuntimeTest/cjs', {}))).toBe('function');
      expect(answer(await runtime.invoke('RuntimeTest/esm', {}))).toBe('function');
    });

    it('fails its init without the layer, as on Lambda', async () => {
      const result = await runtime.invoke('RuntimeTest/cjs-without', {});
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.errorType).toBe('Runtime.ImportModuleError');
        expect(result.errorMessage).toContain('@aws-lambda-powertools/logger');
      }
    });
  });
});
