/**
 * The SDK as a package: it builds, `npm pack` ships exactly the bundles, declarations and README,
 * it stays small, and the packed ESM and CommonJS builds work from Node against a real ws server.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { type WebSocket, WebSocketServer } from 'ws';
import { buildClientPackage } from '../../client/build';
import { dataFrame, ERROR_CODES } from '../../protocol';

jest.setTimeout(120_000);

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');
const clientDir = path.join(root, 'client');
const SIZE_TARGET_BYTES = 15 * 1024;

interface PackFile {
  path: string;
  size: number;
}

let dist: string;
let packed: { files: PackFile[]; size: number; unpackedSize: number; filename: string };
let installDir: string;

beforeAll(async () => {
  dist = await buildClientPackage();
  installDir = mkdtempSync(path.join(tmpdir(), 'assessment-client-'));
  const output = execFileSync('npm', ['pack', clientDir, '--json', '--pack-destination', installDir], {
    cwd: installDir,
    encoding: 'utf8',
  });
  const [info] = JSON.parse(output) as (typeof packed)[];
  if (info === undefined) throw new Error('npm pack reported nothing');
  packed = info;
  // What `npm install <tarball>` lays out: the package under node_modules/<name>.
  const target = path.join(installDir, 'node_modules', 'assessment-client');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(installDir, packed.filename), '-C', target, '--strip-components=1']);
});

afterAll(() => {
  if (installDir) rmSync(installDir, { recursive: true, force: true });
});

describe('the client package', () => {
  it('packs the bundles, the declarations, package.json and README, and nothing else', () => {
    const files = packed.files.map((f) => f.path).sort();
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'package.json',
        'dist/index.mjs',
        'dist/index.cjs',
        'dist/protocol.mjs',
        'dist/protocol.cjs',
        'dist/types/client/index.d.ts',
        'dist/types/protocol/index.d.ts',
      ]),
    );
    const unexpected = files.filter(
      (f) =>
        !/^(README\.md|package\.json|dist\/(index|protocol)\.(mjs|cjs)|dist\/types\/(client|protocol)\/[a-z-]+\.d\.ts)$/.test(
          f,
        ),
    );
    expect(unexpected).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(clientDir, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.name).toBe('assessment-client');
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it(`stays under ${SIZE_TARGET_BYTES / 1024} KB minified and gzipped`, () => {
    const bundle = readFileSync(path.join(dist, 'index.mjs'));
    const gzipped = gzipSync(bundle, { level: 9 }).length;
    console.log(
      `client package: index.mjs ${(bundle.length / 1024).toFixed(1)} KB minified, ${(gzipped / 1024).toFixed(1)} KB min+gzip (target < ${SIZE_TARGET_BYTES / 1024} KB); tarball ${(packed.size / 1024).toFixed(1)} KB, unpacked ${(packed.unpackedSize / 1024).toFixed(1)} KB`,
    );
    expect(gzipped).toBeLessThan(SIZE_TARGET_BYTES);
    // The bundle is self-contained: no import or require of anything outside it.
    expect(bundle.toString('utf8')).not.toMatch(/\bfrom\s*["']|\bimport\s*\(|\brequire\s*\(/);
  });

  describe('from Node, against a real ws server', () => {
    let server: WebSocketServer;
    let url: string;
    const authFrames: unknown[] = [];

    beforeAll(async () => {
      server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      await new Promise<void>((resolve) => server.once('listening', resolve));
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('unexpected address');
      url = `ws://127.0.0.1:${address.port}/local`;
      server.on('connection', (socket: WebSocket, request) => {
        const testId = new URL(request.url ?? '/', 'http://x').searchParams.get('test_id');
        socket.on('message', (raw) => {
          const frame = JSON.parse(String(raw)) as { action: string; type?: string; request_id?: string };
          const now = new Date();
          if (frame.action === 'auth') {
            authFrames.push(frame);
            const data = { user_id: 'u1', test_id: testId, connection_id: `u1_${testId}`, recovered: false };
            socket.send(JSON.stringify(dataFrame('auth_success', data, now, frame.request_id)));
          } else if (frame.type === 'get_test_info') {
            const info = { test_id: testId ?? '', title: 'Packed', duration_seconds: 60, total_questions: 1 };
            socket.send(JSON.stringify(dataFrame('test_info', info, now, frame.request_id)));
          }
        });
      });
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const script = (load: string) => `
      ${load}
      const WebSocket = createRequire(${JSON.stringify(path.join(root, 'package.json'))})('ws');
      const client = new AssessmentClient({ url: process.env.URL, testId: 'demo', getToken: async () => 'token', WebSocket, storage: null });
      Promise.all([client.connect()]).then(async ([session]) => {
        const info = await client.getTestInfo();
        client.close();
        console.log(JSON.stringify({ session, info, codes: ERROR_CODES.length }));
      }, (error) => { console.error(error); process.exit(1); });
    `;

    const expectWorks = async (args: string[]) => {
      const { stdout } = await run(process.execPath, args, {
        cwd: installDir,
        env: { ...process.env, URL: url },
        timeout: 30_000,
      });
      expect(JSON.parse(stdout)).toEqual({
        session: { user_id: 'u1', test_id: 'demo', connection_id: 'u1_demo', recovered: false },
        info: { test_id: 'demo', title: 'Packed', duration_seconds: 60, total_questions: 1 },
        codes: ERROR_CODES.length,
      });
    };

    it('the ESM build connects, authenticates and answers a command', async () => {
      await expectWorks([
        '--input-type=module',
        '-e',
        script(`import { AssessmentClient } from 'assessment-client';
          import { ERROR_CODES } from 'assessment-client/protocol';
          import { createRequire } from 'node:module';`),
      ]);
    });

    it('the CommonJS build does the same', async () => {
      await expectWorks([
        '-e',
        script(`const { AssessmentClient } = require('assessment-client');
          const { ERROR_CODES } = require('assessment-client/protocol');
          const { createRequire } = require('node:module');`),
      ]);
    });

    it('sent auth with the token and the test id', () => {
      expect(authFrames).toContainEqual({ action: 'auth', token: 'token', test_id: 'demo' });
    });
  });
});
