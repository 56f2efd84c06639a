/**
 * Answers not yet acknowledged by the server. Kept in order, bounded, deduplicated by request_id
 * and persisted (when a storage is given) so that a page reload keeps them. The client resends
 * them, one at a time and with their original request_id, after every successful auth; the
 * server stores an answer once, whatever the number of resends.
 */
import { REQUEST_ID_MAX_LENGTH } from '../protocol';
import type { StorageLike } from './types';

export interface OutboxEntry {
  request_id: string;
  question_id: string;
  selected_option: string;
  /** Epoch ms when the answer was given. */
  created_at: number;
  /** The user the answer belongs to, once known; another user's entries are never sent. */
  user_id?: string;
}

export type AddResult = 'added' | 'duplicate' | 'full';

/** Error codes after which resending the same answer can still succeed: the entry stays queued. */
const RETRYABLE_ANSWER_ERRORS: ReadonlySet<string> = new Set([
  'internal_error',
  'rate_limited',
  'not_authenticated',
]);

/** True when an `error` for an outbox entry ends its life (any code not retryable, e.g. `already_answered`, `time_up`). */
export function isFinalAnswerError(code: string): boolean {
  return !RETRYABLE_ANSWER_ERRORS.has(code);
}

export function outboxStorageKey(url: string, testId: string | undefined): string {
  return `assessment-client:outbox:v1:${url}#${testId ?? ''}`;
}

export interface OutboxOptions {
  storage?: StorageLike | undefined;
  key: string;
  maxEntries: number;
}

export class Outbox {
  private items: OutboxEntry[] = [];
  private detached = false;

  constructor(private readonly options: OutboxOptions) {
    this.restore();
  }

  get size(): number {
    return this.items.length;
  }

  entries(): readonly OutboxEntry[] {
    return [...this.items];
  }

  first(): OutboxEntry | undefined {
    return this.items[0];
  }

  get(requestId: string): OutboxEntry | undefined {
    return this.items.find((e) => e.request_id === requestId);
  }

  /** A queued answer with the same question and option (a double click), if any. */
  findSame(questionId: string, selectedOption: string): OutboxEntry | undefined {
    return this.items.find((e) => e.question_id === questionId && e.selected_option === selectedOption);
  }

  add(entry: OutboxEntry): AddResult {
    if (this.get(entry.request_id) !== undefined) return 'duplicate';
    // Refuse rather than drop the oldest: answers are accepted in order, so losing an early one
    // would make every later one fail.
    if (this.items.length >= this.options.maxEntries) return 'full';
    this.items.push({ ...entry });
    this.persist();
    return 'added';
  }

  remove(requestId: string): OutboxEntry | undefined {
    const index = this.items.findIndex((e) => e.request_id === requestId);
    if (index < 0) return undefined;
    const [removed] = this.items.splice(index, 1);
    this.persist();
    return removed;
  }

  /**
   * The connection authenticated as `userId`: entries of another user are dropped (and returned),
   * entries given before any auth are attributed to this user.
   */
  adoptUser(userId: string): OutboxEntry[] {
    const dropped = this.items.filter((e) => e.user_id !== undefined && e.user_id !== userId);
    const before = JSON.stringify(this.items);
    this.items = this.items
      .filter((e) => e.user_id === undefined || e.user_id === userId)
      .map((e) => (e.user_id === undefined ? { ...e, user_id: userId } : e));
    if (JSON.stringify(this.items) !== before) this.persist();
    return dropped;
  }

  /**
   * Forget every entry in memory and stop writing to storage: another tab took over the session
   * and owns the stored entries from now on. Returns the forgotten entries.
   */
  detach(): OutboxEntry[] {
    const forgotten = this.items;
    this.items = [];
    this.detached = true;
    return forgotten;
  }

  /** Reload from storage and write again (after `detach`, when this tab takes the session back). */
  reattach(): void {
    this.detached = false;
    this.restore();
  }

  /** Removes everything, in memory and in storage. */
  clear(): void {
    this.items = [];
    this.persist();
  }

  private restore(): void {
    const storage = this.options.storage;
    if (storage === undefined) return;
    let raw: string | null;
    try {
      raw = storage.getItem(this.options.key);
    } catch {
      return;
    }
    if (raw === null) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return;
    }
    if (!Array.isArray(parsed)) return;
    const seen = new Set<string>();
    const restored: OutboxEntry[] = [];
    for (const item of parsed) {
      if (!isEntry(item) || seen.has(item.request_id)) continue;
      seen.add(item.request_id);
      restored.push(item);
      if (restored.length >= this.options.maxEntries) break;
    }
    this.items = restored;
  }

  private persist(): void {
    const storage = this.options.storage;
    if (storage === undefined || this.detached) return;
    try {
      if (this.items.length === 0) storage.removeItem(this.options.key);
      else storage.setItem(this.options.key, JSON.stringify(this.items));
    } catch {
      // Storage full or denied (private mode): the entries still live in memory.
    }
  }
}

function isEntry(value: unknown): value is OutboxEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.request_id === 'string' &&
    v.request_id.length > 0 &&
    v.request_id.length <= REQUEST_ID_MAX_LENGTH &&
    typeof v.question_id === 'string' &&
    typeof v.selected_option === 'string' &&
    typeof v.created_at === 'number' &&
    (v.user_id === undefined || typeof v.user_id === 'string')
  );
}
