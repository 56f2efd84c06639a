/**
 * A third style of app nobody here wrote, run through `--assembly`: a CDK `Stage` (nested
 * assembly, pinned to account 123456789012 in eu-west-1) whose API stack imports its table from a
 * data stack (`Fn::ImportValue`), a braced route selection expression, a `beta` stage with
 * throttling, a two-way route, a `$default` route, a MOCK-integrated `ping`, a route through a
 * Lambda alias, ESM NodejsFunction bundles next to inline CommonJS functions, and only L2 grants
 * (one of which the app forgot). And a fourth style: one stack whose WebSocket part is a CDK
 * `NestedStack` (a template of its own, parameters from the parent, outputs back), with a plain
 * CommonJS asset folder behind a two-way `$default` and no `$connect` route.
 */
import { localEnvironment } from '../../local/assembly-stack';
import { foreignAppAssembly } from '../support/foreign-apps';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';
import { TestClient } from './helpers';

const clients: TestClient[] = [];
let stack: LocalStackProcess;

async function join(room: string, name: string): Promise<TestClient> {
  const client = await TestClient.open(`${stack.wsUrl}?room=${room}&name=${name}`);
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

describe('foreign app: CDK Stage with two stacks, ESM and inline CommonJS handlers, two-way and MOCK routes', () => {
  beforeAll(async () => {
    stack = await startLocalStackProcess({ assembly: await foreignAppAssembly('l2-stage-twoway') });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the API of the nested stage under its stage name with every route', () => {
    expect(stack.wsUrl).toMatch(/^ws:\/\/localhost:\d+\/beta$/);
    expect(stack.apis).toHaveLength(1);
    expect(stack.apis[0]?.managementEndpoint).toMatch(/\/beta$/);
    expect([...(stack.apis[0]?.routes ?? [])].sort()).toEqual(
      ['$connect', '$default', '$disconnect', 'ping (MOCK) (two-way)', 'roster (two-way)', 'say'].sort(),
    );
  });

  it('answers a two-way route with the handler body, read back through the GSI of the imported table', async () => {
    const ada = await join('blue', 'ada');
    const bob = await join('blue', 'bob');
    await join('red', 'cy');
    const roster = async () => {
      ada.send({ action: 'roster' });
      return JSON.parse(await ada.next(10_000)) as { room: string; members: string[] };
    };
    const first = await roster();
    expect(first.room).toBe('blue');
    expect(first.members.sort()).toEqual(['ada', 'bob']);
    // $disconnect (inline CommonJS on nodejs20.x) deletes bob's record; it runs after the close.
    await bob.dispose();
    let members = first.members;
    for (let attempt = 0; attempt < 50 && members.includes('bob'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      members = (await roster()).members;
    }
    expect(members).toEqual(['ada']);
  });

  it('posts to the other members of the room through the stage callback URL', async () => {
    const ada = await join('green', 'ada');
    const bob = await join('green', 'bob');
    const cy = await join('yellow', 'cy');
    ada.send({ action: 'say', text: 'hello green' });
    expect(JSON.parse(await bob.next(10_000))).toEqual({ from: 'ada', text: 'hello green' });
    // The sender and the other room got nothing: their first message is their own roster.
    for (const [client, room] of [
      [ada, 'green'],
      [cy, 'yellow'],
    ] as const) {
      client.send({ action: 'roster' });
      expect(JSON.parse(await client.next(10_000))).toMatchObject({ room });
    }
  });

  it('sends an unknown action to $default, whose missing table grant is refused as on AWS', async () => {
    const ada = await join('lobby', 'ada');
    ada.send({ action: 'dance', style: 'waltz' });
    expect(JSON.parse(await ada.next(10_000))).toEqual({
      error: 'unknown action',
      received: '{"action":"dance","style":"waltz"}',
      logged: 'AccessDeniedException',
    });
    ada.send('not json at all');
    expect(JSON.parse(await ada.next(10_000))).toMatchObject({ received: 'not json at all' });
  });

  it('answers the MOCK ping from its integration response template', async () => {
    const ada = await join('lobby', 'ada');
    ada.send({ action: 'ping', data: { n: 1 } });
    const pong = JSON.parse(await ada.next(10_000)) as { pong: boolean; connectionId: string; echo: unknown };
    expect(pong).toMatchObject({ pong: true, echo: { n: 1 } });
    expect(pong.connectionId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  });
});

describe('foreign app: the WebSocket API in a NestedStack, CommonJS asset folder, no $connect route', () => {
  let nested: LocalStackProcess;

  beforeAll(async () => {
    nested = await startLocalStackProcess({ assembly: await foreignAppAssembly('l2-nested-stack') });
  }, 120_000);

  afterAll(async () => {
    await nested?.stop();
  });

  it("serves the nested stack's API and writes to the parent's table through the parameters", async () => {
    expect(nested.wsUrl).toMatch(/\/dev$/);
    expect(nested.apis.map((a) => a.routes)).toEqual([['$default (two-way)']]);
    const client = await TestClient.open(nested.wsUrl);
    clients.push(client);
    client.send({ add: 'buy milk' });
    expect(JSON.parse(await client.next(10_000))).toEqual({ notes: ['buy milk'] });
    client.send({ add: 'call mum' });
    expect(JSON.parse(await client.next(10_000))).toEqual({ notes: ['buy milk', 'call mum'] });
  });
});

describe('localEnvironment: where the services and functions run', () => {
  const stacks = (...envs: [string, string][]) => ({
    stacks: envs.map(([region, accountId], i) => ({
      artifactId: `S${i}`,
      stackName: `S${i}`,
      region,
      accountId,
    })),
  });

  it("takes the stacks' account and region when they all agree, whatever the flags say", () => {
    const app = stacks(['eu-west-1', '123456789012'], ['eu-west-1', '123456789012']);
    expect(localEnvironment(app, { region: 'us-east-1' })).toEqual({
      region: 'eu-west-1',
      accountId: '123456789012',
    });
  });

  it('keeps the flags, and says so, when the stacks span regions or accounts', () => {
    const lines: string[] = [];
    const app = stacks(['eu-west-1', '123456789012'], ['us-west-2', '123456789012']);
    expect(
      localEnvironment(app, { region: 'ap-south-1', accountId: '111111111111' }, (l) => lines.push(l)),
    ).toEqual({
      region: 'ap-south-1',
      accountId: '123456789012',
    });
    expect(lines).toEqual([expect.stringContaining('the stacks span eu-west-1, us-west-2')]);
  });
});
