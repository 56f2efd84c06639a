import WS from 'ws';
import { AssessmentClient, type WebSocketConstructor } from '../../client';

describe('WebSocket implementations', () => {
  it('accepts the DOM WebSocket type and the ws package without casts', () => {
    const domCtor: WebSocketConstructor | undefined = (globalThis as { WebSocket?: typeof WebSocket })
      .WebSocket;
    const wsCtor: WebSocketConstructor = WS;
    expect(typeof wsCtor).toBe('function');
    expect(domCtor === undefined || typeof domCtor === 'function').toBe(true);
    const client = new AssessmentClient({
      url: 'ws://127.0.0.1:1/local',
      getToken: async () => 't',
      WebSocket: WS,
    });
    expect(client.state).toBe('closed');
  });

  it('rejects a test id the protocol forbids', () => {
    const make = (testId: string) => () =>
      new AssessmentClient({ url: 'ws://x/local', testId, getToken: async () => 't', WebSocket: WS });
    expect(make('General')).toThrow(/invalid testId/);
    expect(make('a b')).toThrow(/invalid testId/);
    expect(make('x'.repeat(65))).toThrow(/invalid testId/);
    expect(make('demo-1')).not.toThrow();
  });
});
