/** In-memory twins for the client's unit tests: a scriptable WebSocket, timers, storage, window. */
import { AssessmentClient } from '../../client/index';
import type { AssessmentClientOptions, StorageLike, Timers, WebSocketLike } from '../../client/types';

export class FakeTimers implements Timers {
  now = 1_700_000_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  setTimeout = (callback: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.now + Math.max(0, ms), callback });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };

  get pending(): number {
    return this.timers.size;
  }

  /** Moves the clock forward, firing due timers in order (and letting promises settle between them). */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await flush();
      let nextId: number | undefined;
      let nextAt = Number.POSITIVE_INFINITY;
      for (const [id, t] of this.timers) {
        if (t.at <= end && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId === undefined) break;
      const timer = this.timers.get(nextId);
      this.timers.delete(nextId);
      this.now = Math.max(this.now, nextAt);
      timer?.callback();
    }
    this.now = end;
    await flush();
  }
}

/** Lets pending promise callbacks run (the fake timers do not touch the real event loop). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class MemoryStorage implements StorageLike {
  readonly map = new Map<string, string>();
  writes = 0;
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.writes++;
    this.map.set(key, value);
  }
  removeItem(key: string): void {
    this.writes++;
    this.map.delete(key);
  }
}

export class FakeEventTarget {
  private readonly listeners = new Map<string, Set<() => void>>();
  visibilityState = 'visible';
  addEventListener(type: string, listener: () => void): void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener);
    this.listeners.set(type, set);
  }
  removeEventListener(type: string, listener: () => void): void {
    this.listeners.get(type)?.delete(listener);
  }
  dispatch(type: string): void {
    for (const l of [...(this.listeners.get(type) ?? [])]) l();
  }
  count(type: string): number {
    return this.listeners.get(type)?.size ?? 0;
  }
}

export interface SentFrame {
  action: string;
  type?: string;
  request_id?: string;
  token?: string;
  test_id?: string;
  data?: Record<string, unknown>;
}

export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code?: number; reason?: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: SentFrame[] = [];
  closedByClient: { code: number | undefined; reason: string | undefined } | undefined;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(data) as SentFrame);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= 2) return;
    this.closedByClient = { code, reason };
    this.readyState = 3;
    const onclose = this.onclose;
    queueMicrotask(() => onclose?.({ code: code ?? 1005, ...(reason === undefined ? {} : { reason }) }));
  }

  // ---- the test plays the server and the network
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify({ timestamp: new Date(0).toISOString(), ...frame }) });
  }

  /** The network dropped the connection (or the server closed it). */
  drop(code = 1006): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  messages(type?: string): SentFrame[] {
    return this.sent.filter((f) => f.action === 'message' && (type === undefined || f.type === type));
  }

  get authFrames(): SentFrame[] {
    return this.sent.filter((f) => f.action === 'auth');
  }
}

export const snapshot = (answered = 0, total = 3) => ({
  assessment_id: 'a1',
  test_id: 'demo',
  thread_id: 't1',
  is_in_assessment: true,
  status: 'in_progress',
  started_at: new Date(0).toISOString(),
  deadline: new Date(600_000).toISOString(),
  remaining_seconds: 500,
  progress: { answered, total, current_question_index: answered },
  answers: [],
});

export function authSuccess(userId = 'u1', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'auth_success',
    data: { user_id: userId, test_id: 'demo', connection_id: `${userId}_demo`, recovered: false, ...extra },
  };
}

/** Options to change; `undefined` removes a default (e.g. `testId: undefined` for a general connection). */
export type HarnessOverrides = {
  [K in keyof AssessmentClientOptions]?: AssessmentClientOptions[K] | undefined;
};

export function createHarness(overrides: HarnessOverrides = {}) {
  const timers = new FakeTimers();
  const sockets: FakeWebSocket[] = [];
  class TestWebSocket extends FakeWebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  let tokens = 0;
  const getToken = jest.fn(async () => `token-${++tokens}`);
  let ids = 0;
  const storage = new MemoryStorage();
  const win = new FakeEventTarget();
  const doc = new FakeEventTarget();
  const merged: HarnessOverrides = {
    url: 'ws://test.invalid/local',
    testId: 'demo',
    getToken,
    WebSocket: TestWebSocket,
    storage,
    timers,
    now: () => timers.now,
    random: () => 0.5,
    generateId: () => `req-${++ids}`,
    window: win,
    document: doc,
    ...overrides,
  };
  // url and getToken always have their defaults above, so what is left is a full set of options.
  const options = Object.fromEntries(
    Object.entries(merged).filter(([, value]) => value !== undefined),
  ) as unknown as AssessmentClientOptions;
  const client = new AssessmentClient(options);
  const states: string[] = [];
  client.on('state', (s) => states.push(s));

  const last = (): FakeWebSocket => {
    const ws = sockets[sockets.length - 1];
    if (ws === undefined) throw new Error('no socket opened yet');
    return ws;
  };

  /** Waits for the client to open its next socket, then opens it and authenticates it. */
  const acceptNext = async (userId = 'u1', extra: Record<string, unknown> = {}): Promise<FakeWebSocket> => {
    await flush();
    const ws = last();
    ws.open();
    ws.receive(authSuccess(userId, extra));
    await flush();
    return ws;
  };

  return { client, timers, sockets, getToken, storage, win, doc, states, last, acceptNext, options };
}
