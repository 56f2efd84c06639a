/**
 * In-memory twin of the AI service for unit tests: threads and turns in maps, the same
 * idempotency rule as the HTTP service (one turn per key), and switchable failures.
 */
import type { AiAnswer, AiReply, AiService } from '../../core/ports';

export interface TwinTurn extends AiAnswer {
  turn: number;
  idempotencyKey: string;
}

export interface TwinThread {
  threadId: string;
  assessmentId: string;
  testId: string;
  turns: TwinTurn[];
}

export class AiServiceDownError extends Error {
  override name = 'AiServiceDownError';
}

export class InMemoryAiService implements AiService {
  readonly threads = new Map<string, TwinThread>();
  /** Every call, failed ones included, in order: `createThread` or `sendAnswer <key>`. */
  readonly calls: string[] = [];
  /** While true, every call fails. */
  down = false;
  /** The next N calls fail (after `down` is checked). */
  failNext = 0;
  private readonly threadKeys = new Map<string, string>();
  private readonly replies = new Map<string, AiReply>();
  private seq = 0;

  async createThread(
    attempt: { assessmentId: string; testId: string },
    idempotencyKey: string,
  ): Promise<{ threadId: string }> {
    this.calls.push('createThread');
    this.maybeFail();
    const known = this.threadKeys.get(idempotencyKey);
    if (known) return { threadId: known };
    const threadId = `ai-thread-${++this.seq}`;
    this.threads.set(threadId, { threadId, ...attempt, turns: [] });
    this.threadKeys.set(idempotencyKey, threadId);
    return { threadId };
  }

  async sendAnswer(threadId: string, answer: AiAnswer, idempotencyKey: string): Promise<AiReply> {
    this.calls.push(`sendAnswer ${idempotencyKey}`);
    this.maybeFail();
    const replayed = this.replies.get(idempotencyKey);
    if (replayed) return structuredClone(replayed);
    const thread = this.threads.get(threadId);
    if (!thread) throw new Error(`no thread ${threadId}`);
    const turn = thread.turns.length + 1;
    thread.turns.push({ ...structuredClone(answer), turn, idempotencyKey });
    const reply: AiReply = {
      turn,
      feedback: `turn ${turn}: ${answer.selectedOption}`,
      nextQuestion: { text: `why ${answer.selectedOption}?` },
    };
    this.replies.set(idempotencyKey, reply);
    return structuredClone(reply);
  }

  /** The question ids the thread received, in order. */
  turnsOf(threadId: string): string[] {
    return (this.threads.get(threadId)?.turns ?? []).map((t) => t.questionId);
  }

  private maybeFail(): void {
    if (this.down) throw new AiServiceDownError('the AI service twin is down');
    if (this.failNext > 0) {
      this.failNext--;
      throw new AiServiceDownError('the AI service twin failed this call');
    }
  }
}
