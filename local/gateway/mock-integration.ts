/**
 * A MOCK integration answered by the gateway itself, as API Gateway runs one for a WebSocket route
 * (CDK `WebSocketMockIntegration` plus `AWS::ApiGatewayV2::IntegrationResponse`):
 *
 * 1. The integration's `TemplateSelectionExpression` picks a request template (its key, else the
 *    `$default` one). With none, the body passes through as is unless `PassthroughBehavior` is
 *    `NEVER` (or `WHEN_NO_TEMPLATES` while templates exist).
 * 2. The template is rendered (Velocity, with `$input`, `$context`, `$util`, `$stageVariables`);
 *    its output must be JSON with an integer `statusCode`, else the integration fails.
 * 3. That status code picks the integration response: the first whose key `/regex/` matches it,
 *    else the `$default` one; with neither, the integration fails ("no match for output mapping").
 * 4. The response's `TemplateSelectionExpression` (`${request.body.*}`,
 *    `${integration.response.statuscode}` or a constant) picks a response template (its key, else
 *    `$default`), rendered with `$input` = the mock's output (the rendered request template: what
 *    published samples rely on to carry request fields into the reply). With no template the
 *    output itself is the reply.
 *
 * The result is a Lambda-proxy-like `{ statusCode, body }`, so the gateway treats it as any route
 * result: `body` goes back to the caller only when the route has a route response, a failure is
 * `Internal server error`, and on `$connect` the status code accepts or refuses the upgrade.
 */
import velocity from 'velocityjs';
import type { WebSocketEvent } from '../events';
import { evaluateSelectionExpression, parseSelectionExpression } from '../router';

export interface IntegrationResponseSpec {
  readonly logicalId: string;
  /** `$default` or `/regex/` matched against the status code. */
  readonly key: string;
  readonly templateSelectionExpression?: string;
  readonly responseTemplates: Readonly<Record<string, string>>;
}

export interface MockIntegrationSpec {
  readonly logicalId: string;
  readonly templateSelectionExpression?: string;
  readonly requestTemplates: Readonly<Record<string, string>>;
  /** WHEN_NO_MATCH (API Gateway's default), WHEN_NO_TEMPLATES or NEVER. */
  readonly passthroughBehavior?: string;
  readonly responses: readonly IntegrationResponseSpec[];
}

export interface MockResult {
  readonly statusCode: number;
  /** What a route response sends back. */
  readonly body: string;
}

export class MockIntegrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MockIntegrationError';
  }
}

/** `$`, `$.a.b`, `$.a[0]`, `$['a b']`: the JSONPath forms mapping templates use. */
export function jsonPathValue(document: unknown, path: string): unknown {
  const trimmed = path.trim();
  if (!trimmed.startsWith('$')) return undefined;
  const steps: (string | number)[] = [];
  const pattern = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/gy;
  pattern.lastIndex = 1;
  while (pattern.lastIndex < trimmed.length) {
    const match = pattern.exec(trimmed);
    if (!match) return undefined;
    if (match[2] !== undefined) steps.push(Number(match[2]));
    else steps.push((match[1] ?? match[3] ?? match[4]) as string);
  }
  let value = document;
  for (const step of steps) {
    if (typeof value !== 'object' || value === null) return undefined;
    if (typeof step === 'number') {
      if (!Array.isArray(value)) return undefined;
      value = value[step];
    } else {
      if (Array.isArray(value) || !Object.hasOwn(value, step)) return undefined;
      value = (value as Record<string, unknown>)[step];
    }
  }
  return value;
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function inputOf(body: string, event: WebSocketEvent) {
  const document = parseOrUndefined(body);
  // Only $connect carries headers and a query string; messages have neither.
  const header = event.headers ?? {};
  const querystring = event.queryStringParameters ?? {};
  return {
    body,
    json: (path: string) => JSON.stringify(jsonPathValue(document, path) ?? null),
    path: (path: string) => jsonPathValue(document, path),
    // `$input.params()` is every parameter by kind; `$input.params('x')` looks in path, query, header.
    params: (name?: string) => {
      if (name === undefined) return { path: {}, querystring, header };
      const headerKey = Object.keys(header).find((key) => key.toLowerCase() === name.toLowerCase());
      return querystring[name] ?? (headerKey !== undefined ? header[headerKey] : undefined) ?? '';
    },
  };
}

const util = {
  escapeJavaScript: (value: unknown) => JSON.stringify(String(value ?? '')).slice(1, -1),
  parseJson: (value: string) => parseOrUndefined(value),
  urlEncode: (value: string) => encodeURIComponent(value),
  urlDecode: (value: string) => decodeURIComponent(value),
  base64Encode: (value: string) => Buffer.from(String(value), 'utf8').toString('base64'),
  base64Decode: (value: string) => Buffer.from(String(value), 'base64').toString('utf8'),
};

/** `$context` as the WebSocket mapping template reference lists it; authorizer values stringified. */
function contextOf(event: WebSocketEvent): Record<string, unknown> {
  const rc = event.requestContext;
  const authorizer: Record<string, string> = {};
  for (const [key, value] of Object.entries(rc.authorizer ?? {})) {
    authorizer[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { ...rc, identity: { ...rc.identity }, authorizer };
}

function render(template: string, event: WebSocketEvent, inputBody: string): string {
  try {
    return velocity.render(template, {
      input: inputOf(inputBody, event),
      context: contextOf(event),
      util,
      stageVariables: {},
    });
  } catch (error) {
    throw new MockIntegrationError(
      `mapping template failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function pickTemplate(
  templates: Readonly<Record<string, string>>,
  expression: string | undefined,
  body: string,
  variables: Readonly<Record<string, string>> = {},
): string | undefined {
  if (expression !== undefined && expression !== '') {
    const key = evaluateSelectionExpression(parseSelectionExpression(expression), body, variables);
    // Own keys only: a body selecting `constructor` must not find Object.prototype's.
    if (key !== undefined && Object.hasOwn(templates, key)) return templates[key];
  }
  return Object.hasOwn(templates, '$default') ? templates.$default : undefined;
}

function responseFor(spec: MockIntegrationSpec, statusCode: number): IntegrationResponseSpec | undefined {
  const status = String(statusCode);
  for (const response of spec.responses) {
    const pattern = /^\/(.*)\/$/s.exec(response.key)?.[1];
    if (pattern === undefined) continue;
    try {
      if (new RegExp(`^(?:${pattern})$`).test(status)) return response;
    } catch {
      // An invalid pattern matches nothing (API Gateway would have refused it at deploy).
    }
  }
  return spec.responses.find((response) => response.key === '$default');
}

/** Runs the mock for one event; throws MockIntegrationError where API Gateway fails the integration. */
export function runMockIntegration(spec: MockIntegrationSpec, event: WebSocketEvent): MockResult {
  const requestBody = event.body ?? '';
  const templates = spec.requestTemplates;
  const hasTemplates = Object.keys(templates).length > 0;
  const template = pickTemplate(templates, spec.templateSelectionExpression, requestBody);
  let output: string;
  if (template !== undefined) output = render(template, event, requestBody);
  else {
    const passthrough = spec.passthroughBehavior ?? 'WHEN_NO_MATCH';
    if (passthrough === 'NEVER' || (passthrough === 'WHEN_NO_TEMPLATES' && hasTemplates)) {
      throw new MockIntegrationError(`no request template matches and PassthroughBehavior is ${passthrough}`);
    }
    output = requestBody;
  }
  const statusCode = (parseOrUndefined(output) as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode)) {
    throw new MockIntegrationError('statusCode should be an integer which defined in request template');
  }
  const response = responseFor(spec, statusCode);
  if (!response) {
    throw new MockIntegrationError(
      `no match for output mapping and no default output mapping configured (status ${statusCode})`,
    );
  }
  const responseTemplate = pickTemplate(
    response.responseTemplates,
    response.templateSelectionExpression,
    requestBody,
    { 'integration.response.statuscode': String(statusCode) },
  );
  return {
    statusCode,
    body: responseTemplate !== undefined ? render(responseTemplate, event, output) : output,
  };
}
