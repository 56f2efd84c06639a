/**
 * The AI service over HTTP (its API is described in scripts/fake-ai-service.ts, the local fake).
 * Every attempt has its own timeout, transient failures (network, timeout, 429, 5xx) are retried
 * a few times with jittered backoff, and every POST carries an `Idempotency-Key`, so a retry of a
 * request the service already processed returns the same thread or turn instead of a second one.
 */
import * as v from 'valibot';
import type { AiAnswer, AiCallOptions, AiReply, AiService } from '../../core/ports';

export class AiServiceError extends Error {
  override name = 'AiServiceError';
  /** The HTTP status of the last response, when there was one. */
  readonly status: number | undefined;

  constructor(message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, { cause: options.cause });
    this.status = options.status;
  }
}

/** Unreachable, timed out, or a 429/5xx on every attempt: worth trying again later. */
export class AiServiceUnavailableError extends AiServiceError {
  override name = 'AiServiceUnavailableError';
}

/** The service refused the request (4xx other than 429): the same request will be refused again. */
export class AiServiceRejectedError extends AiServiceError {
  override name = 'AiServiceRejectedError';
}

/** A success response whose body is not what the API promises. */
export class AiServiceResponseError extends AiServiceError {
  override name = 'AiServiceResponseError';
}

export interface HttpAiServiceOptions {
  /** Base URL, e.g. `https://ai.example.com/v1`; paths are appended to it. */
  readonly baseUrl: string;
  /** Per attempt. @default 2000 */
  readonly timeoutMs?: number;
  /** Attempts per call, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** Backoff before retry n is random in [0, backoffMs * 2^(n-1)], at most 1 s. @default 100 */
  readonly backoffMs?: number;
  readonly fetch?: typeof fetch;
  /** For tests: a deterministic jitter. @default Math.random */
  readonly random?: () => number;
}

/** Thread ids end up in URLs and in client frames: keep them plain. */
const THREAD_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Bounds what the service can push into a client frame (frames must stay far below 128 KB). */
const MAX_FEEDBACK_CHARS = 4000;
const MAX_QUESTION_CHARS = 1000;
const MAX_BACKOFF_MS = 1000;

const ThreadResponse = v.object({ thread_id: v.pipe(v.string(), v.regex(THREAD_ID)) });
const TurnResponse = v.object({
  turn: v.pipe(v.number(), v.integer(), v.minValue(1)),
  feedback: v.pipe(v.string(), v.maxLength(MAX_FEEDBACK_CHARS)),
  next_question: v.nullish(
    v.object({ text: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_QUESTION_CHARS)) }),
  ),
});

export class HttpAiService implements AiService {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly fetch: typeof fetch;
  private readonly random: () => number;

  constructor(options: HttpAiServiceOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.backoffMs = options.backoffMs ?? 100;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.random = options.random ?? Math.random;
  }

  async createThread(
    attempt: { assessmentId: string; testId: string },
    idempotencyKey: string,
    options: AiCallOptions = {},
  ): Promise<{ threadId: string }> {
    const body = await this.post(
      '/threads',
      { assessment_id: attempt.assessmentId, test_id: attempt.testId },
      idempotencyKey,
      options,
    );
    const parsed = v.safeParse(ThreadResponse, body);
    if (!parsed.success) throw malformed('POST /threads', parsed.issues);
    return { threadId: parsed.output.thread_id };
  }

  async sendAnswer(
    threadId: string,
    answer: AiAnswer,
    idempotencyKey: string,
    options: AiCallOptions = {},
  ): Promise<AiReply> {
    const body = await this.post(
      `/threads/${encodeURIComponent(threadId)}/turns`,
      {
        request_id: answer.requestId,
        question_id: answer.questionId,
        question_index: answer.questionIndex,
        question_text: answer.questionText,
        options: answer.options,
        selected_option: answer.selectedOption,
      },
      idempotencyKey,
      options,
    );
    const parsed = v.safeParse(TurnResponse, body);
    if (!parsed.success) throw malformed('POST /threads/{id}/turns', parsed.issues);
    const { turn, feedback, next_question } = parsed.output;
    return { turn, feedback, ...(next_question ? { nextQuestion: { text: next_question.text } } : {}) };
  }

  /** POSTs JSON and returns the parsed response body, retrying transient failures. */
  private async post(
    path: string,
    payload: object,
    idempotencyKey: string,
    options: AiCallOptions,
  ): Promise<unknown> {
    const what = `POST ${path}`;
    let lastFailure: AiServiceError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await this.backoff(attempt, options.signal, lastFailure);
      const outcome = await this.attempt(what, path, payload, idempotencyKey, options.signal);
      if (outcome.ok) return outcome.body;
      if (!outcome.retryable) throw outcome.error;
      lastFailure = outcome.error;
    }
    throw new AiServiceUnavailableError(`${what} failed after ${this.maxAttempts} attempts`, {
      cause: lastFailure,
      ...(lastFailure?.status === undefined ? {} : { status: lastFailure.status }),
    });
  }

  private async attempt(
    what: string,
    path: string,
    payload: object,
    idempotencyKey: string,
    callerSignal: AbortSignal | undefined,
  ): Promise<{ ok: true; body: unknown } | { ok: false; retryable: boolean; error: AiServiceError }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify(payload),
        signal,
      });
    } catch (error) {
      return this.transportFailure(what, error, callerSignal, timeout);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      return this.transportFailure(what, error, callerSignal, timeout);
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      try {
        return { ok: true, body: JSON.parse(text) };
      } catch (error) {
        return {
          ok: false,
          retryable: false,
          error: new AiServiceResponseError(`${what}: the response is not JSON`, { cause: error, status }),
        };
      }
    }
    const message = `${what} answered ${status}: ${text.slice(0, 200)}`;
    if (status === 429 || status >= 500) {
      return { ok: false, retryable: true, error: new AiServiceUnavailableError(message, { status }) };
    }
    return { ok: false, retryable: false, error: new AiServiceRejectedError(message, { status }) };
  }

  private transportFailure(
    what: string,
    error: unknown,
    callerSignal: AbortSignal | undefined,
    attemptTimeout: AbortSignal,
  ): { ok: false; retryable: boolean; error: AiServiceError } {
    if (callerSignal?.aborted) {
      // The caller's budget is spent: no retry could finish in time.
      return {
        ok: false,
        retryable: false,
        error: new AiServiceUnavailableError(`${what}: the caller's time budget ran out`, { cause: error }),
      };
    }
    // The signal says it, not the error: fetch rejects with a DOMException from another realm.
    const timedOut = attemptTimeout.aborted;
    return {
      ok: false,
      retryable: true,
      error: new AiServiceUnavailableError(
        timedOut ? `${what} timed out after ${this.timeoutMs} ms` : `${what} could not reach the AI service`,
        { cause: error },
      ),
    };
  }

  private async backoff(
    attempt: number,
    signal: AbortSignal | undefined,
    lastFailure: AiServiceError | undefined,
  ): Promise<void> {
    const ceiling = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** (attempt - 2));
    const delay = Math.floor(this.random() * ceiling);
    if (signal?.aborted) throw budgetSpent(lastFailure);
    if (delay <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, delay);
      const onAbort = () => {
        clearTimeout(timer);
        reject(budgetSpent(lastFailure));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function budgetSpent(lastFailure: AiServiceError | undefined): AiServiceUnavailableError {
  return new AiServiceUnavailableError("the caller's time budget ran out before a retry", {
    cause: lastFailure,
  });
}

function malformed(what: string, issues: v.BaseIssue<unknown>[]): AiServiceResponseError {
  const problems = issues.map((i) => `${v.getDotPath(i) ?? 'body'}: ${i.message}`).join('; ');
  return new AiServiceResponseError(`${what}: unexpected response body (${problems})`);
}
