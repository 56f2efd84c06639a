/**
 * Route selection with the expression `$request.body.action`, as API Gateway evaluates it: the
 * body is parsed as JSON; if it is an object whose `action` is a string equal to a configured
 * custom route key, that route is chosen. Anything else (not JSON, not an object, no `action`,
 * a non-string `action`, an unknown action, or one naming a reserved `$` route) goes to
 * `$default`.
 */
export const DEFAULT_ROUTE = '$default';

export const DEFAULT_SELECTION_EXPRESSION = '$request.body.action';

/**
 * The route key for one text message, given the custom route keys that exist and the API's route
 * selection expression: `$request.body.<path>` (dotted, e.g. `$request.body.message.type`) selects
 * by a JSON field; any other expression is a constant key.
 */
export function selectRoute(
  body: string,
  routeKeys: ReadonlySet<string>,
  expression: string = DEFAULT_SELECTION_EXPRESSION,
): string {
  const fieldPath = /^\$request\.body\.(.+)$/.exec(expression)?.[1];
  if (fieldPath === undefined) return routeKeys.has(expression) ? expression : DEFAULT_ROUTE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return DEFAULT_ROUTE;
  }
  let value: unknown = parsed;
  for (const field of fieldPath.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return DEFAULT_ROUTE;
    value = Object.hasOwn(value, field) ? (value as Record<string, unknown>)[field] : undefined;
  }
  if (typeof value !== 'string' || value.startsWith('$')) return DEFAULT_ROUTE;
  return routeKeys.has(value) ? value : DEFAULT_ROUTE;
}
