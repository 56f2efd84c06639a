import { isFinalAnswerError, Outbox, type OutboxEntry, outboxStorageKey } from '../../client/outbox';
import { MemoryStorage } from './fakes';

const entry = (n: number, extra: Partial<OutboxEntry> = {}): OutboxEntry => ({
  request_id: `r${n}`,
  question_id: `q${n}`,
  selected_option: `o${n}`,
  created_at: 1000 + n,
  ...extra,
});

const KEY = outboxStorageKey('ws://h/local', 'demo');

describe('Outbox', () => {
  it('keys storage by url and test id', () => {
    expect(outboxStorageKey('ws://h/local', 'demo')).not.toBe(outboxStorageKey('ws://h/local', 'other'));
    expect(outboxStorageKey('ws://h/local', 'demo')).not.toBe(outboxStorageKey('ws://h/prod', 'demo'));
    expect(outboxStorageKey('ws://h/local', undefined)).not.toBe(KEY);
  });

  it('persists every change and restores the entries, in order, in a new instance (page reload)', () => {
    const storage = new MemoryStorage();
    const outbox = new Outbox({ storage, key: KEY, maxEntries: 100 });
    outbox.add(entry(1));
    outbox.add(entry(2));
    outbox.add(entry(3));
    outbox.remove('r2');
    const reloaded = new Outbox({ storage, key: KEY, maxEntries: 100 });
    expect(reloaded.entries().map((e) => e.request_id)).toEqual(['r1', 'r3']);
    expect(reloaded.first()).toEqual(entry(1));
  });

  it('removes the storage key once empty', () => {
    const storage = new MemoryStorage();
    const outbox = new Outbox({ storage, key: KEY, maxEntries: 100 });
    outbox.add(entry(1));
    expect(storage.map.has(KEY)).toBe(true);
    outbox.remove('r1');
    expect(storage.map.has(KEY)).toBe(false);
  });

  it('deduplicates by request_id', () => {
    const outbox = new Outbox({ key: KEY, maxEntries: 100 });
    expect(outbox.add(entry(1))).toBe('added');
    expect(outbox.add(entry(1, { selected_option: 'other' }))).toBe('duplicate');
    expect(outbox.size).toBe(1);
    expect(outbox.get('r1')?.selected_option).toBe('o1');
  });

  it('is bounded: refuses new entries when full and keeps the oldest', () => {
    const outbox = new Outbox({ key: KEY, maxEntries: 3 });
    for (const n of [1, 2, 3]) expect(outbox.add(entry(n))).toBe('added');
    expect(outbox.add(entry(4))).toBe('full');
    expect(outbox.entries().map((e) => e.request_id)).toEqual(['r1', 'r2', 'r3']);
  });

  it('restores defensively: dedupes, skips malformed entries, caps the count, survives garbage', () => {
    const storage = new MemoryStorage();
    storage.setItem(
      KEY,
      JSON.stringify([entry(1), entry(1), { request_id: 5 }, null, entry(2), entry(3), entry(4)]),
    );
    const outbox = new Outbox({ storage, key: KEY, maxEntries: 2 });
    expect(outbox.entries().map((e) => e.request_id)).toEqual(['r1', 'r2']);

    storage.setItem(KEY, '{not json');
    expect(new Outbox({ storage, key: KEY, maxEntries: 2 }).size).toBe(0);
  });

  it('keeps working in memory when storage throws', () => {
    const storage = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {
        throw new Error('SecurityError');
      },
    };
    const outbox = new Outbox({ storage, key: KEY, maxEntries: 10 });
    expect(outbox.add(entry(1))).toBe('added');
    expect(outbox.remove('r1')?.request_id).toBe('r1');
  });

  it('attributes anonymous entries to the authenticated user and drops other users’ entries', () => {
    const storage = new MemoryStorage();
    const outbox = new Outbox({ storage, key: KEY, maxEntries: 10 });
    outbox.add(entry(1, { user_id: 'alice' }));
    outbox.add(entry(2));
    outbox.add(entry(3, { user_id: 'bob' }));
    const dropped = outbox.adoptUser('bob');
    expect(dropped.map((e) => e.request_id)).toEqual(['r1']);
    expect(outbox.entries()).toEqual([entry(2, { user_id: 'bob' }), entry(3, { user_id: 'bob' })]);
    expect(new Outbox({ storage, key: KEY, maxEntries: 10 }).size).toBe(2);
  });

  it('after detach (session replaced) forgets its entries and never writes storage again', () => {
    const storage = new MemoryStorage();
    const outbox = new Outbox({ storage, key: KEY, maxEntries: 10 });
    outbox.add(entry(1));
    const stored = storage.getItem(KEY);
    const writes = storage.writes;
    expect(outbox.detach().map((e) => e.request_id)).toEqual(['r1']);
    expect(outbox.size).toBe(0);
    outbox.add(entry(2));
    outbox.remove('r2');
    expect(storage.writes).toBe(writes);
    expect(storage.getItem(KEY)).toBe(stored); // the other tab's data is left alone
  });

  it('classifies answer errors: final ones end the entry, transient ones keep it', () => {
    for (const code of [
      'already_answered',
      'time_up',
      'assessment_completed',
      'request_id_reused',
      'invalid_question',
      'invalid_message',
      'no_active_assessment',
    ]) {
      expect(isFinalAnswerError(code)).toBe(true);
    }
    for (const code of ['internal_error', 'rate_limited', 'not_authenticated']) {
      expect(isFinalAnswerError(code)).toBe(false);
    }
  });
});
