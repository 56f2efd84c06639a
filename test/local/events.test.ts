import {
  type ConnectionFacts,
  connectEvent,
  disconnectEvent,
  formatRequestTime,
  messageEvent,
  newConnectionId,
  scheduledEvent,
} from '../../local/events';
import { selectRoute } from '../../local/router';

const facts: ConnectionFacts = {
  connectionId: 'K3mBdf1ZoAMCJzQ=',
  connectedAt: Date.UTC(2026, 10, 26, 5, 39, 59, 123),
  sourceIp: '10.1.2.3',
  userAgent: 'jest/1',
  domainName: 'localhost:3001',
  stage: 'local',
  apiId: 'localwsapi',
};
const NOW = Date.UTC(2026, 10, 26, 5, 40, 0, 456);
const rawHeaders = ['Host', 'localhost:3001', 'Origin', 'http://a.test', 'X-Multi', 'one', 'x-multi', 'two'];

const connect = () => connectEvent(facts, { rawHeaders, url: '/local?test_id=demo&tag=a&tag=b' }, NOW);
const message = () => messageEvent(facts, 'auth', '{"action":"auth"}', NOW);
const disconnect = () => disconnectEvent(facts, { statusCode: 1001, reason: 'Going away' }, NOW);

describe('Lambda events, one rule per test', () => {
  it.each([
    ['CONNECT', connect, '$connect'],
    ['MESSAGE', message, 'auth'],
    ['DISCONNECT', disconnect, '$disconnect'],
  ] as const)('%s has the requestContext fields every event has', (eventType, build, routeKey) => {
    const event = build();
    expect(event.requestContext).toEqual(
      expect.objectContaining({
        routeKey,
        eventType,
        extendedRequestId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
        requestTime: '26/Nov/2026:05:40:00 +0000',
        messageDirection: 'IN',
        stage: 'local',
        connectedAt: facts.connectedAt,
        requestTimeEpoch: NOW,
        identity: { sourceIp: '10.1.2.3', userAgent: 'jest/1' },
        requestId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
        domainName: 'localhost:3001',
        connectionId: 'K3mBdf1ZoAMCJzQ=',
        apiId: 'localwsapi',
      }),
    );
    expect(event.isBase64Encoded).toBe(false);
  });

  it('identity has no userAgent when the client sent none', () => {
    const { userAgent: _omit, ...noAgent } = facts;
    expect(connectEvent(noAgent, { rawHeaders: [], url: '/local' }, NOW).requestContext.identity).toEqual({
      sourceIp: '10.1.2.3',
    });
  });

  it('messageId is only on MESSAGE', () => {
    expect(message().requestContext.messageId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(connect().requestContext).not.toHaveProperty('messageId');
    expect(disconnect().requestContext).not.toHaveProperty('messageId');
  });

  it('disconnectStatusCode and disconnectReason are only on DISCONNECT', () => {
    expect(disconnect().requestContext).toEqual(
      expect.objectContaining({ disconnectStatusCode: 1001, disconnectReason: 'Going away' }),
    );
    for (const event of [connect(), message()]) {
      expect(event.requestContext).not.toHaveProperty('disconnectStatusCode');
      expect(event.requestContext).not.toHaveProperty('disconnectReason');
    }
  });

  it('headers keep their original case and only CONNECT has them (repeats in multiValueHeaders)', () => {
    const event = connect();
    expect(event.headers).toEqual({ Host: 'localhost:3001', Origin: 'http://a.test', 'X-Multi': 'two' });
    expect(event.multiValueHeaders).toEqual({
      Host: ['localhost:3001'],
      Origin: ['http://a.test'],
      'X-Multi': ['one', 'two'],
    });
    for (const event of [message(), disconnect()]) {
      expect(event).not.toHaveProperty('headers');
      expect(event).not.toHaveProperty('multiValueHeaders');
    }
  });

  it('queryStringParameters (decoded, last value wins) and the multi-value form are only on CONNECT', () => {
    const event = connectEvent(facts, { rawHeaders, url: '/local?test_id=demo&tag=a&tag=b%20c' }, NOW);
    expect(event.queryStringParameters).toEqual({ test_id: 'demo', tag: 'b c' });
    expect(event.multiValueQueryStringParameters).toEqual({ test_id: ['demo'], tag: ['a', 'b c'] });
    for (const other of [message(), disconnect()]) {
      expect(other).not.toHaveProperty('queryStringParameters');
      expect(other).not.toHaveProperty('multiValueQueryStringParameters');
    }
  });

  it.each(['/local', '/local?', '/local/'])(
    'queryStringParameters is absent when the URL %s has no query',
    (url) => {
      const event = connectEvent(facts, { rawHeaders, url }, NOW);
      expect(event).not.toHaveProperty('queryStringParameters');
      expect(event).not.toHaveProperty('multiValueQueryStringParameters');
    },
  );

  it('body is only on MESSAGE, verbatim', () => {
    expect(messageEvent(facts, '$default', 'not json {', NOW).body).toBe('not json {');
    expect(connect()).not.toHaveProperty('body');
    expect(disconnect()).not.toHaveProperty('body');
  });

  it('every event gets a fresh requestId, equal to its extendedRequestId', () => {
    const a = message().requestContext;
    const b = message().requestContext;
    expect(a.requestId).not.toBe(b.requestId);
    expect(a.extendedRequestId).toBe(a.requestId);
  });

  it('requestTime is UTC in the dd/Mon/yyyy:HH:mm:ss +0000 format', () => {
    expect(formatRequestTime(Date.UTC(2026, 0, 5, 7, 8, 9))).toBe('05/Jan/2026:07:08:09 +0000');
    expect(formatRequestTime(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('31/Dec/2026:23:59:59 +0000');
  });

  it('connection ids are 16 base64 characters ending with "=" and random', () => {
    const ids = new Set(Array.from({ length: 200 }, newConnectionId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  });

  it('the scheduled event is shaped like EventBridge', () => {
    expect(scheduledEvent('local-sweep', 'eu-west-1', Date.UTC(2026, 10, 26, 5, 40, 0, 900))).toEqual({
      version: '0',
      id: expect.any(String),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2026-11-26T05:40:00Z',
      region: 'eu-west-1',
      resources: ['arn:aws:events:eu-west-1:000000000000:rule/local-sweep'],
      detail: {},
    });
  });
});

describe('route selection on $request.body.action', () => {
  const keys = new Set(['auth', 'message']);
  it.each([
    ['{"action":"auth","token":"x"}', 'auth'],
    ['{"action":"message"}', 'message'],
    ['{"action":"nope"}', '$default'],
    ['{"action":5}', '$default'],
    ['{"action":null}', '$default'],
    ['{"type":"heartbeat"}', '$default'],
    ['["auth"]', '$default'],
    ['"auth"', '$default'],
    ['not json', '$default'],
    ['', '$default'],
    ['{"action":"$connect"}', '$default'],
    ['{"action":"$disconnect"}', '$default'],
    ['{"action":"AUTH"}', '$default'],
  ])('%s -> %s', (body, route) => {
    expect(selectRoute(body, keys)).toBe(route);
  });
});
