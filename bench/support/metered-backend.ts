/**
 * The real route handlers (test/support/backend.ts: dynalite, the local @connections server, real
 * JWTs, a manual clock) with every invocation metered: DynamoDB requests and capacity units,
 * `@connections` posts and closes with their sizes, and the bytes the function logs (Powertools
 * logs and EMF metrics, switched on here as they are on AWS).
 */
import '../../test/support/env';
import type { TestDefinition } from '../../lambdas/core/ports';
import { Backend, type TestConnection } from '../../test/support/backend';
import { CapacityMeter } from './capacity';

export interface Invocation {
  route: string;
  /** The message type (message route), or a note on the path taken. */
  label: string;
  roundTrips: number;
  requests: number;
  operations: Record<string, number>;
  rcu: number;
  wcu: number;
  indexWcu: number;
  /** Read units spent on the tests table: amortized over a container's many users, not per student. */
  testCatalogRcu: number;
  /** Bytes of each frame posted to a client (`PostToConnection`). */
  posts: number[];
  /** Bytes of the frame the route answered with (a two-way route's response: no `@connections` call). */
  routeResponse?: number;
  closes: number;
  /** Bytes of the client's frame (0 for $connect / $disconnect). */
  inboundBytes: number;
  logBytes: number;
  logLines: number;
  /** The size of the student's assessment item after this invocation, when it touched it. */
  assessmentBytes?: number;
}

function routeResponseOf(
  sent: readonly { data: string }[],
  from: number,
  answered: ReadonlySet<number>,
): { routeResponse?: number } {
  const index = sent.findIndex((_, i) => i >= from && answered.has(i));
  const entry = index >= 0 ? sent[index] : undefined;
  return entry ? { routeResponse: Buffer.byteLength(entry.data) } : {};
}

/** Counts (and swallows) what the handlers print: on Lambda that is what CloudWatch Logs ingests. */
class OutputMeter {
  bytes = 0;
  lines = 0;
  private readonly streams = [process.stdout, process.stderr];
  private readonly originals = this.streams.map((stream) => stream.write.bind(stream));

  start(): void {
    for (const stream of this.streams) {
      stream.write = ((chunk: string | Uint8Array) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        this.bytes += Buffer.byteLength(text);
        this.lines += text.split('\n').length - 1;
        return true;
      }) as typeof stream.write;
    }
  }

  stop(): void {
    this.streams.forEach((stream, i) => {
      const original = this.originals[i];
      if (original) stream.write = original as typeof stream.write;
    });
  }
}

export class MeteredBackend {
  private readonly output = new OutputMeter();

  private constructor(
    readonly backend: Backend,
    readonly meter: CapacityMeter,
  ) {}

  static async start(tests: TestDefinition[]): Promise<MeteredBackend> {
    // Logs and metrics as on AWS, so their bytes can be counted (test/support/env silences them).
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const backend = await Backend.start({ tests, env: { DEPLOYMENT_NAME: 'bench' } });
    const meter = new CapacityMeter(backend.dynamo.endpoint, backend.dynamo.tables);
    meter.attach(backend.dynamo.client);
    const metered = new MeteredBackend(backend, meter);
    metered.output.start();
    return metered;
  }

  async stop(): Promise<void> {
    this.output.stop();
    this.meter.stop();
    await this.backend.stop();
  }

  get clock() {
    return this.backend.clock;
  }

  /** Runs one invocation and returns what it cost. */
  async measure<T>(
    route: string,
    label: string,
    inboundBytes: number,
    run: () => Promise<T>,
  ): Promise<{ result: T; invocation: Invocation }> {
    const pool = this.backend.pool;
    const sentBefore = pool.sent.length;
    const answered = this.backend.routeResponses;
    const closedBefore = pool.closed.length;
    const logBefore = this.output.bytes;
    const linesBefore = this.output.lines;
    this.meter.reset();
    const result = await run();
    const totals = this.meter.totals();
    const assessmentWrites = this.meter.requests.filter((r) => r.table === 'assessments');
    const testCatalogRcu = this.meter.requests
      .filter((r) => r.table === 'tests')
      .reduce((sum, r) => sum + r.rcu, 0);
    return {
      result,
      invocation: {
        route,
        label,
        roundTrips: totals.roundTrips,
        requests: totals.requests,
        operations: totals.operations,
        rcu: totals.rcu - testCatalogRcu,
        wcu: totals.wcu,
        indexWcu: totals.indexWcu,
        testCatalogRcu,
        posts: pool.sent
          .slice(sentBefore)
          .filter((_, i) => !answered.has(sentBefore + i))
          .map((s) => Buffer.byteLength(s.data)),
        ...routeResponseOf(pool.sent, sentBefore, answered),
        closes: pool.closed.length - closedBefore,
        inboundBytes,
        logBytes: this.output.bytes - logBefore,
        logLines: this.output.lines - linesBefore,
        ...(assessmentWrites.length > 0
          ? { assessmentBytes: Math.max(...assessmentWrites.map((r) => r.itemBytes)) }
          : {}),
      },
    };
  }

  connect(testId: string) {
    return this.measure('$connect', 'connect', 0, () => this.backend.connect(`?test_id=${testId}`));
  }

  async auth(conn: TestConnection, userId: string, label: string) {
    const token = await this.backend.token(userId, { expiresInSeconds: 4 * 3600 });
    const body = JSON.stringify({ action: 'auth', token });
    return this.measure('auth', label, Buffer.byteLength(body), () => conn.auth(token));
  }

  message(conn: TestConnection, type: string, fields: object = {}, label = type) {
    const body = JSON.stringify({ action: 'message', type, ...fields });
    return this.measure('message', label, Buffer.byteLength(body), () => conn.message(type, fields));
  }

  disconnect(conn: TestConnection) {
    return this.measure('$disconnect', 'disconnect', 0, () => conn.disconnect());
  }
}

/**
 * A test of `questions` questions whose options are long: the chosen option's text is what the
 * assessment stores per answer. Two options of 500 characters (the longest allowed) is what a
 * 200-question test can carry within DynamoDB's 400 KB item limit (the definition is one item).
 */
export function longOptionTest(testId: string, questions: number, durationSeconds: number): TestDefinition {
  const option = (q: number, o: number) => `${'abcdefghij'[o]}${q}:`.padEnd(500, 'x');
  return {
    test_id: testId,
    title: `Bench test with ${questions} questions`,
    duration_seconds: durationSeconds,
    questions: Array.from({ length: questions }, (_, q) => ({
      question_id: `q${q + 1}`,
      text: `Question ${q + 1}: which option is right?`,
      options: [option(q, 0), option(q, 1)],
      correct_option: option(q, q % 2),
    })),
  };
}
