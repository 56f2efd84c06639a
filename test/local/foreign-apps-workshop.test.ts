/**
 * A seventh style of app nobody here wrote, run through `--assembly` (l2-workshop-chat): the
 * workshop chat. Inline CommonJS on `NODEJS_LATEST` with log retention, the DocumentClient, an
 * @connections endpoint assembled from the API id and region, a `$connect` that turns a caller
 * away by status code, a broadcast that prunes gone connections, and beside the API a stream
 * consumer, an SQS worker and an S3 bucket, which are listed as not run and whose calls fail with
 * the reason instead of leaving the machine.
 */
import * as path from 'node:path';
import { readAssembly } from '../../local/assembly/manifest';
import { describeApp } from '../../local/assembly/template';
import { foreignAppAssembly } from '../support/foreign-apps';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack';
import { TestClient } from './helpers';

let assembly: string;
let stack: LocalStackProcess;
const clients: TestClient[] = [];

beforeAll(async () => {
  assembly = await foreignAppAssembly('l2-workshop-chat');
  stack = await startLocalStackProcess({ assembly });
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await stack?.stop();
});

const join = async (query: string) => {
  const client = await TestClient.open(`${stack.wsUrl}?${query}`);
  clients.push(client);
  return client;
};

describe('foreign app: the workshop chat with a stream, a queue and a bucket beside the API', () => {
  it('lists what it does not run by type, and runs the functions those would feed', () => {
    const app = describeApp(readAssembly(assembly), {
      region: 'us-east-1',
      accountId: '000000000000',
      workDir: path.join(assembly, '.work'),
    });
    const notRunTypes = new Set(app.notRun.map((item) => item.type));
    for (const type of [
      'Custom::LogRetention',
      'AWS::Lambda::EventSourceMapping',
      'AWS::SQS::Queue',
      'AWS::S3::Bucket',
      'Custom::S3AutoDeleteObjects',
    ]) {
      expect(notRunTypes).toContain(type);
    }
    expect(app.notRun.filter((item) => item.type === 'AWS::Lambda::EventSourceMapping')).toHaveLength(2);
    expect(stack.wsUrl).toMatch(/^ws:\/\/localhost:\d+\/dev$/);
    expect([...(stack.apis[0]?.routes ?? [])].sort()).toEqual(
      ['$connect', '$disconnect', 'leave', 'sendmessage'].sort(),
    );
  });

  it('broadcasts through the assembled endpoint, prunes the turned-away connection as gone, and reports why the queue and bucket calls failed', async () => {
    await expect(join('name=troll&banned=yes')).rejects.toMatchObject({ status: 403 });
    const ada = await join('name=ada');
    const bob = await join('name=bob');
    ada.send({ action: 'sendmessage', message: 'hello' });
    expect(JSON.parse(await bob.next(10_000))).toEqual({ from: 'ada', message: 'hello' });
    expect(JSON.parse(await ada.next(10_000))).toEqual({ from: 'ada', message: 'hello' });
    const summary = JSON.parse(await ada.next(10_000)) as { stale: number; queued: string; archived: string };
    // The turned-away caller's record was written before its 403: on AWS too, it is gone (410).
    expect(summary.stale).toBe(1);
    expect(summary.queued).toMatch(/^UnknownOperationException: The local stack does not emulate AmazonSQS/);
    expect(summary.archived).toMatch(/^UnsupportedServiceException: The local stack does not emulate s3/);
    bob.send({ action: 'sendmessage', message: 'again' });
    expect(JSON.parse(await ada.next(10_000))).toEqual({ from: 'bob', message: 'again' });
    expect(JSON.parse(await bob.next(10_000))).toEqual({ from: 'bob', message: 'again' });
    // Pruned once: the next broadcast finds no stale record.
    expect(JSON.parse(await bob.next(10_000))).toMatchObject({ stale: 0 });
  });

  it('closes the connection a handler deletes through @connections', async () => {
    const cy = await join('name=cy');
    cy.send({ action: 'leave' });
    const closed = await cy.closed;
    expect(closed.code).toBeGreaterThanOrEqual(1000);
  });
});
