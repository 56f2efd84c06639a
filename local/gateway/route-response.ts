/**
 * What a two-way route sends back for an integration's result. A Lambda proxy result's `body` is
 * the message (a string as is, anything else as JSON). A proxy result with a `statusCode` and no
 * `body` still answers, with an empty message: so a public report says of API Gateway (Serverless
 * Framework issue 6816), which nothing found contradicts; unverified here. A result that is not a
 * proxy result (a bare string or object) is sent whole.
 */
export function routeResponseMessage(result: unknown): string | undefined {
  if (result === undefined || result === null) return undefined;
  if (typeof result !== 'object') return typeof result === 'string' ? result : JSON.stringify(result);
  if ('body' in result) {
    const { body } = result as { body?: unknown };
    if (body === undefined || body === null) return '';
    return typeof body === 'string' ? body : JSON.stringify(body);
  }
  if (typeof (result as { statusCode?: unknown }).statusCode === 'number') return '';
  return JSON.stringify(result);
}
