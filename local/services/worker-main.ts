/**
 * The services worker thread (started by worker.ts): dynalite and the IAM-checking services
 * endpoint on their own event loop, so the functions' DynamoDB calls are parsed, authorized and
 * executed on the second core while the gateway's thread serves the sockets and @connections.
 * dynalite gets each authorized call handed to its request handler (no second HTTP hop); it also
 * listens on a port of its own for the composition's admin client (tables, test definitions).
 */
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';
import { type AwsServices, type ServiceStats, startAwsServices } from './index';
import type { FromWorker, ToWorker, WorkerStartData } from './worker-protocol';

// Named, so that `top -H` and the throughput benchmark tell this thread from the gateway's (Linux only).
try {
  writeFileSync('/proc/thread-self/comm', 'aws-services');
} catch {}

const port = parentPort;
if (!port) throw new Error('worker-main.ts runs only as a worker thread (see worker.ts)');
const data = workerData as WorkerStartData;
const STATS_INTERVAL_MS = 100;

function post(message: FromWorker): void {
  port?.postMessage(message);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function start(): Promise<void> {
  const dynamo: Server = dynalite({
    ...(data.dynalitePath ? { path: data.dynalitePath } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const dynamoPort = await listen(dynamo);
  const services: AwsServices = await startAwsServices({ ...data.options, dynalite: dynamo });

  // Counters reach the other thread when they change, at most every STATS_INTERVAL_MS.
  let reported = '';
  const reportStats = () => {
    const stats: ServiceStats = services.stats();
    const text = JSON.stringify(stats);
    if (text === reported) return;
    reported = text;
    post({ t: 'stats', stats });
  };
  const statsTimer = setInterval(reportStats, STATS_INTERVAL_MS);
  statsTimer.unref();

  port?.on('message', (message: ToWorker) => {
    try {
      switch (message.t) {
        case 'register':
          services.registerFunction(message.caller);
          break;
        case 'policy':
          services.setPolicy(message.functionId, message.policy);
          break;
        case 'secret':
          services.putSecret(message.secret);
          break;
        case 'parameter':
          services.putParameter(message.parameter);
          break;
        case 'faults':
          services.setFaults(message.faults);
          break;
        case 'sync':
          post({ t: 'synced', id: message.id, stats: services.stats() });
          break;
        case 'stop':
          clearInterval(statsTimer);
          reportStats();
          void services
            .stop()
            // dynalite's close also closes its database, so data on disk is complete.
            .then(() => new Promise<void>((resolve) => dynamo.close(() => resolve())))
            .then(() => post({ t: 'stopped' }));
          break;
      }
    } catch (error) {
      post({ t: 'failed', message: error instanceof Error ? error.message : String(error) });
    }
  });
  post({
    t: 'ready',
    endpoint: services.endpoint,
    port: services.port,
    dynamodbEndpoint: `http://127.0.0.1:${dynamoPort}`,
  });
}

start().catch((error: unknown) => {
  post({ t: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
});
