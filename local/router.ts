/**
 * Route selection with the expression `$request.body.action`, as API Gateway evaluates it: the
 * body is parsed as JSON; if it is an object whose `action` is a string equal to a configured
 * custom route key, that route is chosen. Anything else (not JSON, not an object, no `action`,
 * a non-string `action`, an unknown action, or one naming a reserved `$` route) goes to
 * `$default`.
 */
export const DEFAULT_ROUTE = '$default';

/** The route key for one text message, given the custom route keys that exist. */
export function selectRoute(body: string, routeKeys: ReadonlySet<string>): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return DEFAULT_ROUTE;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return DEFAULT_ROUTE;
  const action = (parsed as Record<string, unknown>).action;
  if (typeof action !== 'string' || action.startsWith('$')) return DEFAULT_ROUTE;
  return routeKeys.has(action) ? action : DEFAULT_ROUTE;
}
