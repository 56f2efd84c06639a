/**
 * A fifth style of app nobody here wrote, run through `--assembly`: functions that get shared code
 * from Lambda layers published by another stack (l2-layers). A CommonJS asset folder requires the
 * layer's package by name and its helper by /opt path (with a later layer replacing that helper),
 * an ESM NodejsFunction imports the package it left external, a layer of another account is
 * warned about and skipped, and a function that lists no layer fails its init as on AWS.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readAssembly } from '../../local/assembly/manifest';
import { describeApp } from '../../local/assembly/template';
import { foreignAppAssembly } from '../support/foreign-apps';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';
import { TestClient } from './helpers';

let assembly: string;

beforeAll(async () => {
  assembly = await foreignAppAssembly('l2-layers');
}, 120_000);

describe('foreign app with layers: the reader', () => {
  it("gives each function the layers of this assembly in its list's order, and warns about another account's", () => {
    const app = describeApp(readAssembly(assembly), {
      region: 'us-east-1',
      accountId: '000000000000',
      workDir: path.join(assembly, '.work'),
    });
    const byLogical = (prefix: string) => app.functions.find((fn) => fn.logicalId.startsWith(prefix));
    // Asset folders are named by content hash; which layer is which shows in what they hold.
    const holds = (layer: string | undefined, file: string) =>
      layer !== undefined && existsSync(path.join(layer, file));
    const [shared, brand, ...more] = byLogical('EchoFunction')?.layers ?? [];
    expect(more).toEqual([]);
    expect(holds(shared, 'nodejs/node_modules/tiny-format/package.json')).toBe(true);
    expect(readFileSync(path.join(brand ?? '', 'nodejs', 'greeting.js'), 'utf8')).toContain("'brand'");
    expect(byLogical('StampFunction')?.layers).toEqual([shared]);
    expect(byLogical('BareFunction')?.layers).toBeUndefined();
    expect(app.warnings).toContainEqual(
      expect.stringMatching(
        /^ShoutApi\/EchoFunction[0-9A-F]+: layer arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:53 has no content in this assembly/,
      ),
    );
    expect(app.warnings.filter((warning) => warning.includes('layer'))).toHaveLength(1);
    expect(app.notRun.filter((item) => item.type.startsWith('AWS::Lambda::Layer'))).toEqual([]);
  });
});

describe('foreign app with layers: on a running stack', () => {
  let stack: LocalStackProcess;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    stack = await startLocalStackProcess({ assembly });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack?.stop();
  });

  const open = async () => {
    const client = await TestClient.open(stack.wsUrl);
    clients.push(client);
    return client;
  };

  it('runs the CommonJS handler with the layer package, its dependency, and /opt as the later layer left it', async () => {
    const client = await open();
    client.send({ action: 'echo', name: 'ada', text: 'layers work' });
    expect(JSON.parse(await client.next(10_000))).toEqual({
      greeting: 'Welcome aboard, ada',
      greetingFrom: 'brand',
      shouted: 'LAYERS WORK!',
      banner: '[ ada ]=====',
    });
  });

  it('runs the ESM bundle whose external import resolves from the layer', async () => {
    const client = await open();
    client.send({ action: 'stamp', text: 'esm too' });
    expect(JSON.parse(await client.next(10_000))).toEqual({ stamped: 'ESM TOO!', formatVersion: '1.2.0' });
  });

  it('fails the init of a function that lists no layer with Runtime.ImportModuleError', async () => {
    const client = await open();
    client.send({ action: 'bare', text: 'no layer' });
    expect(JSON.parse(await client.next(10_000))).toMatchObject({ message: 'Internal server error' });
    const deadline = Date.now() + 5000;
    while (!/Runtime\.ImportModuleError.*tiny-format/.test(stack.output()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stack.output()).toMatch(/Runtime\.ImportModuleError.*Cannot find module 'tiny-format'/);
  });
});
