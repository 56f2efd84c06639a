/**
 * A minimal Lambda `Context` for invoking handlers in-process, and the handler type the local
 * stack invokes (`await handler(event, context)`; callback-style handlers are not supported).
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

// biome-ignore lint/suspicious/noExplicitAny: handlers declare their own event and result types.
export type LambdaHandler = (event: any, context: Context) => unknown;

export function lambdaContext(options: {
  functionName: string;
  region: string;
  timeoutMs: number;
  nowMs?: number;
}): Context {
  const deadline = (options.nowMs ?? Date.now()) + options.timeoutMs;
  const requestId = randomUUID();
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name}() is not supported by the local stack; return a value or a promise`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${options.region}:000000000000:function:${options.functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `local/[$LATEST]${requestId.replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}
