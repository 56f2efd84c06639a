/**
 * A real local DynamoDB (dynalite, in memory) for one test file, with the project's tables
 * created from their shared definitions, and a request counter on the client.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/client';
import { ensureTables } from '../../lambdas/adapters/dynamodb/create-tables';
import type { TableName } from '../../lambdas/adapters/dynamodb/table-definitions';

/**
 * Counts DynamoDB requests by operation, and round trips: a round trip starts whenever a request
 * is sent while none is in flight, so requests sent together (Promise.all) count as one.
 */
export class RequestCounter {
  operations: string[] = [];
  roundTrips = 0;
  private inFlight = 0;

  reset(): void {
    this.operations = [];
    this.roundTrips = 0;
  }

  track<T>(operation: string, send: () => Promise<T>): Promise<T> {
    if (this.inFlight === 0) this.roundTrips++;
    this.inFlight++;
    this.operations.push(operation);
    return send().finally(() => {
      this.inFlight--;
    });
  }

  get requests(): number {
    return this.operations.length;
  }
}

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  tables: Record<TableName, string>;
  counter: RequestCounter;
  stop(): Promise<void>;
}

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', maxAttempts: 1 });
  const counter = new RequestCounter();
  client.middlewareStack.add(
    (next, context) => (args) =>
      counter.track(String(context.commandName).replace(/Command$/, ''), () => next(args)),
    { step: 'initialize', name: 'requestCounter' },
  );
  const suffix = randomUUID().slice(0, 8);
  const tables: Record<TableName, string> = {
    connections: `connections-${suffix}`,
    assessments: `assessments-${suffix}`,
    tests: `tests-${suffix}`,
  };
  await ensureTables(client, tables);
  counter.reset();
  return {
    endpoint,
    client,
    doc: createDocumentClient({ client }),
    tables,
    counter,
    stop: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
