/**
 * The one list of Lambda functions: WebSocket routes and scheduled jobs, with the handler module
 * each runs and the access it needs. The CDK construct and the local stack are both built from
 * this list, so routes, handlers and permissions cannot drift between AWS and local.
 */
import type { TableName } from './adapters/dynamodb/table-definitions';

/**
 * A DynamoDB action a function calls on a table. Each becomes exactly `dynamodb:<action>` on the
 * table's ARN, except `QueryIndexes`: `dynamodb:Query` on the table's global secondary indexes
 * (`<table ARN>/index/*`), which the table ARN does not cover. Nothing is granted that is not
 * listed: no Scan, no Batch*, no DescribeTable.
 */
export type TableAction =
  | 'GetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'QueryIndexes'
  | 'Scan'
  | 'BatchGetItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

/**
 * The actions a function calls on one table, exactly. When an adapter starts making a new call
 * (or a route starts using another adapter method), add the action here for every function that
 * reaches it: test/local/services-roles.test.ts runs every route and job with these grants under
 * IAM enforcement and fails on any refused call.
 */
export type TableAccess = readonly TableAction[];

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
  /**
   * A two-way route (it has a route response): the last frame of the handler's reply to the sender
   * is returned as the integration's response body, and API Gateway sends it, instead of a
   * `PostToConnection`. Every invocation of such a route must return a frame: API Gateway answers
   * a two-way invocation that returns no body with an empty message, which is no protocol frame.
   */
  readonly twoWay: boolean;
}

export interface ScheduledJobSpec extends FunctionSpec {
  readonly everyMinutes: number;
}

/**
 * Every function that posts to a connection may meet a 410: the clean-up deletes the gone
 * connection's record and releases its key mapping if it still points there (a conditional
 * update, which keeps the key's history). Counting a frame against the connection's budget is an
 * atomic update too.
 */
const FORGETS_GONE_CONNECTIONS: TableAccess = ['DeleteItem', 'UpdateItem'];

export const ROUTES: readonly RouteSpec[] = [
  {
    routeKey: '$connect',
    name: 'connect',
    entry: 'lambdas/handlers/connect.ts',
    // Registers the pending connection; it posts nothing (the upgrade is still pending).
    tables: { connections: ['PutItem'] },
    manageConnections: false,
    readsJwtSecret: false,
    twoWay: false,
  },
  {
    routeKey: 'auth',
    name: 'auth',
    entry: 'lambdas/handlers/auth.ts',
    tables: {
      // Reads the connection, counts the frame, binds the socket to its user, claims the key and
      // marks the connection authenticated (conditional updates); reads the record again when the
      // bind is refused, to say why; closes and forgets a replaced connection; adds the new
      // connection to the key's history and reads who watches the test (proctor subscriptions).
      connections: ['GetItem', ...FORGETS_GONE_CONNECTIONS],
      // Binds the attempt's holder (returning the attempt for recovery), finishes it when its time
      // is up; reads it when the bind is refused.
      assessments: ['GetItem', 'UpdateItem'],
      tests: ['GetItem'],
    },
    manageConnections: true,
    readsJwtSecret: true,
    // One-way: an auth_error is followed by closing the socket, and session_replaced goes to
    // another connection; the reply is posted.
    twoWay: false,
  },
  {
    routeKey: 'message',
    name: 'message',
    entry: 'lambdas/handlers/message.ts',
    tables: {
      // The frame count returns the connection record (a conditional update, see admitFrame).
      // Proctor subscriptions: read beside an attempt's writes, subscribe and unsubscribe; for a
      // proctor's snapshot, the test's students on the keys-by-test index.
      connections: ['GetItem', 'QueryIndexes', ...FORGETS_GONE_CONNECTIONS],
      // Starts an attempt (conditional put), records answers and completes it (conditional updates).
      assessments: ['GetItem', 'PutItem', 'UpdateItem'],
      tests: ['GetItem'],
    },
    manageConnections: true,
    readsJwtSecret: false,
    // Every message gets a reply (pong, a data frame or an error); its last frame is the route
    // response. Earlier frames (answer_feedback before the next question), frames sent before an
    // AI-service turn, and proctors' frames are posted.
    twoWay: true,
  },
  {
    routeKey: '$disconnect',
    name: 'disconnect',
    entry: 'lambdas/handlers/disconnect.ts',
    // Deletes its own record (returning what it held), conditionally releases its key mapping
    // (recording the end in the key's history), and tells the test's proctors (a subscription
    // read, then @connections posts; a gone proctor is unsubscribed).
    tables: { connections: ['GetItem', ...FORGETS_GONE_CONNECTIONS] },
    manageConnections: true,
    readsJwtSecret: false,
    twoWay: false,
  },
  {
    routeKey: '$default',
    name: 'default',
    entry: 'lambdas/handlers/default.ts',
    // Counts the frame (an atomic update) and answers with exactly one error frame, which leaves
    // as the route response: it never calls @connections.
    tables: { connections: ['UpdateItem'] },
    manageConnections: false,
    readsJwtSecret: false,
    twoWay: true,
  },
];

export const SCHEDULED_JOBS: readonly ScheduledJobSpec[] = [
  {
    // Closes connections that never authenticated, and finishes assessments past their deadline.
    name: 'sweep',
    entry: 'lambdas/handlers/sweep.ts',
    everyMinutes: 1,
    tables: {
      // Finds overdue unauthenticated connections on the pending index, rereads each, forgets it;
      // reads who holds a finished attempt's key to tell them.
      connections: ['QueryIndexes', 'GetItem', ...FORGETS_GONE_CONNECTIONS],
      // Finds overdue attempts on the active index, rereads and completes each.
      assessments: ['QueryIndexes', 'GetItem', 'UpdateItem'],
      tests: ['GetItem'],
    },
    manageConnections: true,
    readsJwtSecret: false,
  },
];
