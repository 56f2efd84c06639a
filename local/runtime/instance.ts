/**
 * One function instance as the parent sees it: a child process that loads the handler once and
 * then runs one event at a time. A child process rather than a worker thread, because only a
 * process gives the handler its own process.env, TZ, cwd, globals and process.exit, and because
 * Lambda's "kill the sandbox" (timeout, crash, chaos) is then simply SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { FunctionDefinition, InvokeResult } from './contract';
import type { InitMessage, InstanceMessage, OutboundRouteSpec } from './protocol';

export interface InstanceStartOptions {
  readonly definition: FunctionDefinition;
  readonly environment: Readonly<Record<string, string>>;
  readonly mainPath: string;
  readonly sdkRoot: string;
  /** The function's layers as one folder (what Lambda extracts to /opt), when it has any. */
  readonly optDir?: string;
  readonly logStreamName: string;
  readonly outboundRoutes: readonly OutboundRouteSpec[];
  readonly lifecycleLogs: boolean;
  readonly log: (line: string) => void;
  readonly generation: number;
  readonly initTimeoutMs: number;
}

export type InstanceState = 'starting' | 'idle' | 'busy' | 'dead';

export type InitFailureKind = 'error' | 'crash' | 'timeout';

type InitOutcome =
  | { ok: true; initMs: number }
  | { ok: false; kind: InitFailureKind; errorType: string; errorMessage: string; initMs: number };

/** The flags Lambda's Node.js bootstrap starts node with: heap sized from the function's memory. */
function lambdaNodeFlags(memoryMb: number): string[] {
  const newSpaceMb = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    '--max-http-header-size=81920',
    `--max-semi-space-size=${Math.max(1, Math.floor(newSpaceMb / 2))}`,
    `--max-old-space-size=${memoryMb - newSpaceMb}`,
  ];
}

function exitDescription(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal: ${signal === 'SIGKILL' ? 'killed' : signal}`;
  return `exit status ${code}`;
}

interface Pending {
  readonly requestId: string;
  readonly startedAt: number;
  readonly coldStart: boolean;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (result: InvokeResult) => void;
}

export class FunctionInstance {
  readonly generation: number;
  state: InstanceState = 'starting';
  lastUsedAt = Date.now();

  private readonly child: ChildProcess;
  private readonly definition: FunctionDefinition;
  private readonly log: (line: string) => void;
  private readonly lifecycleLogs: boolean;
  private readonly initOutcome: Promise<InitOutcome>;
  private pending: Pending | undefined;
  private crashReport: { errorType: string; errorMessage: string } | undefined;
  private spawnError: Error | undefined;
  private readonly closed: Promise<void>;

  constructor(options: InstanceStartOptions) {
    this.definition = options.definition;
    this.generation = options.generation;
    this.log = options.log;
    this.lifecycleLogs = options.lifecycleLogs;
    const spawnedAt = Date.now();
    this.child = spawn(
      process.execPath,
      [...lambdaNodeFlags(options.definition.memoryMb), options.mainPath],
      {
        cwd: options.definition.codeDir,
        env: options.environment,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
      },
    );
    this.forwardLines(this.child.stdout);
    this.forwardLines(this.child.stderr);
    this.closed = new Promise((resolve) => this.child.once('close', () => resolve()));

    this.initOutcome = new Promise<InitOutcome>((resolve) => {
      const finish = (outcome: InitOutcome) => {
        clearTimeout(initTimer);
        this.child.off('message', onMessage);
        this.child.off('close', onClose);
        resolve(outcome);
      };
      const failed = (kind: InitFailureKind, errorType: string, errorMessage: string) =>
        finish({ ok: false, kind, errorType, errorMessage, initMs: Date.now() - spawnedAt });
      const onMessage = (message: InstanceMessage) => {
        if (message.t === 'ready') finish({ ok: true, initMs: Date.now() - spawnedAt });
        else if (message.t === 'init-error') failed('error', message.errorType, message.errorMessage);
        else if (message.t === 'crash') failed('crash', message.errorType, message.errorMessage);
      };
      const onClose = (code: number | null, signal: NodeJS.Signals | null) =>
        this.spawnError
          ? failed('error', 'Runtime.StartError', `The instance could not start: ${this.spawnError.message}`)
          : failed(
              'crash',
              'Runtime.ExitError',
              `Runtime exited with error: ${exitDescription(code, signal)}`,
            );
      const initTimer = setTimeout(() => {
        this.log(`[${this.definition.functionName}] INIT_REPORT Phase: init Status: timeout`);
        failed(
          'timeout',
          'Sandbox.Timedout',
          `Init timed out after ${(options.initTimeoutMs / 1000).toFixed(2)} seconds`,
        );
      }, options.initTimeoutMs);
      this.child.on('message', onMessage);
      this.child.once('close', onClose);
    });
    this.child.on('message', (message: InstanceMessage) => this.onMessage(message));
    this.child.once('close', (code, signal) => this.onClose(code, signal));
    // Spawning failed (a missing code folder), or a message could not reach a dying process: the
    // 'close' that follows settles what is pending.
    this.child.on('error', (error) => {
      if (this.child.pid !== undefined || this.spawnError) return;
      this.spawnError = error;
      this.log(`[${this.definition.functionName}] instance could not start: ${error.message}`);
    });

    const init: InitMessage = {
      t: 'init',
      handler: options.definition.handler,
      taskRoot: options.definition.codeDir,
      sdkRoot: options.sdkRoot,
      ...(options.optDir ? { optDir: options.optDir } : {}),
      functionName: options.definition.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: options.definition.arn,
      memoryMb: options.definition.memoryMb,
      logGroupName: `/aws/lambda/${options.definition.functionName}`,
      logStreamName: options.logStreamName,
      lifecycleLogs: options.lifecycleLogs,
      outboundRoutes: options.outboundRoutes,
      spawnedAt,
    };
    this.child.send(init);
  }

  /** Resolves when the handler is loaded (Lambda's init phase), or with why it could not be. */
  ready(): Promise<InitOutcome> {
    return this.initOutcome.then((outcome) => {
      if (outcome.ok && this.state === 'starting') this.state = 'idle';
      if (!outcome.ok) this.kill();
      return outcome;
    });
  }

  /** Runs one event. The caller hands out only idle instances. */
  invoke(event: unknown, requestId: string, coldStart: boolean): Promise<InvokeResult> {
    this.state = 'busy';
    const timeoutMs = this.definition.timeoutSeconds * 1000;
    const startedAt = Date.now();
    return new Promise<InvokeResult>((resolve) => {
      const timer = setTimeout(() => this.timedOut(), timeoutMs);
      this.pending = { requestId, startedAt, coldStart, timer, resolve };
      this.child.send({ t: 'invoke', requestId, deadline: startedAt + timeoutMs, event });
    });
  }

  kill(): void {
    if (this.state !== 'dead') this.child.kill('SIGKILL');
    this.state = 'dead';
  }

  /** Resolves once the process is gone. */
  exited(): Promise<void> {
    return this.closed;
  }

  private settle(result: InvokeResult): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    this.lastUsedAt = Date.now();
    if (this.state === 'busy') this.state = 'idle';
    pending.resolve(result);
  }

  private onMessage(message: InstanceMessage): void {
    const pending = this.pending;
    if (message.t === 'crash') {
      this.crashReport = { errorType: message.errorType, errorMessage: message.errorMessage };
      return;
    }
    if (message.t !== 'result' && message.t !== 'error') return;
    if (message.logs) this.forwardText(message.logs);
    if (!pending || message.requestId !== pending.requestId) return;
    if (message.t === 'result') {
      this.settle({
        ok: true,
        value: message.value,
        durationMs: message.durationMs,
        coldStart: pending.coldStart,
      });
    } else {
      this.settle({
        ok: false,
        kind: 'error',
        errorType: message.errorType,
        errorMessage: message.errorMessage,
        durationMs: message.durationMs,
        coldStart: pending.coldStart,
      });
    }
  }

  private timedOut(): void {
    const pending = this.pending;
    if (!pending) return;
    this.kill();
    const seconds = this.definition.timeoutSeconds.toFixed(2);
    const durationMs = Date.now() - pending.startedAt;
    const prefix = `[${this.definition.functionName}]`;
    this.log(
      `${prefix} ${new Date().toISOString()} ${pending.requestId} Task timed out after ${seconds} seconds`,
    );
    if (this.lifecycleLogs) {
      this.log(`${prefix} END RequestId: ${pending.requestId}`);
      this.log(
        `${prefix} REPORT RequestId: ${pending.requestId}\tDuration: ${durationMs.toFixed(2)} ms\tStatus: timeout`,
      );
    }
    this.settle({
      ok: false,
      kind: 'timeout',
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${pending.requestId} Error: Task timed out after ${seconds} seconds`,
      durationMs,
      coldStart: pending.coldStart,
    });
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    this.state = 'dead';
    const pending = this.pending;
    if (!pending) return;
    const report = this.crashReport;
    this.settle({
      ok: false,
      kind: 'crash',
      errorType: report?.errorType ?? 'Runtime.ExitError',
      errorMessage:
        report?.errorMessage ??
        `RequestId: ${pending.requestId} Error: Runtime exited with error: ${exitDescription(code, signal)}`,
      durationMs: Date.now() - pending.startedAt,
      coldStart: pending.coldStart,
    });
    this.state = 'dead';
  }

  /** Output the instance sent along with a result: complete lines. */
  private forwardText(text: string): void {
    const prefix = `[${this.definition.functionName}] `;
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) this.log(prefix + line);
  }

  private forwardLines(stream: Readable | null): void {
    if (!stream) return;
    const prefix = `[${this.definition.functionName}] `;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.log(prefix + line);
    });
    stream.on('end', () => {
      if (partial) this.log(prefix + partial);
      partial = '';
    });
  }
}
