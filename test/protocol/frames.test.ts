import fc from 'fast-check';
import {
  AUTH_ERROR_CODES,
  dataFrame,
  ERROR_CODES,
  errorFrame,
  isServerFrame,
  isValidTestId,
  isValidUserId,
  MAX_USER_ID_BYTES,
  MESSAGE_TYPES,
  type MessageClientFrame,
  SERVER_FRAME_TYPES,
  type ServerFrame,
} from '../../protocol';

const now = new Date('2026-01-01T00:00:00Z');

describe('frame builders', () => {
  it('build the envelope with request_id only when given', () => {
    expect(dataFrame('pong', { server_time: 'x' }, now)).toEqual({
      type: 'pong',
      data: { server_time: 'x' },
      timestamp: '2026-01-01T00:00:00.000Z',
    });
    expect(errorFrame('time_up', 'over', now, 'r1')).toEqual({
      type: 'error',
      error: { code: 'time_up', message: 'over' },
      request_id: 'r1',
      timestamp: '2026-01-01T00:00:00.000Z',
    });
  });

  it('refuse, at compile time, a frame type with another type payload', () => {
    // Each line below must be a type error; tsc fails on an unused @ts-expect-error.
    // @ts-expect-error a question needs a QuestionView
    dataFrame('question', { server_time: 'x' }, now);
    // @ts-expect-error not a frame type
    dataFrame('proctor_notice', {}, now);
    // @ts-expect-error not an error code
    errorFrame('nope', 'm', now);
    // @ts-expect-error submit_answer requires request_id and data
    const bad: MessageClientFrame = { action: 'message', type: 'submit_answer' };
    expect(bad.type).toBe('submit_answer');
  });

  it('narrows a server frame on its type', () => {
    const frame: ServerFrame = dataFrame('session_replaced', { connection_id: 'u_t' }, now);
    if (frame.type === 'session_replaced') expect(frame.data.connection_id).toBe('u_t');
    else throw new Error('did not narrow');
  });
});

describe('isServerFrame', () => {
  it('accepts the frames of this version and refuses unknown or malformed ones', () => {
    expect(isServerFrame(dataFrame('pong', { server_time: 'x' }, now))).toBe(true);
    expect(isServerFrame(errorFrame('rate_limited', 'slow', now))).toBe(true);
    expect(isServerFrame({ type: 'proctor_notice', data: {}, timestamp: 'x' })).toBe(false);
    expect(isServerFrame({ type: 'question', timestamp: 'x' })).toBe(false);
    expect(isServerFrame({ type: 'error', timestamp: 'x' })).toBe(false);
    expect(isServerFrame({ type: 'toString', data: {} })).toBe(false);
    expect(isServerFrame('pong')).toBe(false);
    expect(isServerFrame(null)).toBe(false);
  });

  it('lists every type once', () => {
    expect(new Set(SERVER_FRAME_TYPES).size).toBe(SERVER_FRAME_TYPES.length);
    expect(SERVER_FRAME_TYPES).toHaveLength(17);
    expect(MESSAGE_TYPES).toHaveLength(9);
    expect(ERROR_CODES).toHaveLength(18);
    expect(AUTH_ERROR_CODES).toHaveLength(6);
  });
});

describe('limits', () => {
  it('test ids: pattern, length, never general', () => {
    expect(isValidTestId('demo-1')).toBe(true);
    expect(isValidTestId('x'.repeat(64))).toBe(true);
    expect(isValidTestId('x'.repeat(65))).toBe(false);
    expect(isValidTestId('GeNeRaL')).toBe(false);
    expect(isValidTestId('a_b')).toBe(false);
    expect(isValidTestId('')).toBe(false);
  });

  it('user ids: well-formed Unicode and at most 256 UTF-8 bytes', () => {
    expect(isValidUserId('123')).toBe(true);
    expect(isValidUserId('')).toBe(false);
    expect(isValidUserId('a'.repeat(MAX_USER_ID_BYTES))).toBe(true);
    expect(isValidUserId('a'.repeat(MAX_USER_ID_BYTES + 1))).toBe(false);
    // 64 four-byte characters are exactly 256 bytes (128 UTF-16 units); one more is too many.
    expect(isValidUserId('😀'.repeat(64))).toBe(true);
    expect(isValidUserId(`${'😀'.repeat(64)}a`)).toBe(false);
    // 85 three-byte characters are 255 bytes; 86 are 258.
    expect(isValidUserId('€'.repeat(85))).toBe(true);
    expect(isValidUserId('€'.repeat(86))).toBe(false);
    expect(isValidUserId('a\uD800')).toBe(false);
    expect(isValidUserId('\uDC00a')).toBe(false);
    expect(isValidUserId('\uDE00\uD83D')).toBe(false);
  });

  it('user ids: agrees with an oracle built on Buffer and a surrogate regex', () => {
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    const oracle = (id: string) =>
      id.length > 0 && !loneSurrogate.test(id) && Buffer.byteLength(id, 'utf8') <= MAX_USER_ID_BYTES;
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (id) => isValidUserId(id) === oracle(id)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 200 }), (units) => {
        const id = String.fromCharCode(...units);
        return isValidUserId(id) === oracle(id);
      }),
      { numRuns: 2000 },
    );
  });
});
