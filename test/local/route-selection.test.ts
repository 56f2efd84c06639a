/**
 * Route selection expressions as the API Gateway developer guide describes them ("WebSocket
 * selection expressions"): `$` variables, braces bounding a variable, several variables with
 * literal text, `\$` escapes. Anything that yields no key, or an unknown one, selects `$default`.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expressions under test are API Gateway's, not templates.
import { evaluateSelectionExpression, parseSelectionExpression, selectRoute } from '../../local/router';

describe('selectRoute with the documented expression forms', () => {
  const keys = new Set(['join', 'chat-send', 'chat-leave', 'v2-beta', '$literal', 'cost$', 'send']);
  it.each([
    // the default, plain and braced
    ['$request.body.action', '{"action":"join"}', 'join'],
    ['${request.body.action}', '{"action":"join"}', 'join'],
    ['${request.body.action}', '{"action":"nope"}', '$default'],
    // a dotted path, braced
    ['${request.body.meta.kind}', '{"meta":{"kind":"join"}}', 'join'],
    // several variables with literal text between them
    ['${request.body.service}-${request.body.action}', '{"service":"chat","action":"send"}', 'chat-send'],
    ['${request.body.service}-${request.body.action}', '{"service":"chat","action":"leave"}', 'chat-leave'],
    ['$request.body.service-$request.body.action', '{"service":"chat","action":"send"}', 'chat-send'],
    // literal text after a braced variable
    ['${request.body.version}-beta', '{"version":"v2"}', 'v2-beta'],
    // one variable of several missing: no key
    ['${request.body.service}-${request.body.action}', '{"action":"send"}', '$default'],
    // \$ is a literal dollar sign (and a key naming a reserved route still goes to $default)
    ['\\$literal', '{}', '$default'],
    // a `$` that starts no variable is literal text too
    ['${request.body.item}$', '{"item":"cost"}', 'cost$'],
    ['${request.body.item}\\$', '{"item":"cost"}', 'cost$'],
    // constant expressions select their own key when it exists
    ['send', 'not json', 'send'],
    ['\\$default', '{"action":"join"}', '$default'],
    // not JSON, missing, or not a string
    ['${request.body.action}', 'not json', '$default'],
    ['${request.body.action}', '{}', '$default'],
    ['${request.body.action}', '{"action":{"name":"join"}}', '$default'],
    ['${request.body.action}', '{"action":true}', '$default'],
    ['${request.body.action}', '["join"]', '$default'],
    // variables other than the body have no value for a message
    ['${context.routeKey}', '{"action":"join"}', '$default'],
  ])('%s on %s selects %s', (expression, body, expected) => {
    expect(selectRoute(body, keys, expression)).toBe(expected);
  });
});

describe('parseSelectionExpression', () => {
  it('splits variables and literal text once, and evaluates without re-reading the result', () => {
    const expression = parseSelectionExpression('${request.body.a}:\\$${request.body.b}');
    expect(expression.parts).toEqual([{ bodyPath: ['a'] }, { literal: ':$' }, { bodyPath: ['b'] }]);
    // A value that looks like a variable is not evaluated again.
    expect(evaluateSelectionExpression(expression, '{"a":"${request.body.b}","b":"x"}')).toBe(
      '${request.body.b}:$x',
    );
  });

  it('keeps an unclosed brace as literal text', () => {
    const expression = parseSelectionExpression('${request.body.action');
    expect(expression.readsBody).toBe(false);
    expect(evaluateSelectionExpression(expression, '{"action":"join"}')).toBe('${request.body.action');
  });

  it('ends an unbraced variable at the first character that is not a word character or dot', () => {
    expect(parseSelectionExpression('$request.body.kind/x').parts).toEqual([
      { bodyPath: ['kind'] },
      { literal: '/x' },
    ]);
  });
});
