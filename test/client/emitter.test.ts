import { Emitter } from '../../client/emitter';

interface Events {
  ping: [n: number];
  pair: [a: string, b: boolean];
}

describe('Emitter', () => {
  it('calls listeners with typed arguments; on() returns an unsubscribe function', () => {
    const emitter = new Emitter<Events>();
    const calls: unknown[] = [];
    const off = emitter.on('pair', (a, b) => calls.push([a, b]));
    emitter.emit('pair', 'x', true);
    off();
    emitter.emit('pair', 'y', false);
    expect(calls).toEqual([['x', true]]);
    expect(emitter.listenerCount('pair')).toBe(0);
  });

  it('once() fires a single time', () => {
    const emitter = new Emitter<Events>();
    const seen: number[] = [];
    emitter.once('ping', (n) => seen.push(n));
    emitter.emit('ping', 1);
    emitter.emit('ping', 2);
    expect(seen).toEqual([1]);
  });

  it('a throwing listener neither stops the other listeners nor the emitter', () => {
    const errors: unknown[] = [];
    const emitter = new Emitter<Events>((e) => errors.push(e));
    const seen: number[] = [];
    emitter.on('ping', () => {
      throw new Error('bug');
    });
    emitter.on('ping', (n) => seen.push(n));
    expect(() => emitter.emit('ping', 7)).not.toThrow();
    expect(seen).toEqual([7]);
    expect(errors).toEqual([new Error('bug')]);
  });

  it('a listener removed during emit is not called afterwards, one added is not called now', () => {
    const emitter = new Emitter<Events>();
    const seen: string[] = [];
    const offB = emitter.on('ping', () => seen.push('b'));
    emitter.on('ping', () => {
      seen.push('a');
      offB();
      emitter.on('ping', () => seen.push('c'));
    });
    emitter.emit('ping', 1);
    emitter.emit('ping', 2);
    expect(seen).toEqual(['b', 'a', 'a', 'c']);
  });
});
