import * as path from 'node:path';
import WS from 'ws';
import { AssessmentClient } from '../../client/index';
import { typeErrors } from '../support/typecheck';

describe('the SDK public types', () => {
  it('pass the type tests in compat.types.ts (every @ts-expect-error is an error, every Expect holds)', () => {
    expect(typeErrors([path.join(__dirname, 'compat.types.ts')], {}, ['node'])).toEqual([]);
  });

  it('fail them when an expectation is wrong', () => {
    const broken = path.join(__dirname, 'compat-broken.types.ts');
    const errors = typeErrors([], {
      [broken]: `
        import type { ClientEvents, QuestionView } from '../../client/index';
        // @ts-expect-error this line is not an error, so the directive itself is
        export const fine: number = 1;
        export const wrong: ClientEvents['question'][0] = {} as QuestionView['options'];
      `,
    });
    expect(errors).toHaveLength(2);
  });
});

describe('WebSocket implementations', () => {
  it('rejects a test id the protocol forbids', () => {
    const make = (testId: string) => () =>
      new AssessmentClient({ url: 'ws://x/local', testId, getToken: async () => 't', WebSocket: WS });
    expect(make('General')).toThrow(/invalid testId/);
    expect(make('a b')).toThrow(/invalid testId/);
    expect(make('x'.repeat(65))).toThrow(/invalid testId/);
    expect(make('demo-1')).not.toThrow();
  });

  it('accepts the ws package and starts closed', () => {
    const client = new AssessmentClient({
      url: 'ws://127.0.0.1:1/local',
      getToken: async () => 't',
      WebSocket: WS,
    });
    expect(client.state).toBe('closed');
  });
});
