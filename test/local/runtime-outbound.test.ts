/**
 * What leaves a function instance: SDK calls reach the services endpoint signed with the
 * function's own key (from an ESM handler in a folder without node_modules), and HTTPS to routed
 * hosts (execute-api, the gateway's domainName) reaches a local plain-HTTP server with the
 * request intact, even when the handler sets the endpoint in code.
 */
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { InvokeResult } from '../../local/runtime/contract';
import { createFunctionRuntime, type LocalFunctionRuntime } from '../../local/runtime/index';
import { FIXTURES, fixtureFunction, REGION } from './runtime-helpers';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const okValue = (result: InvokeResult): unknown => {
  if (!result.ok)
    throw new Error(`invocation failed: ${result.kind} ${result.errorType}: ${result.errorMessage}`);
  return result.value;
};

describe('local Lambda runtime: outbound calls', () => {
  const received: Received[] = [];
  let server: http.Server;
  let runtime: LocalFunctionRuntime;
  let port = 0;
  // Assets usually sit inside a project with node_modules above them; these copies have none.
  const outsideAnyProject = mkdtempSync(path.join(tmpdir(), 'runtime-outside-'));
  cpSync(path.join(FIXTURES, 'esm-sdk'), path.join(outsideAnyProject, 'esm-sdk'), { recursive: true });
  cpSync(path.join(FIXTURES, 'cjs'), path.join(outsideAnyProject, 'cjs'), { recursive: true });
  // A code folder reached through a symbolic link (module URLs carry the real path).
  symlinkSync(path.join(outsideAnyProject, 'esm-sdk'), path.join(outsideAnyProject, 'linked'), 'dir');

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body,
        });
        if (request.headers['x-amz-target'] === 'DynamoDB_20120810.ListTables') {
          response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          response.end(JSON.stringify({ TableNames: ['answers', 'connections'] }));
          return;
        }
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(`answered ${request.method} ${request.url}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    runtime = createFunctionRuntime({
      functions: [
        fixtureFunction('sdk', 'esm-sdk', 'index.handler'),
        fixtureFunction('https', 'cjs', 'index.handler'),
        fixtureFunction('sdk-outside', path.join(outsideAnyProject, 'esm-sdk'), 'index.handler'),
        fixtureFunction('cjs-outside', path.join(outsideAnyProject, 'cjs'), 'index.handler'),
        fixtureFunction('sdk-linked', path.join(outsideAnyProject, 'linked'), 'index.handler'),
      ],
      region: REGION,
      servicesEndpoint: `http://127.0.0.1:${port}`,
      identityFor: (functionId) => ({
        accessKeyId: `AKIA${functionId === 'RuntimeTest/sdk' ? 'SDK' : 'HTTPS'}`,
        secretAccessKey: 'x',
      }),
      outboundRoutes: [
        { host: `*.execute-api.${REGION}.amazonaws.com`, target: `http://127.0.0.1:${port}` },
        { host: 'LocalHost', target: `http://127.0.0.1:${port}` },
        { host: '*.invalid', target: `http://127.0.0.1:${port}`, signedOnly: true },
      ],
      log: () => {},
    });
  });

  afterAll(async () => {
    await runtime.stop();
    await new Promise((resolve) => server.close(resolve));
    rmSync(outsideAnyProject, { recursive: true, force: true });
  });

  beforeEach(() => {
    received.length = 0;
  });

  it('lets an ESM handler import the runtime SDK and reach the services endpoint as itself', async () => {
    expect(okValue(await runtime.invoke('RuntimeTest/sdk', {}))).toEqual({
      tables: ['answers', 'connections'],
    });
    expect(received).toHaveLength(1);
    expect(received[0]?.headers.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=AKIASDK/\\d{8}/${REGION}/dynamodb/aws4_request`),
    );
  });

  it('provides the SDK to ESM and CommonJS code in a folder with no node_modules anywhere above it, also through a symlink', async () => {
    expect(okValue(await runtime.invoke('RuntimeTest/sdk-outside', {}))).toEqual({
      tables: ['answers', 'connections'],
    });
    expect(okValue(await runtime.invoke('RuntimeTest/sdk-linked', {}))).toEqual({
      tables: ['answers', 'connections'],
    });
    expect(
      okValue(
        await runtime.invoke('RuntimeTest/cjs-outside', { action: 'require', name: '@aws-sdk/lib-dynamodb' }),
      ),
    ).toBe('loaded');
  });

  it('leads PostToConnection to https://<api>.execute-api.<region>.amazonaws.com/<stage> to the local server', async () => {
    const event = {
      action: 'post',
      domainName: `abc123def4.execute-api.${REGION}.amazonaws.com`,
      stage: 'prod',
      connectionId: 'Conn=1',
      data: '{"type":"hello"}',
    };
    expect(okValue(await runtime.invoke('RuntimeTest/sdk', event))).toBe('posted');
    expect(received).toHaveLength(1);
    const call = received[0];
    expect(call?.method).toBe('POST');
    expect(call?.url).toBe('/prod/@connections/Conn%3D1');
    expect(call?.headers.host).toBe(event.domainName);
    expect(call?.headers.authorization).toMatch(
      /Credential=AKIASDK\/\d{8}\/eu-west-1\/execute-api\/aws4_request/,
    );
    expect(call?.body).toBe(event.data);
  });

  it('keeps method, path, headers and body of a plain https.request to a routed host', async () => {
    const result = await runtime.invoke('RuntimeTest/https', {
      action: 'https',
      url: 'https://localhost:3001/local/@connections/abc?x=1',
      body: 'ping',
    });
    expect(okValue(result)).toEqual({ status: 200, body: 'answered POST /local/@connections/abc?x=1' });
    expect(received[0]).toMatchObject({
      method: 'POST',
      url: '/local/@connections/abc?x=1',
      body: 'ping',
      headers: expect.objectContaining({
        host: 'localhost:3001',
        'x-probe': 'cjs',
        'content-type': 'text/plain',
      }),
    });
  });

  it('routes fetch too, naming the original host in x-forwarded-host', async () => {
    const result = await runtime.invoke('RuntimeTest/https', {
      action: 'fetch',
      url: `https://zz9.execute-api.${REGION}.amazonaws.com/dev/@connections/q`,
      body: 'pong',
    });
    expect(okValue(result)).toEqual({ status: 200, body: 'answered PUT /dev/@connections/q' });
    expect(received[0]).toMatchObject({
      method: 'PUT',
      body: 'pong',
      headers: expect.objectContaining({
        'x-forwarded-host': `zz9.execute-api.${REGION}.amazonaws.com`,
        'x-probe': 'fetch',
      }),
    });
  });

  it('takes only SigV4-signed requests on a signedOnly route, by https.request and by fetch', async () => {
    // SigV4a (S3 Multi-Region Access Points, EventBridge global endpoints) carries the key as well.
    const signatures = [
      'AWS4-HMAC-SHA256 Credential=AKIAX/20261201/eu-west-1/sqs/aws4_request',
      'AWS4-ECDSA-P256-SHA256 Credential=AKIAX/20261201/events/aws4_request',
    ];
    for (const [action, authorization] of ['https', 'fetch'].flatMap((a) => signatures.map((s) => [a, s]))) {
      const signed = { authorization };
      received.length = 0;
      const url = 'https://sqs.routing-test.invalid/123/queue';
      expect(
        okValue(await runtime.invoke('RuntimeTest/https', { action, url, headers: signed })),
      ).toMatchObject({
        status: 200,
      });
      expect(received).toEqual([
        expect.objectContaining({ url: '/123/queue', headers: expect.objectContaining(signed) }),
      ]);
      const unsigned = await runtime.invoke('RuntimeTest/https', {
        action,
        url,
        headers: { authorization: 'Bearer t' },
      });
      expect(unsigned).toMatchObject({ ok: false, kind: 'error' });
      expect(received).toHaveLength(1);
    }
  });

  it('leaves other hosts alone', async () => {
    const result = await runtime.invoke('RuntimeTest/https', {
      action: 'https',
      url: 'https://routing-test.invalid/x',
    });
    expect(result).toMatchObject({ ok: false, kind: 'error' });
    expect(result.ok ? '' : result.errorMessage).toContain('routing-test.invalid');
    expect(received).toHaveLength(0);
  });
});
