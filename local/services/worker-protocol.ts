/** The messages between the services worker thread (worker-main.ts) and its front (worker.ts). */
import type { FunctionIdentity, PolicyStatement } from '../runtime/contract';
import type { ServiceCaller } from './callers';
import type { DynamoDbFaults } from './dynamodb';
import type { ServiceStats } from './index';
import type { SecretInput } from './secrets-manager';
import type { ParameterInput } from './ssm';

/** What the worker starts with (structured-cloned: plain data only). */
export interface WorkerStartData {
  readonly options: {
    readonly region: string;
    readonly accountId: string;
    readonly partition?: string;
    /** Every caller with the key pair the front already handed out. */
    readonly functions: readonly (ServiceCaller & { readonly identity: FunctionIdentity })[];
    readonly secrets: readonly SecretInput[];
    readonly parameters: readonly ParameterInput[];
    readonly faults: { readonly dynamodb?: DynamoDbFaults };
    readonly host: string;
    readonly port: number;
  };
  /** dynalite's LevelDB folder; in memory when absent. */
  readonly dynalitePath?: string;
}

export type ToWorker =
  | { readonly t: 'register'; readonly caller: ServiceCaller & { readonly identity: FunctionIdentity } }
  | { readonly t: 'policy'; readonly functionId: string; readonly policy: readonly PolicyStatement[] }
  | { readonly t: 'secret'; readonly secret: SecretInput }
  | { readonly t: 'parameter'; readonly parameter: ParameterInput }
  | { readonly t: 'faults'; readonly faults: { readonly dynamodb?: DynamoDbFaults } }
  | { readonly t: 'sync'; readonly id: number }
  | { readonly t: 'stop' };

export type FromWorker =
  | {
      readonly t: 'ready';
      readonly endpoint: string;
      readonly port: number;
      readonly dynamodbEndpoint: string;
    }
  | { readonly t: 'stats'; readonly stats: ServiceStats }
  /** Every message sent before the `sync` with this id has been applied. */
  | { readonly t: 'synced'; readonly id: number; readonly stats: ServiceStats }
  | { readonly t: 'failed'; readonly message: string }
  | { readonly t: 'stopped' };
