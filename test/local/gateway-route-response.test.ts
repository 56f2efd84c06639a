/** What the local gateway sends back on a two-way route, by the integration's result. */
import { routeResponseMessage } from '../../local/gateway/route-response';

describe('two-way route response', () => {
  it.each<[string, unknown, string | undefined]>([
    ['a proxy result: its body', { statusCode: 200, body: '{"type":"pong"}' }, '{"type":"pong"}'],
    ['a body that is not a string: as JSON', { statusCode: 200, body: { a: 1 } }, '{"a":1}'],
    // API Gateway reportedly sends an empty message then: a client sees one, not silence.
    ['a proxy result without a body: an empty message', { statusCode: 200 }, ''],
    ['a body set to undefined (dropped by JSON): an empty message', { statusCode: 200, body: undefined }, ''],
    ['a bare string: as is', 'hello', 'hello'],
    ['an object that is no proxy result: whole, as JSON', { message: 'hi' }, '{"message":"hi"}'],
    ['nothing: nothing', undefined, undefined],
  ])('%s', (_name, result, expected) => {
    expect(routeResponseMessage(result)).toBe(expected);
  });
});
