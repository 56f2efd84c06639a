/**
 * Route selection as API Gateway documents its selection expressions ("WebSocket selection
 * expressions" in the developer guide): a variable starts with `$` (`$request.body.action`), braces
 * mark its bounds (`${request.body.action}`), several variables may be mixed with literal text
 * (`${request.body.service}-${request.body.action}`) and are evaluated once, and `\$` is a literal
 * dollar sign. For a message, only `request.body.<path>` variables have a value: the body is parsed
 * as JSON and the dotted path walked through objects.
 *
 * The evaluated key picks the custom route with that key; everything else goes to `$default`: a
 * body that is not JSON, a variable whose field is missing or is not a string (AWS does not
 * document those cases; `$default` is the safe reading, and what the default expression is
 * documented to do when `action` is absent), a variable other than `request.body.*`, an unknown
 * key, or a key naming a reserved `$` route. Without braces a variable's path is dotted words
 * (`[A-Za-z0-9_]`); braces are the way to bound it before a `-` or other text.
 */
export const DEFAULT_ROUTE = '$default';

export const DEFAULT_SELECTION_EXPRESSION = '$request.body.action';

type Part =
  | { readonly literal: string }
  | { readonly bodyPath: readonly string[] }
  | { readonly other: string };

/** A parsed selection expression; parse once per API, evaluate per message. */
export interface SelectionExpression {
  readonly source: string;
  readonly parts: readonly Part[];
  /** True when some variable reads the message body (so the body must be JSON). */
  readonly readsBody: boolean;
}

const VARIABLE_NAME = /^[A-Za-z_]\w*(?:\.\w+)*/;

export function parseSelectionExpression(source: string): SelectionExpression {
  const parts: Part[] = [];
  let literal = '';
  const variable = (name: string) => {
    if (literal) parts.push({ literal });
    literal = '';
    const bodyPath = /^request\.body\.(.+)$/.exec(name)?.[1];
    parts.push(bodyPath !== undefined ? { bodyPath: bodyPath.split('.') } : { other: name });
  };
  for (let i = 0; i < source.length; i++) {
    const char = source[i] as string;
    if (char === '\\' && source[i + 1] === '$') {
      literal += '$';
      i++;
    } else if (char === '$' && source[i + 1] === '{') {
      const end = source.indexOf('}', i + 2);
      if (end === -1) {
        literal += source.slice(i);
        break;
      }
      variable(source.slice(i + 2, end));
      i = end;
    } else if (char === '$') {
      const name = VARIABLE_NAME.exec(source.slice(i + 1))?.[0];
      if (name === undefined) {
        literal += char;
        continue;
      }
      variable(name);
      i += name.length;
    } else {
      literal += char;
    }
  }
  if (literal) parts.push({ literal });
  return { source, parts, readsBody: parts.some((part) => 'bodyPath' in part) };
}

function fieldAt(document: unknown, path: readonly string[]): string | undefined {
  let value = document;
  for (const field of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = Object.hasOwn(value, field) ? (value as Record<string, unknown>)[field] : undefined;
  }
  return typeof value === 'string' ? value : undefined;
}

/**
 * The key the expression yields for a message body, or undefined when a variable has no value.
 * `variables` gives values to variables other than `request.body.*` (e.g.
 * `integration.response.statuscode` in an integration response's template selection).
 */
export function evaluateSelectionExpression(
  expression: SelectionExpression,
  body: string,
  variables: Readonly<Record<string, string>> = {},
): string | undefined {
  let document: unknown;
  if (expression.readsBody) {
    try {
      document = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  let key = '';
  for (const part of expression.parts) {
    if ('literal' in part) key += part.literal;
    else if ('bodyPath' in part) {
      const value = fieldAt(document, part.bodyPath);
      if (value === undefined) return undefined;
      key += value;
    } else {
      // A variable that has no value for a message (e.g. $context.*) unless the caller gives one.
      const value = Object.hasOwn(variables, part.other) ? variables[part.other] : undefined;
      if (value === undefined) return undefined;
      key += value;
    }
  }
  return key;
}

/**
 * The route key for one text message, given the custom route keys that exist and the API's route
 * selection expression.
 */
export function selectRoute(
  body: string,
  routeKeys: ReadonlySet<string>,
  expression: string | SelectionExpression = DEFAULT_SELECTION_EXPRESSION,
): string {
  const parsed = typeof expression === 'string' ? parseSelectionExpression(expression) : expression;
  const key = evaluateSelectionExpression(parsed, body);
  if (key === undefined || key.startsWith('$')) return DEFAULT_ROUTE;
  return routeKeys.has(key) ? key : DEFAULT_ROUTE;
}
