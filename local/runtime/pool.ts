/**
 * The instances of one function, handed out as Lambda does: a free warm instance if there is one
 * (the most recently used, so surplus instances go idle and get reaped), otherwise a new one (a
 * cold start). Instances from before a reload finish their event and are then retired.
 */
import { randomUUID } from 'node:crypto';
import type { FunctionDefinition, InvokeResult } from './contract';
import type { FunctionInstance } from './instance';

export interface InvokeCall {
  readonly functionId: string;
  readonly requestId: string;
  readonly coldStart: boolean;
  readonly event: unknown;
}

/** What a fault hook may do to one invocation. */
export type KillTarget = 'busy' | 'one' | 'all';

export interface InvokeFault {
  /** Hold the event this long before the instance receives it. */
  readonly delayMs?: number;
  /** Kill the instance this long after it received the event: the invocation fails with kind 'crash'. */
  readonly killAfterMs?: number;
}

export interface PoolOptions {
  readonly functionId: string;
  readonly maxInstances: number;
  readonly onInvoke:
    | ((call: InvokeCall) => InvokeFault | undefined | Promise<InvokeFault | undefined>)
    | undefined;
  readonly startInstance: (definition: FunctionDefinition, generation: number) => FunctionInstance;
}

interface Acquired {
  readonly instance: FunctionInstance;
  readonly coldStart: boolean;
  readonly initDurationMs?: number;
}

export interface FunctionStats {
  readonly instances: number;
  readonly busy: number;
  readonly idle: number;
  readonly coldStarts: number;
  readonly invocations: number;
}

export class FunctionPool {
  private definition: FunctionDefinition;
  private generation = 0;
  private readonly instances = new Set<FunctionInstance>();
  private readonly idle: FunctionInstance[] = [];
  private readonly waiting: Array<() => void> = [];
  private coldStarts = 0;
  private invocations = 0;
  private stopped = false;

  constructor(
    definition: FunctionDefinition,
    private readonly options: PoolOptions,
  ) {
    this.definition = definition;
  }

  async invoke(event: unknown): Promise<InvokeResult> {
    if (this.stopped) return stoppedResult();
    this.invocations += 1;
    const requestId = randomUUID();
    const acquired = await this.acquire();
    if ('failure' in acquired) return acquired.failure;
    const { instance, coldStart, initDurationMs } = acquired;
    instance.state = 'busy';
    // No await at all without a hook: every invocation pays for one.
    const fault = this.options.onInvoke
      ? await this.options.onInvoke({ functionId: this.options.functionId, requestId, coldStart, event })
      : undefined;
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    const running = instance.invoke(event, requestId, coldStart);
    if (fault?.killAfterMs !== undefined) setTimeout(() => instance.kill(), fault.killAfterMs);
    const result = await running;
    this.release(instance);
    return initDurationMs === undefined ? result : { ...result, initDurationMs };
  }

  /** New code: later instances run it; idle old ones go now, busy ones after their event. */
  reload(codeDir: string): void {
    this.definition = { ...this.definition, codeDir };
    this.generation += 1;
    for (const instance of this.idle.splice(0)) this.retire(instance);
  }

  /**
   * Kills the instances holding an event, running or still starting ('busy'), only the first of
   * them ('one': a single sandbox failing, as chaos runs want), or all: those events fail with kind 'crash'.
   */
  kill(which: KillTarget): number {
    let killed = 0;
    for (const instance of this.instances) {
      if (which === 'all' || instance.state === 'busy' || instance.state === 'starting') {
        instance.kill();
        killed += 1;
        if (which === 'one') break;
      }
    }
    return killed;
  }

  /** Retires instances idle since before `idleSince`. */
  reap(idleSince: number): void {
    for (const instance of [...this.idle]) {
      if (instance.lastUsedAt < idleSince) {
        this.idle.splice(this.idle.indexOf(instance), 1);
        this.retire(instance);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.instances];
    for (const instance of all) instance.kill();
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all(all.map((instance) => instance.exited()));
  }

  stats(): FunctionStats {
    let busy = 0;
    for (const instance of this.instances) if (instance.state === 'busy') busy += 1;
    return {
      instances: this.instances.size,
      busy,
      idle: this.idle.length,
      coldStarts: this.coldStarts,
      invocations: this.invocations,
    };
  }

  private async acquire(): Promise<Acquired | { failure: InvokeResult }> {
    for (;;) {
      if (this.stopped) return { failure: stoppedResult() };
      const warm = this.idle.pop();
      if (warm) {
        if (warm.state === 'idle') return { instance: warm, coldStart: false };
        this.forget(warm);
        continue;
      }
      if (this.instances.size < this.options.maxInstances) return this.coldStart();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private async coldStart(): Promise<Acquired | { failure: InvokeResult }> {
    this.coldStarts += 1;
    const instance = this.options.startInstance(this.definition, this.generation);
    this.instances.add(instance);
    void instance.exited().then(() => this.forget(instance));
    const outcome = await instance.ready();
    if (outcome.ok) return { instance, coldStart: true, initDurationMs: outcome.initMs };
    this.forget(instance);
    return {
      failure: {
        ok: false,
        kind: outcome.kind,
        errorType: outcome.errorType,
        errorMessage: outcome.errorMessage,
        durationMs: outcome.initMs,
        coldStart: true,
        initDurationMs: outcome.initMs,
      },
    };
  }

  private release(instance: FunctionInstance): void {
    if (instance.state !== 'idle' || this.stopped || instance.generation !== this.generation) {
      this.retire(instance);
      return;
    }
    this.idle.push(instance);
    this.wakeOne();
  }

  private retire(instance: FunctionInstance): void {
    instance.kill();
    this.forget(instance);
  }

  private forget(instance: FunctionInstance): void {
    const wasKnown = this.instances.delete(instance);
    const idleAt = this.idle.indexOf(instance);
    if (idleAt >= 0) this.idle.splice(idleAt, 1);
    if (wasKnown) this.wakeOne();
  }

  private wakeOne(): void {
    this.waiting.shift()?.();
  }
}

function stoppedResult(): InvokeResult {
  return {
    ok: false,
    kind: 'crash',
    errorType: 'Runtime.Stopped',
    errorMessage: 'The local runtime was stopped',
    durationMs: 0,
    coldStart: false,
  };
}
