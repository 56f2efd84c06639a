/**
 * The local stack as a program: dev tokens (endpoint and CLI), the demo page, data kept on disk
 * across restarts, and a clean shutdown.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';
import { TestClient } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const SECRET = new TextEncoder().encode('local-dev-secret');
const clients: TestClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

async function authed(stack: LocalStackProcess, userId: string) {
  const token = await stack.token(userId);
  const client = await TestClient.open(`${stack.wsUrl}?test_id=demo`);
  clients.push(client);
  client.send({ action: 'auth', token });
  const frame = await client.nextJson<{ type: string; data: Record<string, unknown> }>();
  return { client, frame };
}

describe('local stack: dev tokens and demo page', () => {
  let stack: LocalStackProcess;
  const http = () => `http://127.0.0.1:${stack.port}`;

  beforeAll(async () => {
    stack = await startLocalStackProcess();
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('GET /dev/token returns an HS256 token with sub, iat and exp', async () => {
    const response = await fetch(`${http()}/dev/token?user_id=zoe&ttl_seconds=120`);
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const { payload } = await jwtVerify(token, SECRET, { algorithms: ['HS256'] });
    expect(payload.sub).toBe('zoe');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(120);
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
  });

  it.each(['', '?user_id=', '?user_id=zoe&ttl_seconds=0', '?user_id=zoe&ttl_seconds=abc'])(
    'GET /dev/token%s is 400',
    async (query) => {
      const response = await fetch(`${http()}/dev/token${query}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ message: expect.any(String) });
    },
  );

  it('GET / redirects to /demo/, which serves the demo page and its script', async () => {
    const root = await fetch(`${http()}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/demo/');
    const page = await fetch(`${http()}/demo/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<html');
    const script = await fetch(`${http()}/demo/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(await fetch(`${http()}/demo/nope.txt`).then((r) => r.status)).toBe(404);
  });

  it('unknown paths are 404', async () => {
    expect((await fetch(`${http()}/nothing-here`)).status).toBe(404);
  });
});

describe('local stack: npm run token', () => {
  it('prints a token for the user id with the requested ttl', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'local', 'token.ts'), 'yuki', '--ttl-seconds', '90'],
      { cwd: ROOT },
    );
    const { payload } = await jwtVerify(stdout.trim(), SECRET, { algorithms: ['HS256'] });
    expect(payload.sub).toBe('yuki');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(90);
  });
});

describe('local stack: configuration', () => {
  it('refuses to start with a setting the handlers would reject, and says why', async () => {
    const start = promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'local', 'start.ts'),
        '--memory',
        '--port',
        '0',
        '--auth-deadline-seconds',
        '0',
      ],
      { cwd: ROOT },
    );
    await expect(start).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/AUTH_DEADLINE_SECONDS/),
    });
  });
});

describe('local stack: data on disk, shutdown', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'local-stack-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps an assessment across a restart when the data is on disk', async () => {
    const first = await startLocalStackProcess({ dataDir });
    let assessmentId: unknown;
    try {
      const { client } = await authed(first, 'erin');
      client.send({ action: 'message', type: 'start_assessment' });
      const started = await client.nextOfType<{ data: { assessment_id: string } }>('assessment_started');
      assessmentId = started.data.assessment_id;
      // A second stack on the same folder stops at once, naming the one that holds it.
      await expect(startLocalStackProcess({ dataDir })).rejects.toThrow(
        /another local stack \(pid \d+\) is using/,
      );
    } finally {
      await first.stop();
    }
    expect(first.exitCode()).toBe(0);
    expect((await readdir(dataDir)).length).toBeGreaterThan(0);

    const second = await startLocalStackProcess({ dataDir });
    try {
      const { frame } = await authed(second, 'erin');
      expect(frame.type).toBe('auth_success');
      expect(frame.data).toMatchObject({
        recovered: true,
        recovered_assessment: { assessment_id: assessmentId },
      });
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('on SIGTERM, open connections are closed with 1001 and the process exits 0', async () => {
    const stack = await startLocalStackProcess();
    const { client } = await authed(stack, 'frank');
    await stack.stop();
    expect(await client.waitClosed()).toEqual({ code: 1001, reason: 'Going away' });
    expect(stack.exitCode()).toBe(0);
  }, 60_000);
});
