/**
 * Test helpers for the local stack's suites: a WebSocket client that queues what it receives,
 * and a recorder for the events test handlers see. Everything waits on events, with timeouts.
 */
import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

export class TestClient {
  readonly messages: string[] = [];
  readonly closed: Promise<Closed>;
  private readonly waiters = new Set<() => void>();
  private cursor = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.messages.push(isBinary ? `<binary ${data.length}>` : data.toString('utf8'));
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        resolve({ code, reason: reason.toString('utf8') });
        for (const wake of this.waiters) wake();
      });
    });
  }

  /** Opens a connection; rejects with `{ status }` when the upgrade fails. */
  static open(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, options);
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString('utf8');
        });
        response.on('end', () => {
          reject(
            Object.assign(new Error(`upgrade failed: ${response.statusCode}`), {
              status: response.statusCode,
              body,
            }),
          );
          request.destroy();
        });
      });
      ws.once('error', (error) => reject(error));
    });
  }

  send(data: string | object): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  /** The next message not returned before (waits up to `timeoutMs`). */
  next(timeoutMs = 5000): Promise<string> {
    return this.nextMatching(() => true, timeoutMs);
  }

  /** The next message parsed as JSON. */
  async nextJson<T = Record<string, unknown>>(timeoutMs = 5000): Promise<T> {
    return JSON.parse(await this.next(timeoutMs)) as T;
  }

  /** Skips messages until one matches; returns it. */
  nextMatching(match: (message: string) => boolean, timeoutMs = 5000): Promise<string> {
    return waitOn<string>(
      this.waiters,
      timeoutMs,
      (settle) => {
        while (this.cursor < this.messages.length) {
          const message = this.messages[this.cursor++] as string;
          if (match(message)) return settle.resolve(message);
        }
        if (this.ws.readyState === WebSocket.CLOSED) {
          settle.reject(new Error(`socket closed; received: ${JSON.stringify(this.messages)}`));
        }
      },
      () => `no matching message within ${timeoutMs} ms; received: ${JSON.stringify(this.messages)}`,
    );
  }

  /** The next JSON frame whose `type` is `type` (earlier frames are skipped). */
  async nextOfType<T = Record<string, unknown>>(type: string, timeoutMs = 5000): Promise<T> {
    const raw = await this.nextMatching((m) => {
      try {
        return (JSON.parse(m) as { type?: unknown }).type === type;
      } catch {
        return false;
      }
    }, timeoutMs);
    return JSON.parse(raw) as T;
  }

  /** Resolves with the close, or rejects after `timeoutMs`. */
  waitClosed(timeoutMs = 5000): Promise<Closed> {
    return withTimeout(this.closed, timeoutMs, 'the socket to close');
  }

  /** Closes (or terminates) and waits for the close; safe on a closed socket. */
  async dispose(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.terminate();
    await this.closed;
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Collects items and lets a test wait for one that matches. */
export class Recorder<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    for (const wake of this.waiters) wake();
  }

  waitFor(match: (item: T) => boolean, timeoutMs = 5000, what = 'a matching item'): Promise<T> {
    return waitOn<T>(
      this.waiters,
      timeoutMs,
      (settle) => {
        const found = this.items.find(match);
        if (found !== undefined) settle.resolve(found);
      },
      () => `timed out waiting for ${what}; have ${JSON.stringify(this.items, null, 1)}`,
    );
  }
}

/**
 * Runs `check` now and whenever a new item wakes the waiters, until it settles or time runs out;
 * the waiter and its timer are removed either way.
 */
function waitOn<T>(
  waiters: Set<() => void>,
  timeoutMs: number,
  check: (settle: { resolve(value: T): void; reject(error: Error): void }) => void,
  timeoutMessage: () => string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      waiters.delete(wake);
    };
    const settle = {
      resolve: (value: T) => {
        done();
        resolve(value);
      },
      reject: (error: Error) => {
        done();
        reject(error);
      },
    };
    const wake = () => check(settle);
    const timer = setTimeout(() => settle.reject(new Error(timeoutMessage())), timeoutMs);
    waiters.add(wake);
    wake();
  });
}
