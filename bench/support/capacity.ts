/**
 * Counts DynamoDB requests, round trips and the capacity units DynamoDB would bill for them,
 * computed from item sizes by DynamoDB's published rules (dynalite's own ConsumedCapacity leaves
 * out index writes and refused conditional writes, so the meter does not rely on it):
 * - a read costs ceil(item size / 4 KB) read units, half for an eventually consistent read, and
 *   at least 0.5 / 1 even when the item does not exist; a projection does not lower it;
 * - a write costs ceil(max(size before, size after) / 1 KB) write units, at least 1; a refused
 *   conditional write still costs the size of the item it looked at;
 * - every write that puts an item into, changes it in, or takes it out of a global secondary
 *   index costs index write units on top (two when the index key changes).
 * To see the item before and after each write, the meter reads it on a second, uncounted client.
 */
import {
  type AttributeValue,
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  TABLE_DEFINITIONS,
  type TableDefinition,
  type TableName,
} from '../../lambdas/adapters/dynamodb/table-definitions';

type Item = Record<string, AttributeValue>;

/** The item's size as DynamoDB counts it: attribute names plus values (see its developer guide). */
export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += utf8(name) + valueSize(value);
  return bytes;
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

function numberSize(text: string): number {
  const digits = text.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/e.*$/i, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M) {
    return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8(k) + valueSize(v), 0);
  }
  return 0;
}

export const readUnits = (size: number, consistent: boolean) =>
  Math.max(1, Math.ceil(size / 4096)) * (consistent ? 1 : 0.5);
export const writeUnits = (size: number) => Math.max(1, Math.ceil(size / 1024));

export interface MeteredRequest {
  operation: string;
  table: TableName | 'other';
  rcu: number;
  wcu: number;
  /** Write units spent on global secondary indexes (included in `wcu`). */
  indexWcu: number;
  refused: boolean;
  /** The item's size after a write (before it, for a read or a refused write). */
  itemBytes: number;
}

export class CapacityMeter {
  requests: MeteredRequest[] = [];
  roundTrips = 0;
  private inFlight = 0;
  private readonly inspector: DynamoDBClient;
  private readonly tableOf: Map<string, TableName>;

  constructor(endpoint: string, tables: Record<TableName, string>) {
    this.inspector = new DynamoDBClient({ endpoint, region: 'us-east-1', maxAttempts: 1 });
    this.tableOf = new Map(
      Object.entries(tables).map(([logical, physical]) => [physical, logical as TableName]),
    );
  }

  reset(): void {
    this.requests = [];
    this.roundTrips = 0;
  }

  /** Totals since the last reset. */
  totals() {
    const operations: Record<string, number> = {};
    for (const r of this.requests) operations[r.operation] = (operations[r.operation] ?? 0) + 1;
    return {
      roundTrips: this.roundTrips,
      requests: this.requests.length,
      operations,
      rcu: this.requests.reduce((sum, r) => sum + r.rcu, 0),
      wcu: this.requests.reduce((sum, r) => sum + r.wcu, 0),
      indexWcu: this.requests.reduce((sum, r) => sum + r.indexWcu, 0),
    };
  }

  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName).replace(/Command$/, '');
        const input = args.input as { TableName?: string; Key?: Item; Item?: Item; ConsistentRead?: boolean };
        if (this.inFlight === 0) this.roundTrips++;
        this.inFlight++;
        try {
          return await this.metered(operation, input, () => next(args));
        } finally {
          this.inFlight--;
        }
      },
      // At the build step lib-dynamodb has marshalled the input, so keys are AttributeValues.
      { step: 'build', name: 'capacityMeter', priority: 'high' },
    );
  }

  stop(): void {
    this.inspector.destroy();
  }

  private async metered<T>(
    operation: string,
    input: { TableName?: string; Key?: Item; Item?: Item; ConsistentRead?: boolean },
    send: () => Promise<T>,
  ): Promise<T> {
    const table = (input.TableName && this.tableOf.get(input.TableName)) || 'other';
    const definition: TableDefinition | undefined = table === 'other' ? undefined : TABLE_DEFINITIONS[table];
    const record = (fields: Partial<MeteredRequest>) =>
      this.requests.push({
        operation,
        table,
        rcu: 0,
        wcu: 0,
        indexWcu: 0,
        refused: false,
        itemBytes: 0,
        ...fields,
      });

    if (operation === 'GetItem' && input.TableName && input.Key) {
      const result = await send();
      // The output is unmarshalled by now; the item's stored form is read again for its size.
      const size = itemSize(await this.read(input.TableName, input.Key));
      record({ rcu: readUnits(size, input.ConsistentRead === true), itemBytes: size });
      return result;
    }
    if (!['PutItem', 'UpdateItem', 'DeleteItem'].includes(operation) || !definition || !input.TableName) {
      const result = await send();
      record({});
      return result;
    }
    const key = input.Key ?? keyOf(input.Item ?? {}, definition);
    const before = await this.read(input.TableName, key);
    try {
      const result = await send();
      const after = operation === 'DeleteItem' ? undefined : await this.read(input.TableName, key);
      const size = Math.max(itemSize(before), itemSize(after));
      const indexWcu = indexWrites(definition, before, after);
      record({ wcu: writeUnits(size) + indexWcu, indexWcu, itemBytes: itemSize(after) });
      return result;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        record({ wcu: writeUnits(itemSize(before)), refused: true, itemBytes: itemSize(before) });
      }
      throw error;
    }
  }

  private async read(tableName: string, key: Item): Promise<Item | undefined> {
    const input: GetItemCommandInput = { TableName: tableName, Key: key, ConsistentRead: true };
    return (await this.inspector.send(new GetItemCommand(input))).Item;
  }
}

function keyOf(item: Item, definition: TableDefinition): Item {
  const name = definition.partitionKey.name;
  const value = item[name];
  return value ? { [name]: value } : {};
}

function indexWrites(definition: TableDefinition, before: Item | undefined, after: Item | undefined): number {
  let units = 0;
  for (const index of definition.indexes) {
    const keyOfIndex = (item: Item | undefined) => {
      const pk = item?.[index.partitionKey.name];
      const sk = item?.[index.sortKey.name];
      return pk && sk ? JSON.stringify([pk, sk]) : undefined;
    };
    const projected = (item: Item | undefined) => (index.projection === 'ALL' ? itemSize(item) : 100); // keys only: well under 1 KB
    const was = keyOfIndex(before);
    const is = keyOfIndex(after);
    if (!was && !is) continue;
    if (!was) units += writeUnits(projected(after));
    else if (!is) units += writeUnits(projected(before));
    else if (was !== is) units += writeUnits(projected(before)) + writeUnits(projected(after));
    else if (index.projection === 'ALL' && JSON.stringify(before) !== JSON.stringify(after)) {
      units += writeUnits(projected(after));
    }
  }
  return units;
}
