/** The `context` argument Lambda's Node.js runtime passes to a handler. */
import type { InitMessage } from '../protocol';

export interface CompletionCallbacks {
  readonly done: (error?: unknown, value?: unknown) => void;
}

export function invocationContext(
  init: InitMessage,
  requestId: string,
  deadline: number,
  completion: CompletionCallbacks,
): Record<string, unknown> {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: init.functionName,
    functionVersion: init.functionVersion,
    invokedFunctionArn: init.invokedFunctionArn,
    memoryLimitInMB: String(init.memoryMb),
    awsRequestId: requestId,
    logGroupName: init.logGroupName,
    logStreamName: init.logStreamName,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: completion.done,
    succeed: (value: unknown) => completion.done(null, value),
    fail: (error: unknown) => completion.done(error ?? new Error('handled')),
  };
}
