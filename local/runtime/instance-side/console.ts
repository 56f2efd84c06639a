/**
 * The Node.js runtime's console format: `<ISO time>\t<request id>\t<LEVEL>\t<message>`, with the
 * request id of the invocation in progress ("undefined" during init, as on AWS).
 */
import { format } from 'node:util';

let currentRequestId: string | undefined;

export function setCurrentRequest(requestId: string | undefined): void {
  currentRequestId = requestId;
}

export function currentRequest(): string | undefined {
  return currentRequestId;
}

/**
 * Everything written to stdout in one turn of the event loop leaves in one write: a pipe write
 * wakes the parent, and an invocation's START, log lines, END and REPORT would otherwise cost a
 * wake-up each. Held at most until the next turn, so a killed instance loses almost nothing.
 */
const held: string[] = [];
let flushScheduled = false;
const writeRaw = process.stdout.write.bind(process.stdout) as (chunk: string) => boolean;

export function flushOutput(): void {
  flushScheduled = false;
  if (held.length === 0) return;
  const text = held.join('');
  held.length = 0;
  writeRaw(text);
}

/** Takes the output held so far (to travel with the result instead of through stdout). */
export function takeHeldOutput(): string | undefined {
  if (held.length === 0) return undefined;
  const text = held.join('');
  held.length = 0;
  return text;
}

function hold(text: string): void {
  held.push(text);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushOutput);
  }
}

export function batchStdout(): void {
  process.stdout.write = ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown) => {
    hold(
      typeof chunk === 'string'
        ? chunk
        : Buffer.from(chunk).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
    );
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }) as typeof process.stdout.write;
  process.on('exit', flushOutput);
}

export function writeLine(line: string): void {
  hold(`${line}\n`);
}

export function patchConsole(): void {
  const emit =
    (level: string) =>
    (...args: unknown[]) =>
      writeLine(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${format(...args)}`);
  console.log = emit('INFO');
  console.info = emit('INFO');
  console.warn = emit('WARN');
  console.error = emit('ERROR');
  console.debug = emit('DEBUG');
  console.trace = (...args: unknown[]) => {
    const stack = new Error().stack?.split('\n').slice(2).join('\n') ?? '';
    emit('TRACE')(`Trace: ${format(...args)}\n${stack}`);
  };
}

export function errorFields(error: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (error instanceof Error) {
    return {
      errorType: error.name,
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}
