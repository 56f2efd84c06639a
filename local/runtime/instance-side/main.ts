/**
 * What runs inside one function instance (a child process started with exactly the function's
 * environment). It loads the handler once (Lambda's init phase), then runs one event per message
 * from the parent and answers with the result. An uncaught exception or unhandled rejection is
 * reported and ends the process, as the Lambda runtime does; the parent then replaces it.
 */

import { realpathSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type {
  ErrorMessage,
  InitMessage,
  InstanceMessage,
  InvokeMessage,
  ParentMessage,
  ResultMessage,
} from '../protocol';
import {
  batchStdout,
  currentRequest,
  errorFields,
  flushOutput,
  patchConsole,
  setCurrentRequest,
  takeHeldOutput,
  writeLine,
} from './console';
import { invocationContext } from './context';
import { type Handler, loadHandler } from './load-handler';
import { isolateRequire, registerImportHooks } from './module-isolation';
import { routeOutbound } from './outbound';

let init: InitMessage | undefined;
let handler: Handler | undefined;
let initReportedMs: number | undefined;

function send(message: InstanceMessage, then?: () => void): void {
  process.send?.(message, undefined, undefined, then ? () => then() : undefined);
}

function crash(errorType: string, errorMessage: string): void {
  writeLine(
    `${new Date().toISOString()}\t${currentRequest()}\tERROR\tUncaught Exception \t${JSON.stringify({ errorType, errorMessage })}`,
  );
  flushOutput();
  send({ t: 'crash', errorType, errorMessage }, () => process.exit(129));
}

process.on('uncaughtException', (error) => {
  const { errorType, errorMessage } = errorFields(error);
  crash(errorType, errorMessage);
});
process.on('unhandledRejection', (reason) => {
  const { errorMessage } = errorFields(reason);
  crash('Runtime.UnhandledPromiseRejection', errorMessage);
});
// Without its parent an instance has no reason to live (a killed emulator must not leave orphans).
process.on('disconnect', () => process.exit(0));

process.on('message', (message: ParentMessage) => {
  if (message.t === 'init') void initialize(message);
  else void invoke(message);
});

function realpathOrSelf(folder: string): string {
  try {
    return realpathSync(folder);
  } catch {
    return folder;
  }
}

async function initialize(message: InitMessage): Promise<void> {
  init = message;
  batchStdout();
  patchConsole();
  // Module URLs and filenames are real paths; compare against the roots' real paths.
  const roots = {
    taskRoot: realpathOrSelf(message.taskRoot),
    // Without layers /opt is empty on AWS: a folder that does not exist stands for it.
    optRoot: message.optDir
      ? realpathOrSelf(message.optDir)
      : path.join(path.dirname(message.sdkRoot), 'no-layers'),
  };
  isolateRequire(roots);
  let hooksRegistered = false;
  const beforeImport = () => {
    if (hooksRegistered) return;
    hooksRegistered = true;
    registerImportHooks({
      ...roots,
      nodePath: (process.env.NODE_PATH ?? '').split(path.delimiter).filter(Boolean),
      hooksPath: path.join(__dirname, 'sdk-resolve-hooks.mjs'),
    });
  };
  routeOutbound(message.outboundRoutes);
  try {
    handler = await loadHandler(message.taskRoot, message.handler, beforeImport);
    initReportedMs = Date.now() - message.spawnedAt;
    flushOutput();
    send({ t: 'ready' });
  } catch (error) {
    const { errorType, errorMessage } = errorFields(error);
    writeLine(
      `${new Date().toISOString()}\tundefined\tERROR\tInit Error \t${JSON.stringify({ errorType, errorMessage })}`,
    );
    flushOutput();
    send({ t: 'init-error', errorType, errorMessage });
  }
}

function runHandler(current: Handler, event: unknown, requestId: string, deadline: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (error?: unknown, value?: unknown) => {
      if (settled) return;
      settled = true;
      if (error !== null && error !== undefined) reject(error);
      else resolve(value);
    };
    if (!init) throw new Error('invoke before init');
    const context = invocationContext(init, requestId, deadline, { done });
    try {
      const returned = current(event, context, done);
      if (
        returned !== null &&
        typeof returned === 'object' &&
        typeof (returned as Promise<unknown>).then === 'function'
      ) {
        (returned as Promise<unknown>).then(
          (value) => done(null, value),
          (error: unknown) => done(error ?? new Error('The handler rejected without a reason')),
        );
      } else if (current.length < 3) {
        // A synchronous two-argument handler: its return value is the result.
        done(null, returned);
      }
    } catch (error) {
      done(error ?? new Error('The handler threw without a reason'));
    }
  });
}

async function invoke(message: InvokeMessage): Promise<void> {
  const { requestId } = message;
  const current = handler;
  if (!init || !current) return;
  const lifecycle = init.lifecycleLogs;
  setCurrentRequest(requestId);
  if (lifecycle) writeLine(`START RequestId: ${requestId} Version: ${init.functionVersion}`);
  const started = performance.now();
  let reply: ResultMessage | ErrorMessage;
  try {
    const value = await runHandler(current, message.event, requestId, message.deadline);
    const durationMs = performance.now() - started;
    reply = { t: 'result', requestId, value: value === undefined ? null : value, durationMs };
  } catch (error) {
    const fields = errorFields(error);
    console.error('Invoke Error', JSON.stringify(fields));
    const durationMs = performance.now() - started;
    reply = {
      t: 'error',
      requestId,
      errorType: fields.errorType,
      errorMessage: fields.errorMessage,
      durationMs,
    };
  }
  if (lifecycle) {
    writeLine(`END RequestId: ${requestId}`);
    writeLine(reportLine(requestId, reply.durationMs));
  }
  initReportedMs = undefined;
  setCurrentRequest(undefined);
  const logs = takeHeldOutput();
  try {
    send(logs ? { ...reply, logs } : reply);
  } catch (error) {
    if (logs) writeLine(logs.replace(/\n$/, ''));
    // JSON could not carry the result (a cycle, a BigInt): Lambda fails such an invocation too.
    send({
      t: 'error',
      requestId,
      errorType: 'Runtime.MarshalError',
      errorMessage: `Unable to marshal response: ${errorFields(error).errorMessage}`,
      durationMs: performance.now() - started,
    });
  }
}

function reportLine(requestId: string, durationMs: number): string {
  const parts = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${durationMs.toFixed(2)} ms`,
    `Billed Duration: ${Math.ceil(durationMs)} ms`,
    `Memory Size: ${init?.memoryMb} MB`,
    `Max Memory Used: ${Math.round(process.memoryUsage.rss() / 1048576)} MB`,
  ];
  if (initReportedMs !== undefined) parts.push(`Init Duration: ${initReportedMs.toFixed(2)} ms`);
  return parts.join('\t');
}
