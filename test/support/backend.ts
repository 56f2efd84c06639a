/**
 * The whole backend in one test process: the real route handlers over the real DynamoDB
 * adapters (dynalite), the real ApiGatewayManagementApiClient posting to the local @connections
 * server, real HS256 JWTs, and a manual clock. Events come from the local stack's builders, so
 * they carry exactly the fields API Gateway sends for each event type.
 */
import { SignJWT } from 'jose';
import { putTestDefinition } from '../../lambdas/adapters/dynamodb/test-catalog';
import { ManualClock } from '../../lambdas/adapters/memory';
import { buildRuntime, type Runtime } from '../../lambdas/composition';
import { loadConfig } from '../../lambdas/config';
import type { CoreDeps } from '../../lambdas/core/deps';
import type { TestDefinition } from '../../lambdas/core/ports';
import { routeHandlers } from '../../lambdas/handlers/route-handlers';
import { ROUTES } from '../../lambdas/routes';
import {
  type ConnectionFacts,
  connectEvent,
  disconnectEvent,
  messageEvent,
  newConnectionId,
  scheduledEvent,
} from '../../local/events';
import { routeResponseMessage } from '../../local/gateway/route-response';
import {
  createRecordingPool,
  type RecordingPool,
  startManagementApiServer,
} from '../../local/management-api';
import { selectRoute } from '../../local/router';
import type { ServerFrame } from '../../protocol';
import { type LocalDynamo, startDynalite } from './dynalite';

export const TEST_SECRET = 'test-secret-with-enough-length';

export const QUIZ: TestDefinition = {
  test_id: 'quiz-1',
  title: 'Quiz one',
  duration_seconds: 300,
  questions: [
    { question_id: 'q1', text: 'One?', options: ['a', 'b', 'c'], correct_option: 'a' },
    { question_id: 'q2', text: 'Two?', options: ['a', 'b', 'c'], correct_option: 'b' },
    { question_id: 'q3', text: 'Three?', options: ['a', 'b', 'c'], correct_option: 'c' },
  ],
};

const ROUTE_KEYS = new Set(ROUTES.map((r) => r.routeKey).filter((k) => !k.startsWith('$')));
const TWO_WAY = new Set<string>(ROUTES.filter((r) => r.twoWay).map((r) => r.routeKey));

export interface BackendOptions {
  env?: Record<string, string>;
  overrides?: Partial<CoreDeps>;
  tests?: TestDefinition[];
}

export class Backend {
  readonly clock = new ManualClock(Date.now());
  runtime!: Runtime;
  handlers!: ReturnType<typeof routeHandlers>;
  dynamo!: LocalDynamo;
  pool: RecordingPool = createRecordingPool();
  /** Indexes in `pool.sent` of the frames that left as a two-way route's response, not a post. */
  readonly routeResponses = new Set<number>();
  private management!: Awaited<ReturnType<typeof startManagementApiServer>>;

  static async start(options: BackendOptions = {}): Promise<Backend> {
    const backend = new Backend();
    await backend.init(options);
    return backend;
  }

  private async init(options: BackendOptions): Promise<void> {
    this.dynamo = await startDynalite();
    this.management = await startManagementApiServer({ pool: this.pool, stage: 'test' });
    const config = loadConfig({
      CONNECTIONS_TABLE: this.dynamo.tables.connections,
      ASSESSMENTS_TABLE: this.dynamo.tables.assessments,
      TESTS_TABLE: this.dynamo.tables.tests,
      CALLBACK_URL: this.management.endpoint,
      JWT_SECRET: TEST_SECRET,
      DYNAMODB_ENDPOINT: this.dynamo.endpoint,
      ...options.env,
    });
    this.runtime = buildRuntime(config, {
      doc: this.dynamo.doc,
      overrides: { clock: this.clock, ...options.overrides },
    });
    this.handlers = routeHandlers(() => this.runtime);
    for (const test of options.tests ?? [QUIZ]) {
      await putTestDefinition(this.dynamo.doc, this.dynamo.tables.tests, test);
    }
    this.dynamo.counter.reset();
  }

  get callbackUrl(): string {
    return this.management.endpoint;
  }

  async stop(): Promise<void> {
    await this.management.close();
    await this.dynamo.stop();
  }

  async token(userId: string, options: { expiresInSeconds?: number; claims?: Record<string, unknown> } = {}) {
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ ...options.claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + (options.expiresInSeconds ?? 3600))
      .sign(new TextEncoder().encode(TEST_SECRET));
  }

  /** Opens a connection through $connect; the connection is live in the @connections pool. */
  async connect(query = '', headers: Record<string, string> = {}): Promise<TestConnection> {
    const facts: ConnectionFacts = {
      connectionId: newConnectionId(),
      connectedAt: this.clock.now(),
      sourceIp: '127.0.0.1',
      domainName: 'localhost',
      stage: 'test',
      apiId: 'local',
    };
    const rawHeaders = Object.entries({ Host: 'localhost', ...headers }).flat();
    const result = await this.handlers.connect(
      connectEvent(facts, { rawHeaders, url: `/test${query}` }, this.clock.now()),
    );
    const status = typeof result === 'object' && result.statusCode ? result.statusCode : 200;
    if (status === 200) this.pool.add(facts.connectionId);
    return new TestConnection(this, facts, status);
  }
}

export class TestConnection {
  private read = 0;

  constructor(
    private readonly backend: Backend,
    readonly facts: ConnectionFacts,
    readonly connectStatus: number,
  ) {}

  get id(): string {
    return this.facts.connectionId;
  }

  /** Sends a raw frame through route selection, as API Gateway would. */
  async sendRaw(body: string): Promise<void> {
    const route = selectRoute(body, ROUTE_KEYS);
    const event = messageEvent(this.facts, route, body, this.backend.clock.now());
    const { handlers } = this.backend;
    const result =
      route === 'auth'
        ? await handlers.auth(event)
        : route === 'message'
          ? await handlers.message(event)
          : await handlers.unrouted(event);
    // A two-way route's answer reaches the client as one message, after what was posted, exactly as
    // the local gateway sends it (an empty message for a result without a body fails loudly here).
    const answer = TWO_WAY.has(route) ? routeResponseMessage(result) : undefined;
    if (answer !== undefined) {
      const index = this.backend.pool.sent.length;
      if (this.backend.pool.send(this.id, Buffer.from(answer))) this.backend.routeResponses.add(index);
    }
  }

  send(frame: object): Promise<void> {
    return this.sendRaw(JSON.stringify(frame));
  }

  async auth(token: string, extra: object = {}): Promise<ServerFrame[]> {
    await this.send({ action: 'auth', token, ...extra });
    return this.take();
  }

  async message(type: string, fields: object = {}): Promise<ServerFrame[]> {
    await this.send({ action: 'message', type, ...fields });
    return this.take();
  }

  /** Every frame the server posted to this connection so far. */
  all(): ServerFrame[] {
    return this.backend.pool.framesFor(this.id) as ServerFrame[];
  }

  /** The frames posted since the last take(). */
  take(): ServerFrame[] {
    const frames = this.all().slice(this.read);
    this.read += frames.length;
    return frames;
  }

  get closed(): boolean {
    return this.backend.pool.closed.includes(this.id);
  }

  /** The socket goes away; API Gateway runs $disconnect (possibly much later). */
  drop(): void {
    this.backend.pool.remove(this.id);
  }

  async disconnect(): Promise<void> {
    this.drop();
    await this.backend.handlers.disconnect(
      disconnectEvent(this.facts, { statusCode: 1006, reason: 'Going away' }, this.backend.clock.now()),
    );
  }
}

export function sweepEvent(nowMs: number) {
  return scheduledEvent('sweep', 'us-east-1', nowMs);
}
