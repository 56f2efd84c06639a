/**
 * The messages between the runtime (parent) and one function instance (a child process), over
 * Node's IPC channel with JSON serialization: Lambda passes events and results as JSON too, so a
 * result that JSON cannot carry fails here as it would there. Keys are short because every
 * invocation pays for them twice.
 */

/** Where HTTPS requests to a host are sent instead, as plain HTTP. */
export interface OutboundRouteSpec {
  /** Lower-case host name, or `*.suffix` for any subdomain of suffix. */
  readonly host: string;
  /** `http://host:port` of the local server that answers for it. */
  readonly target: string;
  /** Only requests signed with Signature Version 4 or 4a (an SDK client's) take this route. */
  readonly signedOnly?: boolean;
}

export interface InitMessage {
  readonly t: 'init';
  readonly handler: string;
  readonly taskRoot: string;
  /** A folder whose node_modules holds the SDK packages the Lambda Node.js runtime provides. */
  readonly sdkRoot: string;
  /** What the function's `/opt` is (its layers, merged); absent when it has none. */
  readonly optDir?: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryMb: number;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly lifecycleLogs: boolean;
  readonly outboundRoutes: readonly OutboundRouteSpec[];
  /** Epoch ms when the parent spawned the process, so the instance can report its init duration. */
  readonly spawnedAt: number;
}

export interface InvokeMessage {
  readonly t: 'invoke';
  readonly requestId: string;
  /** Epoch ms after which the parent discards the instance. */
  readonly deadline: number;
  readonly event: unknown;
}

export type ParentMessage = InitMessage | InvokeMessage;

export interface ReadyMessage {
  readonly t: 'ready';
}

export interface InitErrorMessage {
  readonly t: 'init-error';
  readonly errorType: string;
  readonly errorMessage: string;
}

export interface ResultMessage {
  readonly t: 'result';
  readonly requestId: string;
  readonly value: unknown;
  readonly durationMs: number;
  /** Output not yet written to stdout when the event finished (one IPC message instead of two wake-ups). */
  readonly logs?: string;
}

export interface ErrorMessage {
  readonly t: 'error';
  readonly requestId: string;
  readonly errorType: string;
  readonly errorMessage: string;
  readonly durationMs: number;
  readonly logs?: string;
}

/** Sent just before the instance exits on an uncaught exception or unhandled rejection. */
export interface CrashMessage {
  readonly t: 'crash';
  readonly errorType: string;
  readonly errorMessage: string;
}

export type InstanceMessage = ReadyMessage | InitErrorMessage | ResultMessage | ErrorMessage | CrashMessage;
