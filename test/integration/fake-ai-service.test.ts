/**
 * The fake AI service on its own: its HTTP test controls, its idempotency rule, and
 * `npm run fake-ai` starting it as a separate process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type FakeAiService, startFakeAiService } from '../../scripts/fake-ai-service';

let fake: FakeAiService;
beforeAll(async () => {
  fake = await startFakeAiService();
});
afterAll(() => fake.close());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

test('HTTP controls: fail, then reset', async () => {
  expect((await post('/_fake/fail', { count: 1, status: 500 })).status).toBe(204);
  const refused = await post('/threads', { assessment_id: 'a', test_id: 't' });
  expect(refused.status).toBe(500);
  const created = await post('/threads', { assessment_id: 'a', test_id: 't' });
  expect(created.status).toBe(201);
  const { thread_id } = (await created.json()) as { thread_id: string };
  const listed = (await (await fetch(`${fake.url}/_fake/threads`)).json()) as { threads: unknown[] };
  expect(listed.threads).toEqual([expect.objectContaining({ threadId: thread_id })]);

  expect((await post('/_fake/reset', {})).status).toBe(204);
  expect(fake.threads()).toEqual([]);
  expect((await post('/_fake/fail', { count: -1 })).status).toBe(400);
});

test('a replayed key returns the first response and says so', async () => {
  fake.reset();
  const first = await post('/threads', { assessment_id: 'a', test_id: 't' }, { 'idempotency-key': 'k1' });
  const again = await post('/threads', { assessment_id: 'a', test_id: 't' }, { 'idempotency-key': 'k1' });
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(await again.json()).toEqual(await first.json());
  const conflict = await post('/threads', { assessment_id: 'b', test_id: 't' }, { 'idempotency-key': 'k1' });
  expect(conflict.status).toBe(422);
  expect(fake.threads()).toHaveLength(1);
  expect((await post('/threads', { assessment_id: '' })).status).toBe(400);
});

describe('npm run fake-ai', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGTERM');
  });

  test('starts alone and serves the API', async () => {
    const root = path.join(__dirname, '..', '..');
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['fake-ai']).toBe('tsx scripts/fake-ai.ts');
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/fake-ai.ts', '--port', '0', '--quiet'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child?.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const found = /AI_SERVICE_URL=(\S+?)\)/.exec(out);
        if (found?.[1]) resolve(found[1]);
      });
      child?.once('exit', (code) => reject(new Error(`fake-ai exited with ${code}: ${out}`)));
    });
    const health = await fetch(`${url}/health`);
    expect(await health.json()).toEqual({ ok: true });
    const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
  });
});
