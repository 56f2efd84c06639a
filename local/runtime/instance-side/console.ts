/**
 * The Node.js runtime's console format: `<ISO time>\t<request id>\t<LEVEL>\t<message>`, with the
 * request id of the invocation in progress ("undefined" during init, as on AWS).
 */
import { format } from 'node:util';

let currentRequestId: string | undefined;

export function setCurrentRequest(requestId: string | undefined): void {
  currentRequestId = requestId;
}

export function writeLine(line: string): void {
  process.stdout.write(`${line}\n`);
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
