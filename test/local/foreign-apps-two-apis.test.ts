/**
 * A sixth style of app nobody here wrote, run through `--assembly` (l2-two-apis): two WebSocket
 * APIs in one stack, every handler inline CommonJS on `NODEJS_LATEST`; a public two-way `$default`
 * echo, and a secured API (two stages) whose token travels in `Sec-WebSocket-Protocol`, whose authorizer
 * context reaches a one-way route stringified as API Gateway passes it on, next to a Python route
 * and a five-minute scheduled rule that `--sweep-interval-ms` speeds up.
 */
import * as path from 'node:path';
import { scheduleLines } from '../../local/app/schedule-lines';
import { readAssembly } from '../../local/assembly/manifest';
import { describeApp } from '../../local/assembly/template';
import { startAssemblyStack } from '../../local/assembly-stack';
import { foreignAppAssembly } from '../support/foreign-apps';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';
import { TestClient } from './helpers';

let assembly: string;
let stack: LocalStackProcess;
const clients: TestClient[] = [];

beforeAll(async () => {
  assembly = await foreignAppAssembly('l2-two-apis');
  stack = await startLocalStackProcess({
    assembly,
    extraArgs: ['--sweep-interval-ms', '300'],
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await stack?.stop();
});

const api = (name: string, stage?: string) => {
  const served = stack.apis.find(
    (candidate) => candidate.name === name && (stage === undefined || candidate.wsUrl.endsWith(`/${stage}`)),
  );
  if (!served) throw new Error(`no API ${name} among ${stack.apis.map((a) => a.wsUrl).join(', ')}`);
  return served;
};

const open = async (url: string, protocols?: string[]) => {
  const client = await TestClient.open(url, {}, protocols);
  clients.push(client);
  return client;
};

async function outputMatching(pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(stack.output()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return stack.output();
}

describe('foreign app with two WebSocket APIs, inline handlers and a subprotocol authorizer', () => {
  it('serves both APIs and each stage on a port of its own, the Python route kept as a route that is not run', () => {
    expect(stack.apis).toHaveLength(3);
    const echo = api('EchoApi');
    const secure = api('secure-sockets', 'v1');
    expect(echo.wsUrl).toMatch(/^ws:\/\/localhost:\d+\/prod$/);
    expect(secure.wsUrl).toMatch(/^ws:\/\/localhost:\d+\/v1$/);
    expect(api('secure-sockets', 'v2').wsUrl).toMatch(/^ws:\/\/localhost:\d+\/v2$/);
    expect(new Set(stack.apis.map((served) => new URL(served.wsUrl).port)).size).toBe(3);
    expect(echo.routes).toEqual(['$default (two-way)']);
    expect([...secure.routes].sort()).toEqual([
      '$connect (authorizer)',
      'stats (not run) (two-way)',
      'whoami',
    ]);
  });

  it('answers the two-way $default echo on the first API', async () => {
    const client = await open(api('EchoApi').wsUrl);
    client.send('plain text');
    expect(JSON.parse(await client.next(10_000))).toEqual({ echo: 'plain text', route: '$default' });
  });

  it('selects the offered subprotocol and passes the authorizer context on stringified, with principalId', async () => {
    const client = await open(api('secure-sockets').wsUrl, ['token.ada', 'chat']);
    expect(client.ws.protocol).toBe('token.ada');
    client.send({ action: 'whoami' });
    expect(JSON.parse(await client.next(10_000))).toEqual({
      authorizer: { user: 'ada', level: '3', admin: 'true', principalId: 'ada' },
      stage: 'v1',
    });
  });

  it('serves the second stage too: its events name it, and @connections under its path reaches its connections', async () => {
    const client = await open(api('secure-sockets', 'v2').wsUrl, ['token.cy']);
    client.send({ action: 'whoami' });
    expect(JSON.parse(await client.next(10_000))).toEqual({
      authorizer: { user: 'cy', level: '3', admin: 'false', principalId: 'cy' },
      stage: 'v2',
    });
  });

  it('refuses a --stage that names another stage of an API, whose @connections calls would reach the wrong stage', async () => {
    await expect(
      startAssemblyStack({ assemblyDir: assembly, workDir: path.join(assembly, '.work'), stage: 'v2' }),
    ).rejects.toThrow(/stage v2 .*secure-sockets.*v1/);
  });

  it('refuses a denied user with 403, a missing token with 401, and an object in the context with 500', async () => {
    const url = api('secure-sockets').wsUrl;
    await expect(open(url, ['token.mallory'])).rejects.toMatchObject({ status: 403 });
    await expect(open(url)).rejects.toMatchObject({ status: 401 });
    await expect(open(url, ['chat'])).rejects.toMatchObject({ status: 401 });
    await expect(open(url, ['token.eve'])).rejects.toMatchObject({ status: 500 });
    expect(await outputMatching(/context\.profile is an object/, 5000)).toMatch(
      /context\.profile is an object/,
    );
  });

  it('answers a message to the Python route with Internal server error and keeps serving', async () => {
    const client = await open(api('secure-sockets').wsUrl, ['token.bob']);
    client.send({ action: 'stats' });
    expect(JSON.parse(await client.next(10_000))).toMatchObject({ message: 'Internal server error' });
    client.send({ action: 'whoami' });
    expect(JSON.parse(await client.next(10_000))).toMatchObject({
      authorizer: { user: 'bob', admin: 'false' },
    });
  });

  it("reports the rule, its function and its pace here: the template's rate, or the flag's", () => {
    const app = describeApp(readAssembly(assembly), {
      region: 'us-east-1',
      accountId: '000000000000',
      workDir: path.join(assembly, '.work'),
    });
    const line =
      /^ {2}Schedule {6}TwoSockets-Heartbeat[\w-]+ rate\(5 minutes\) -> TwoSockets-HeartbeatFunction[\w-]+: /;
    expect(scheduleLines(app)).toEqual([expect.stringMatching(line)]);
    expect(scheduleLines(app)[0]).toMatch(/: every 300 s$/);
    expect(scheduleLines(app, 300)[0]).toMatch(/: every 300 ms here \(--sweep-interval-ms\)$/);
  });

  it('runs the five-minute rule at the --sweep-interval-ms pace', async () => {
    const output = await outputMatching(/heartbeat from arn:aws:events:[^:]+:\d{12}:rule\/.*Heartbeat/, 8000);
    expect(output).toMatch(/heartbeat from arn:aws:events:[^:]+:\d{12}:rule\/.*Heartbeat/);
  });
});
