import { AssessmentClientError } from '../../client/errors';
import { PendingRequests } from '../../client/pending-requests';
import type { ClientMessageFrame } from '../../client/types';
import { FakeTimers } from './fakes';

const frame = (requestId: string, type: ClientMessageFrame['type'] = 'get_question'): ClientMessageFrame => ({
  action: 'message',
  type,
  request_id: requestId,
  data: {},
});
const ts = new Date(0).toISOString();

describe('PendingRequests', () => {
  it('resolves the request whose request_id and expected type match, with the frame data', async () => {
    const timers = new FakeTimers();
    const pending = new PendingRequests(timers);
    const a = pending.add({ frame: frame('a'), expects: ['question'], timeoutMs: 1000 });
    const b = pending.add({ frame: frame('b'), expects: ['question'], timeoutMs: 1000 });

    expect(pending.settle({ type: 'question', data: { n: 'x' }, timestamp: ts })).toBe(false); // no request_id
    expect(pending.settle({ type: 'question', request_id: 'zzz', data: {}, timestamp: ts })).toBe(false);
    expect(pending.settle({ type: 'pong', request_id: 'b', data: {}, timestamp: ts })).toBe(false); // wrong type
    expect(pending.settle({ type: 'question', request_id: 'b', data: { n: 'b' }, timestamp: ts })).toBe(true);
    await expect(b).resolves.toEqual({ n: 'b' });
    expect(pending.has('a')).toBe(true);
    expect(pending.settle({ type: 'question', request_id: 'a', data: { n: 'a' }, timestamp: ts })).toBe(true);
    await expect(a).resolves.toEqual({ n: 'a' });
    expect(pending.size).toBe(0);
    expect(timers.pending).toBe(0);
  });

  it('rejects with the server error code when an error frame carries the request_id', async () => {
    const pending = new PendingRequests(new FakeTimers());
    const p = pending.add({
      frame: frame('a', 'start_assessment'),
      expects: ['assessment_started'],
      timeoutMs: 1000,
    });
    pending.settle({
      type: 'error',
      request_id: 'a',
      error: { code: 'assessment_completed', message: 'already completed' },
      timestamp: ts,
    });
    const error = await p.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssessmentClientError);
    expect(error).toMatchObject({ code: 'assessment_completed', requestId: 'a', source: 'server' });
  });

  it('rejects with code timeout after timeoutMs and forgets the request', async () => {
    const timers = new FakeTimers();
    const pending = new PendingRequests(timers);
    const p = pending.add({ frame: frame('a'), expects: ['question'], timeoutMs: 1000 });
    const settled = jest.fn();
    p.then(settled, settled);
    await timers.advance(999);
    expect(settled).not.toHaveBeenCalled();
    await timers.advance(1);
    await expect(p).rejects.toMatchObject({ code: 'timeout', requestId: 'a' });
    expect(pending.has('a')).toBe(false);
    // A late reply is ignored.
    expect(pending.settle({ type: 'question', request_id: 'a', data: {}, timestamp: ts })).toBe(false);
  });

  it('refuses a request_id that is already pending', async () => {
    const pending = new PendingRequests(new FakeTimers());
    void pending.add({ frame: frame('a'), expects: ['question'], timeoutMs: 1000 }).catch(() => {});
    await expect(
      pending.add({ frame: frame('a'), expects: ['question'], timeoutMs: 1000 }),
    ).rejects.toMatchObject({
      code: 'duplicate_request_id',
    });
  });

  it('lists requests not yet sent on a connection, and rejects all at once', async () => {
    const timers = new FakeTimers();
    const pending = new PendingRequests(timers);
    const a = pending.add({ frame: frame('a'), expects: ['question'], timeoutMs: 1000 });
    const b = pending.add({ frame: frame('b'), expects: ['question'], timeoutMs: 1000, viaOutbox: true });
    const conn1 = {};
    const conn2 = {};
    expect(pending.unsentOn(conn1).map((f) => f.request_id)).toEqual(['a']); // outbox requests excluded
    pending.markSent('a', conn1);
    expect(pending.unsentOn(conn1)).toEqual([]);
    expect(pending.unsentOn(conn2).map((f) => f.request_id)).toEqual(['a']);
    pending.rejectAll((id) => new AssessmentClientError('closed', 'closed', { requestId: id }));
    await expect(a).rejects.toMatchObject({ code: 'closed', requestId: 'a' });
    await expect(b).rejects.toMatchObject({ code: 'closed', requestId: 'b' });
    expect(timers.pending).toBe(0);
  });
});
