/**
 * The one list of Lambda functions: WebSocket routes and scheduled jobs, with the handler module
 * each runs and the access it needs. The CDK construct and the local stack are both built from
 * this list, so routes, handlers and permissions cannot drift between AWS and local.
 */
import type { TableName } from './adapters/dynamodb/table-definitions';

export type TableAccess = 'read' | 'write' | 'readWrite';

export interface FunctionSpec {
  /** Short name, used in construct ids and function names. */
  readonly name: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly tables: Partial<Record<TableName, TableAccess>>;
  /** Needs `execute-api:ManageConnections` (post to, describe or close connections). */
  readonly manageConnections: boolean;
  /** Reads the JWT verification secret. */
  readonly readsJwtSecret: boolean;
}

export interface RouteSpec extends FunctionSpec {
  readonly routeKey: '$connect' | '$disconnect' | '$default' | 'auth' | 'message';
}

export interface ScheduledJobSpec extends FunctionSpec {
  readonly everyMinutes: number;
}

export const ROUTES: readonly RouteSpec[] = [
  {
    routeKey: '$connect',
    name: 'connect',
    entry: 'lambdas/handlers/connect.ts',
    tables: { connections: 'write' },
    manageConnections: false,
    readsJwtSecret: false,
  },
  {
    routeKey: 'auth',
    name: 'auth',
    entry: 'lambdas/handlers/auth.ts',
    tables: { connections: 'readWrite', assessments: 'readWrite', tests: 'read' },
    manageConnections: true,
    readsJwtSecret: true,
  },
  {
    routeKey: 'message',
    name: 'message',
    entry: 'lambdas/handlers/message.ts',
    tables: { connections: 'readWrite', assessments: 'readWrite', tests: 'read' },
    manageConnections: true,
    readsJwtSecret: false,
  },
  {
    routeKey: '$disconnect',
    name: 'disconnect',
    entry: 'lambdas/handlers/disconnect.ts',
    // Deletes only: its own record (returning what it held) and, conditionally, its key mapping.
    tables: { connections: 'write' },
    manageConnections: false,
    readsJwtSecret: false,
  },
  {
    routeKey: '$default',
    name: 'default',
    entry: 'lambdas/handlers/default.ts',
    // Replying can meet a 410, whose clean-up deletes the gone connection's records.
    tables: { connections: 'write' },
    manageConnections: true,
    readsJwtSecret: false,
  },
];

export const SCHEDULED_JOBS: readonly ScheduledJobSpec[] = [
  {
    // Closes connections that never authenticated, and finishes assessments past their deadline.
    name: 'sweep',
    entry: 'lambdas/handlers/sweep.ts',
    everyMinutes: 1,
    tables: { connections: 'readWrite', assessments: 'readWrite', tests: 'read' },
    manageConnections: true,
    readsJwtSecret: false,
  },
];
