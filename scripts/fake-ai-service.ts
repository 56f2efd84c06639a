/**
 * A local stand-in for the AI service: a real HTTP server that speaks the API the backend's
 * adapter expects (lambdas/adapters/ai/http-ai-service.ts), keeps every thread and turn in memory,
 * honours `Idempotency-Key`, and can be told to fail, so tests and the local stack can check
 * what the backend really sent.
 *
 * API (JSON bodies):
 *   POST /threads                     {assessment_id, test_id}            -> 201 {thread_id}
 *   POST /threads/{id}/turns          {request_id, question_id, question_index, question_text,
 *                                      options, selected_option}         -> 201 {turn, feedback, next_question?}
 *   GET  /threads/{id}                                                    -> the thread and its turns
 *   GET  /health                                                          -> {ok: true}
 * Test controls (not part of the service's API):
 *   GET  /_fake/threads               every thread, in creation order
 *   POST /_fake/fail                  {count, status?, when?: 'before'|'after', delay_ms?}
 *   POST /_fake/reset                 forget threads, keys and failure plans
 *
 * A replayed `Idempotency-Key` with the same body returns the first response again (header
 * `Idempotent-Replayed: true`) and records nothing; with a different body it is 422.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as v from 'valibot';

export interface FakeTurn {
  turn: number;
  requestId: string;
  questionId: string;
  questionIndex: number;
  selectedOption: string;
  idempotencyKey: string;
}

export interface FakeThread {
  threadId: string;
  assessmentId: string;
  testId: string;
  turns: FakeTurn[];
}

/**
 * How the next requests fail. `before`: nothing is recorded (the service was down); `after`: the
 * request is processed and recorded, then the response is lost (a retry must not add a turn).
 * `delayMs` holds the response that long first (to trip the caller's timeout).
 */
export interface FailurePlan {
  count: number;
  status?: number;
  when?: 'before' | 'after';
  delayMs?: number;
}

export interface FakeAiService {
  readonly url: string;
  readonly port: number;
  /** Every thread, in creation order (copies). */
  threads(): FakeThread[];
  thread(threadId: string): FakeThread | undefined;
  /** Every request the service received, failed ones included: `METHOD path`. */
  readonly requests: string[];
  fail(plan: FailurePlan): void;
  reset(): void;
  close(): Promise<void>;
}

export interface FakeAiServiceOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Called once per request, for a log line. */
  onRequest?: (line: string) => void;
}

const MAX_BODY_BYTES = 64 * 1024;

const ThreadRequest = v.object({
  assessment_id: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  test_id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
});

const TurnRequest = v.object({
  request_id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  question_id: v.pipe(v.string(), v.minLength(1)),
  question_index: v.pipe(v.number(), v.integer(), v.minValue(0)),
  question_text: v.string(),
  options: v.array(v.string()),
  selected_option: v.string(),
});

interface StoredResponse {
  fingerprint: string;
  status: number;
  body: unknown;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeAiService(options: FakeAiServiceOptions = {}): Promise<FakeAiService> {
  const threads = new Map<string, FakeThread>();
  /** Keyed by scope (`threads` or the thread id) and the Idempotency-Key. */
  const replies = new Map<string, StoredResponse>();
  const requests: string[] = [];
  let plan: Required<FailurePlan> | null = null;
  let threadSeq = 0;

  const copy = (thread: FakeThread): FakeThread => structuredClone(thread);

  /** Runs `work` once per idempotency key; a replay returns the first response unchanged. */
  function once(
    scope: string,
    key: string | undefined,
    body: unknown,
    work: () => StoredResponse['body'],
  ): { status: number; body: unknown; replayed: boolean } {
    const fingerprint = JSON.stringify(body);
    if (key !== undefined) {
      const earlier = replies.get(`${scope}\n${key}`);
      if (earlier) {
        if (earlier.fingerprint !== fingerprint) {
          throw new HttpError(422, 'Idempotency-Key reused with a different request body');
        }
        return { status: earlier.status, body: earlier.body, replayed: true };
      }
    }
    const result = work();
    if (key !== undefined) replies.set(`${scope}\n${key}`, { fingerprint, status: 201, body: result });
    return { status: 201, body: result, replayed: false };
  }

  function route(method: string, path: string, key: string | undefined, body: unknown) {
    if (method === 'GET' && path === '/health') return { status: 200, body: { ok: true }, replayed: false };
    if (method === 'GET' && path === '/_fake/threads') {
      return { status: 200, body: { threads: [...threads.values()].map(copy) }, replayed: false };
    }
    if (method === 'POST' && path === '/threads') {
      const input = parse(ThreadRequest, body);
      return once('threads', key, input, () => {
        const threadId = `fake-thread-${++threadSeq}`;
        threads.set(threadId, {
          threadId,
          assessmentId: input.assessment_id,
          testId: input.test_id,
          turns: [],
        });
        return { thread_id: threadId };
      });
    }
    const match = /^\/threads\/([^/]+)(\/turns)?$/.exec(path);
    if (match) {
      const threadId = decodeURIComponent(match[1] ?? '');
      const thread = threads.get(threadId);
      if (!thread) throw new HttpError(404, `no thread ${threadId}`);
      if (method === 'GET' && !match[2]) return { status: 200, body: copy(thread), replayed: false };
      if (method === 'POST' && match[2]) {
        const input = parse(TurnRequest, body);
        return once(threadId, key, input, () => {
          const turn = thread.turns.length + 1;
          thread.turns.push({
            turn,
            requestId: input.request_id,
            questionId: input.question_id,
            questionIndex: input.question_index,
            selectedOption: input.selected_option,
            idempotencyKey: key ?? '',
          });
          return {
            turn,
            feedback: `Turn ${turn}: you chose "${input.selected_option}" for question ${input.question_index + 1}.`,
            next_question: { text: `Why "${input.selected_option}"? Explain in one sentence.` },
          };
        });
      }
    }
    throw new HttpError(404, `no route ${method} ${path}`);
  }

  function control(path: string, body: unknown): boolean {
    if (path === '/_fake/reset') {
      threads.clear();
      replies.clear();
      requests.length = 0;
      plan = null;
      return true;
    }
    if (path === '/_fake/fail') {
      const input = parse(
        v.object({
          count: v.pipe(v.number(), v.integer(), v.minValue(0)),
          status: v.optional(v.pipe(v.number(), v.integer(), v.minValue(400), v.maxValue(599))),
          when: v.optional(v.picklist(['before', 'after'])),
          delay_ms: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(60_000))),
        }),
        body,
      );
      service.fail({
        count: input.count,
        ...(input.status === undefined ? {} : { status: input.status }),
        ...(input.when === undefined ? {} : { when: input.when }),
        ...(input.delay_ms === undefined ? {} : { delayMs: input.delay_ms }),
      });
      return true;
    }
    return false;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const key = header(req, 'idempotency-key');
    let status = 500;
    try {
      const body = await readJson(req);
      if (method === 'POST' && path.startsWith('/_fake/')) {
        if (!control(path, body)) throw new HttpError(404, `no control ${path}`);
        status = 204;
        res.writeHead(204).end();
        return;
      }
      if (path.startsWith('/_fake/') || path === '/health') {
        const result = route(method, path, key, body);
        status = result.status;
        send(res, result.status, result.body);
        return;
      }
      requests.push(`${method} ${path}`);
      const failure = plan && plan.count > 0 ? plan : null;
      if (failure) {
        failure.count--;
        if (failure.delayMs > 0) await sleep(failure.delayMs);
        if (failure.when === 'before') {
          status = failure.status;
          send(res, failure.status, { error: 'injected failure' });
          return;
        }
      }
      const result = route(method, path, key, body);
      if (failure) {
        status = failure.status;
        send(res, failure.status, { error: 'injected failure after processing' });
        return;
      }
      status = result.status;
      send(res, result.status, result.body, result.replayed ? { 'idempotent-replayed': 'true' } : {});
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      send(res, status, { error: error instanceof Error ? error.message : String(error) });
    } finally {
      options.onRequest?.(`${method} ${path} -> ${status}${key ? ` (key ${key})` : ''}`);
    }
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  // A caller that gave up (timeout) leaves a held response behind; never keep the process alive for it.
  server.keepAliveTimeout = 1000;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () =>
      resolve((server.address() as AddressInfo).port),
    );
  });
  const host = options.host ?? '127.0.0.1';

  const service: FakeAiService = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    threads: () => [...threads.values()].map(copy),
    thread: (threadId) => {
      const found = threads.get(threadId);
      return found ? copy(found) : undefined;
    },
    requests,
    fail: (next) => {
      plan = { status: 503, when: 'before', delayMs: 0, ...next };
    },
    reset: () => {
      control('/_fake/reset', undefined);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return service;
}

function parse<T extends v.GenericSchema>(schema: T, body: unknown): v.InferOutput<T> {
  const result = v.safeParse(schema, body);
  if (!result.success) {
    const problems = result.issues.map((i) => `${v.getDotPath(i) ?? 'body'}: ${i.message}`);
    throw new HttpError(400, problems.join('; '));
  }
  return result.output;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Unreferenced: a held response must not keep a test process alive after close(). */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
