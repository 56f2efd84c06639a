/**
 * HTTP_PROXY integrations (local/gateway/http-integration.ts): where each RequestParameters source
 * takes its value from, and what the integration does when the backend cannot be reached.
 */
import type { WebSocketEvent } from '../../local/events';
import {
  HttpIntegrationError,
  parameterSource,
  runHttpProxyIntegration,
} from '../../local/gateway/http-integration';

const event = {
  requestContext: {
    routeKey: '$connect',
    eventType: 'CONNECT',
    connectionId: 'abc=',
    connectedAt: 1,
    authorizer: { principalId: 'ada', tier: 3 },
  },
  headers: { 'X-Team': 'blue' },
  queryStringParameters: { room: 'r1' },
  body: '{"a":{"b":"deep","n":2,"o":{"k":1}}}',
  isBase64Encoded: false,
} as unknown as WebSocketEvent;

describe('RequestParameters sources', () => {
  it.each([
    ["'literal text'", 'literal text'],
    ['context.connectionId', 'abc='],
    ['context.connectedAt', '1'],
    ['context.authorizer.principalId', 'ada'],
    ['context.authorizer.tier', '3'],
    ['route.request.header.x-team', 'blue'],
    ['route.request.querystring.room', 'r1'],
    ['route.request.body.a.b', 'deep'],
    ['route.request.body.a.n', '2'],
    ['route.request.body.a.o', '{"k":1}'],
  ])('%s is %s', (source, value) => {
    expect(parameterSource(source, event)).toBe(value);
  });

  it.each([
    'context.nothing',
    'context.authorizer.missing',
    'route.request.header.absent',
    'route.request.querystring.none',
    'route.request.body.a.missing',
    'stageVariables.x',
  ])('%s has no value', (source) => {
    expect(parameterSource(source, event)).toBeUndefined();
  });
});

it('fails the integration when the backend cannot be reached', async () => {
  await expect(
    runHttpProxyIntegration(
      {
        logicalId: 'I',
        uri: 'http://127.0.0.1:9/nothing',
        method: 'POST',
        requestParameters: {},
        timeoutMs: 2000,
      },
      event,
    ),
  ).rejects.toBeInstanceOf(HttpIntegrationError);
});
