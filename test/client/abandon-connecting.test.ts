/**
 * Regression: with the `ws` package, giving up on a socket that is still connecting (the
 * connect timed out) made `ws` emit 'error' with no listener left, which crashed the Node
 * process. Found by `npm run chaos` (1000 students, a stack restart in the middle).
 */

import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import WebSocket from 'ws';
import { AssessmentClient, type WebSocketConstructor } from '../../client/index';

let server: Server;
const sockets: Socket[] = [];
beforeAll(async () => {
  // Accepts TCP connections and never answers the upgrade: the socket stays CONNECTING.
  server = createServer((socket) => {
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('a connect that times out while the socket is still connecting does not crash the process', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  const { port } = server.address() as AddressInfo;
  const client = new AssessmentClient({
    url: `ws://127.0.0.1:${port}/local`,
    testId: 'demo',
    getToken: async () => 'token',
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    storage: null,
    requestTimeoutMs: 150,
    backoff: { baseMs: 50, capMs: 50 },
  });
  const connecting = client.connect();
  connecting.catch(() => {});
  // Each attempt times out while connecting and is abandoned; the client tries again.
  await new Promise((resolve) => setTimeout(resolve, 800));
  client.close();
  await expect(connecting).rejects.toMatchObject({ code: 'closed' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  process.off('uncaughtException', onUncaught);
  expect(uncaught).toEqual([]);
  expect(sockets.length).toBeGreaterThanOrEqual(2);
});
