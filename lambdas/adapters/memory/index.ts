/**
 * In-memory twins of the ports, for fast unit tests. They keep the same conditional semantics
 * as the DynamoDB adapters (the shared contract tests run against both).
 */

import { RATE_LIMIT, type ServerFrame } from '../../../protocol';
import { requestHash } from '../../core/answers';
import {
  addEvent,
  type ConnectionEnd,
  type ConnectionEvent,
  EMPTY_TOTALS,
  HISTORY_EVENTS,
  type HistoryEntry,
  type HistoryTotals,
  type KeyHistory,
  MAX_CONNECTION_MS,
} from '../../core/connection-history';
import { parseConnectionKey } from '../../core/connection-key';
import { ownValue } from '../../core/own-keys';
import type {
  AnswerWrite,
  AssessmentRecord,
  AssessmentStore,
  Clock,
  CompletionWrite,
  ConnectionAuth,
  ConnectionNotifier,
  ConnectionRecord,
  ConnectionRegistry,
  CreateResult,
  FrameAdmission,
  IdentityBinding,
  IdentityBindResult,
  IdGenerator,
  KeyClaim,
  MetricScope,
  NewAssessment,
  RateLimiter,
  Telemetry,
  TestCatalog,
  TestDefinition,
  TokenCheck,
  TokenVerifier,
} from '../../core/ports';

const clone = <T>(value: T): T => structuredClone(value);

export class ManualClock implements Clock {
  constructor(private ms = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}

export class SequentialIds implements IdGenerator {
  private next = 0;
  constructor(private readonly prefix = 'id') {}
  newId(): string {
    this.next++;
    return `${this.prefix}-${this.next}`;
  }
}

export class InMemoryConnectionRegistry implements ConnectionRegistry {
  readonly connections = new Map<string, ConnectionRecord>();
  /** Bound identities of sockets that are not (or not yet) authenticated. */
  private readonly bound = new Map<string, { userId: string; key: string }>();
  readonly keys = new Map<string, string>();
  private readonly epochs = new Map<string, number>();
  /** Key -> its history record, as the DynamoDB key item keeps it. */
  private readonly histories = new Map<string, StoredHistory>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Pass the core's rate limiter too, so every route counts against one budget (as on DynamoDB). */
    private readonly limiter: RateLimiter = new FixedWindowRateLimiter(
      RATE_LIMIT.framesPerWindow,
      RATE_LIMIT.windowMs,
    ),
  ) {}

  async registerPending(connection: Omit<ConnectionRecord, 'auth'>): Promise<void> {
    this.connections.set(connection.connectionId, clone(connection));
  }
  async get(connectionId: string): Promise<ConnectionRecord | null> {
    const found = this.connections.get(connectionId);
    return found ? clone(found) : null;
  }
  async admitFrame(connectionId: string, nowMs: number): Promise<FrameAdmission> {
    const found = this.connections.get(connectionId);
    if (!found) return { connection: null, withinBudget: true };
    return { connection: clone(found), withinBudget: await this.limiter.tryConsume(connectionId, nowMs) };
  }
  async bindIdentity(binding: IdentityBinding): Promise<IdentityBindResult> {
    const existing = this.connections.get(binding.connectionId);
    const boundUser = existing?.auth?.userId ?? this.bound.get(binding.connectionId)?.userId;
    if (boundUser !== undefined && boundUser !== binding.userId) return { ok: false, reason: 'other_user' };
    if (existing && existing.testId !== null && existing.testId !== binding.testId) {
      return { ok: false, reason: 'test_mismatch' };
    }
    if (existing && existing.testId === null && binding.testId !== null && boundUser !== undefined) {
      return { ok: false, reason: 'test_mismatch' };
    }
    const connection: ConnectionRecord = existing ?? {
      connectionId: binding.connectionId,
      testId: binding.testId,
      connectedAtMs: binding.nowMs,
      authDeadlineMs: binding.nowMs,
    };
    connection.testId = binding.testId;
    this.connections.set(binding.connectionId, connection);
    this.bound.set(binding.connectionId, { userId: binding.userId, key: binding.key });
    return { ok: true, connection: clone(connection) };
  }
  async markAuthenticated(connectionId: string, auth: ConnectionAuth): Promise<void> {
    const connection = this.connections.get(connectionId);
    const bound = this.bound.get(connectionId);
    if (!connection || bound?.userId !== auth.userId || bound.key !== auth.key) {
      throw new Error('markAuthenticated: the connection is not bound to this identity');
    }
    connection.auth = clone(auth);
  }
  async claimKey(key: string, connectionId: string): Promise<KeyClaim> {
    const previous = this.keys.get(key);
    this.keys.set(key, connectionId);
    const epoch = (this.epochs.get(key) ?? this.now()) + 1;
    this.epochs.set(key, epoch);
    const stored = this.histories.get(key);
    const holder = previous !== undefined && previous !== connectionId ? previous : null;
    const prior = {
      holder,
      ...(stored?.ended ? { ended: { ...stored.ended } } : {}),
      totals: { ...(stored?.totals ?? EMPTY_TOTALS) },
    };
    this.histories.set(key, {
      claimedAtMs: this.now(),
      totals: stored?.totals ?? { ...EMPTY_TOTALS },
      events: stored?.events ?? new Map(),
    });
    return { previous: holder, epoch, prior };
  }
  async recordConnection(key: string, entry: HistoryEntry): Promise<void> {
    const stored = this.histories.get(key);
    if (!stored) return;
    stored.events.set(entry.epoch % HISTORY_EVENTS, clone(entry.event));
    stored.totals = addEvent(stored.totals, entry.event, entry.replacedPrevious);
  }
  async historyOf(key: string): Promise<KeyHistory | null> {
    const stored = this.histories.get(key);
    if (!stored) return null;
    const { userId, testId } = parseConnectionKey(key);
    const holder = this.keys.get(key) ?? null;
    return {
      userId,
      testId,
      holder: holder !== null && stored.claimedAtMs + MAX_CONNECTION_MS > this.now() ? holder : null,
      claimedAtMs: stored.claimedAtMs,
      ...(stored.ended && holder === null ? { ended: { ...stored.ended } } : {}),
      totals: { ...stored.totals },
      events: [...stored.events.values()].sort((a, b) => a.atMs - b.atMs).map(clone),
    };
  }
  async rosterOf(testId: string): Promise<KeyHistory[]> {
    const keys = [...this.histories.keys()].filter((key) => parseConnectionKey(key).testId === testId);
    const found = await Promise.all(keys.map((key) => this.historyOf(key)));
    return found.filter((h): h is KeyHistory => h !== null);
  }
  async holderOf(key: string): Promise<string | null> {
    return this.keys.get(key) ?? null;
  }
  async releaseKey(key: string, connectionId: string, end: ConnectionEnd): Promise<boolean> {
    if (this.keys.get(key) !== connectionId) return false;
    this.keys.delete(key);
    const stored = this.histories.get(key);
    if (stored) stored.ended = { ...end };
    return true;
  }
  async removeConnection(connectionId: string): Promise<ConnectionRecord | null> {
    const found = this.connections.get(connectionId);
    this.connections.delete(connectionId);
    this.bound.delete(connectionId);
    return found ?? null;
  }
  async findUnauthenticatedOverdue(nowMs: number, limit: number): Promise<ConnectionRecord[]> {
    return [...this.connections.values()]
      .filter((c) => !c.auth && c.authDeadlineMs <= nowMs)
      .sort((a, b) => a.authDeadlineMs - b.authDeadlineMs)
      .slice(0, limit)
      .map(clone);
  }
}

export class InMemoryAssessmentStore implements AssessmentStore {
  readonly records = new Map<string, AssessmentRecord>();
  /** Holder epochs bound before an attempt was started. */
  private readonly holders = new Map<string, number>();
  private key = (userId: string, testId: string) => JSON.stringify([userId, testId]);

  async get(userId: string, testId: string): Promise<AssessmentRecord | null> {
    const found = this.records.get(this.key(userId, testId));
    return found ? clone(found) : null;
  }
  async create(assessment: NewAssessment & { holderEpoch: number }): Promise<CreateResult> {
    const k = this.key(assessment.userId, assessment.testId);
    const existing = this.records.get(k);
    if (existing) return { created: false, record: clone(existing) };
    if ((this.holders.get(k) ?? Number.NEGATIVE_INFINITY) > assessment.holderEpoch) return { fenced: true };
    const record: AssessmentRecord = {
      ...assessment,
      status: 'in_progress',
      answeredCount: 0,
      choices: [],
    };
    this.records.set(k, record);
    return { created: true, record: clone(record) };
  }
  async bindHolder(
    userId: string,
    testId: string,
    epoch: number,
  ): Promise<{ record: AssessmentRecord | null; fenced: boolean }> {
    const k = this.key(userId, testId);
    const record = this.records.get(k);
    const current = record ? record.holderEpoch : this.holders.get(k);
    if (current !== undefined && current >= epoch) {
      return { record: record ? clone(record) : null, fenced: current > epoch };
    }
    if (record) record.holderEpoch = epoch;
    else this.holders.set(k, epoch);
    return { record: record ? clone(record) : null, fenced: false };
  }
  async recordAnswer(write: AnswerWrite): Promise<AssessmentRecord | null> {
    const record = this.records.get(this.key(write.userId, write.testId));
    const hash = requestHash(write.requestId);
    if (
      record?.status !== 'in_progress' ||
      record.answeredCount !== write.questionIndex ||
      record.deadlineMs <= write.nowMs ||
      record.choices.some((choice) => choice.request === hash) ||
      ownValue(record.legacy?.requestQuestions ?? {}, write.requestId) !== undefined ||
      (record.holderEpoch ?? Number.NEGATIVE_INFINITY) > write.epoch
    ) {
      return null;
    }
    record.choices.push({ option: write.option, request: hash });
    if (write.keepRequestIdForAi) {
      record.pendingRequestIds ??= {};
      record.pendingRequestIds[String(write.questionIndex)] = write.requestId;
    }
    record.answeredCount++;
    record.holderEpoch = write.epoch;
    return clone(record);
  }
  async complete(write: CompletionWrite): Promise<AssessmentRecord | null> {
    const record = this.records.get(this.key(write.userId, write.testId));
    if (
      record?.status !== 'in_progress' ||
      record.answeredCount !== write.expectedAnsweredCount ||
      (write.epoch !== undefined && (record.holderEpoch ?? Number.NEGATIVE_INFINITY) > write.epoch)
    ) {
      return null;
    }
    record.status = 'completed';
    record.completion = { reason: write.reason, score: write.score, completedAtMs: write.completedAtMs };
    return clone(record);
  }
  async recordAiTurns(
    userId: string,
    testId: string,
    turns: { from: number; delivered: number },
  ): Promise<number | null> {
    const record = this.records.get(this.key(userId, testId));
    if (record?.aiTurnsDelivered === undefined || record.aiTurnsDelivered >= turns.delivered) return null;
    const previous = record.aiTurnsDelivered;
    record.aiTurnsDelivered = turns.delivered;
    for (let index = turns.from; index < turns.delivered; index++) {
      delete record.pendingRequestIds?.[String(index)];
    }
    if (record.pendingRequestIds && Object.keys(record.pendingRequestIds).length === 0) {
      delete record.pendingRequestIds;
    }
    return previous;
  }
  async findOverdue(nowMs: number, limit: number): Promise<{ userId: string; testId: string }[]> {
    return [...this.records.values()]
      .filter((r) => r.status === 'in_progress' && r.deadlineMs <= nowMs)
      .slice(0, limit)
      .map((r) => ({ userId: r.userId, testId: r.testId }));
  }
}

export class InMemoryTestCatalog implements TestCatalog {
  readonly tests = new Map<string, TestDefinition>();
  constructor(tests: TestDefinition[] = []) {
    for (const test of tests) this.tests.set(test.test_id, test);
  }
  async get(testId: string): Promise<TestDefinition | null> {
    const found = this.tests.get(testId);
    return found ? clone(found) : null;
  }
}

/** Records every frame sent; connections listed in `gone` answer like a 410. */
export class RecordingNotifier implements ConnectionNotifier {
  readonly sent: { connectionId: string; frame: ServerFrame }[] = [];
  readonly closed: string[] = [];
  readonly gone = new Set<string>();

  async send(connectionId: string, frame: ServerFrame): Promise<'sent' | 'gone'> {
    if (this.gone.has(connectionId)) return 'gone';
    this.sent.push({ connectionId, frame: clone(frame) });
    return 'sent';
  }
  async close(connectionId: string): Promise<void> {
    if (!this.gone.has(connectionId)) this.closed.push(connectionId);
    this.gone.add(connectionId);
  }
  framesFor(connectionId: string): ServerFrame[] {
    return this.sent.filter((s) => s.connectionId === connectionId).map((s) => s.frame);
  }
}

/**
 * Accepts tokens of the form `user:<id>` (or `user:<id>:<expiresAtMs>`), and proctor tokens
 * `proctor:<id>:<test,test...>`; anything else is invalid.
 */
export class FakeTokenVerifier implements TokenVerifier {
  constructor(private readonly clock: Clock) {}
  async verify(token: string): Promise<TokenCheck> {
    const [kind, userId, third] = token.split(':');
    if (kind === 'proctor' && userId) {
      const proctorTests = (third ?? '').split(',').filter(Boolean);
      return { ok: true, userId, expiresAtMs: this.clock.now() + 3600_000, proctorTests };
    }
    if (kind !== 'user' || !userId) return { ok: false, code: 'invalid_token', reason: 'not a token' };
    const expiresAtMs = third ? Number(third) : this.clock.now() + 3600_000;
    if (expiresAtMs <= this.clock.now()) return { ok: false, code: 'expired_token', reason: 'expired' };
    return { ok: true, userId, expiresAtMs };
  }
}

export class FixedWindowRateLimiter implements RateLimiter {
  private readonly counts = new Map<string, number>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}
  async tryConsume(connectionId: string, nowMs: number): Promise<boolean> {
    const k = `${connectionId}#${Math.floor(nowMs / this.windowMs)}`;
    const count = (this.counts.get(k) ?? 0) + 1;
    this.counts.set(k, count);
    return count <= this.limit;
  }
}

export class SilentTelemetry implements Telemetry {
  readonly counts = new Map<string, number>();
  readonly errors: { message: string; error: unknown }[] = [];
  info(): void {}
  warn(): void {}
  error(message: string, error: unknown): void {
    this.errors.push({ message, error });
  }
  /** Per-test counts, keyed `<metric>|<test_id>`. */
  readonly perTest = new Map<string, number>();
  readonly timings: { metric: string; ms: number; testId?: string }[] = [];
  count(metric: string, value = 1, scope?: MetricScope): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
    if (scope?.testId !== undefined) {
      const key = `${metric}|${scope.testId}`;
      this.perTest.set(key, (this.perTest.get(key) ?? 0) + value);
    }
  }
  timing(metric: string, ms: number, scope?: MetricScope): void {
    this.timings.push({ metric, ms, ...(scope?.testId === undefined ? {} : { testId: scope.testId }) });
  }
}

/** A key's history as the in-memory registry keeps it. */
interface StoredHistory {
  claimedAtMs: number;
  ended?: ConnectionEnd;
  totals: HistoryTotals;
  /** slot -> event, like the DynamoDB item's `events` map. */
  events: Map<number, ConnectionEvent>;
}
