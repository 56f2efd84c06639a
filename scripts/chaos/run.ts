/**
 * `npm run chaos -- [flags]`: proves "nothing a student submitted is ever lost or counted twice"
 * under injected faults. N students take a test through the local stack (the synthesized cloud
 * assembly, in a child process) with the client SDK; each suffers K forced drops at random
 * moments (some between sending an answer and its acknowledgement), a share opens a second tab,
 * while DynamoDB throttles and fails, @connections answers 410/429/500, Lambda instances are
 * killed mid-invocation, and the whole stack is SIGKILLed and restarted on its on-disk data.
 * Afterwards it reads DynamoDB and compares with what every client was told. Exit code 1 on any
 * lost or duplicated answer, any student who could not finish, or any final state that differs.
 *
 * Flags: --students N (1000) --concurrency C (100 students taking the test at once) --drops K (3) --questions Q (10) --second-tab-share S (0.1)
 *   --dynamodb-throttle-rate R (0.02) --dynamodb-error-rate R (0.01) --connections-fault-rate R (0.02)
 *   --kill-every-ms MS (10000; 0 = no instance kills) --restarts N (1) --port P (3901) --seed N
 *   --fuzz N (also run N fuzzed frames through the route handlers on the twins; 0 = none) --json (one JSON line of figures)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { seededRandom } from '../../bench/support/stats';
import { AssessmentClient, type AssessmentClientError, type WebSocketConstructor } from '../../client/index';
import { DynamoAssessmentStore } from '../../lambdas/adapters/dynamodb/assessment-store';
import type { SilentTelemetry } from '../../lambdas/adapters/memory';
import { answersOf } from '../../lambdas/core/answers';
import { routeResponseMessage } from '../../local/gateway/route-response';
import type { ChaosStackConfig } from './stack-child';

const { values: flags } = parseArgs({
  options: {
    students: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '100' },
    drops: { type: 'string', default: '3' },
    questions: { type: 'string', default: '10' },
    'second-tab-share': { type: 'string', default: '0.1' },
    'dynamodb-throttle-rate': { type: 'string', default: '0.02' },
    'dynamodb-error-rate': { type: 'string', default: '0.01' },
    'connections-fault-rate': { type: 'string', default: '0.02' },
    'kill-every-ms': { type: 'string', default: '10000' },
    restarts: { type: 'string', default: '1' },
    port: { type: 'string', default: '3901' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    fuzz: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const num = (name: keyof typeof flags) => {
  const value = Number(flags[name]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};
const STUDENTS = num('students');
const DROPS = num('drops');
const CONCURRENCY = Math.max(1, num('concurrency'));
const QUESTIONS = Math.max(1, Math.min(200, num('questions')));
const SECOND_TAB_SHARE = num('second-tab-share');
const RESTARTS = num('restarts');
const PORT = num('port');
const SEED = num('seed');
const TEST_ID = 'chaos';
const SECRET = new TextEncoder().encode('local-dev-secret');

const rng = seededRandom(SEED);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the stack, in a child process ----------------------------------------------------------

interface Ready {
  wsUrl: string;
  dynamodbEndpoint: string;
  tableNames: Record<string, string>;
}

const counts = { kills: 0, connectionsFaults: 0, restarts: 0 };
/** What the progress bar shows besides finished students: students only finish near the end. */
const progress = { answersAcked: 0 };
let child: ChildProcess | undefined;
let killsBefore = { kills: 0, connectionsFaults: 0 };

async function startStack(config: ChaosStackConfig): Promise<Ready> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'stack-child.ts'), JSON.stringify(config)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  child = proc;
  proc.stderr?.setEncoding('utf8');
  let errors = '';
  proc.stderr?.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      const match = line.match(/^\{"chaosCounts":(.*)\}$/);
      if (match?.[1]) {
        const now = JSON.parse(match[1]) as { kills: number; connectionsFaults: number };
        counts.kills = killsBefore.kills + now.kills;
        counts.connectionsFaults = killsBefore.connectionsFaults + now.connectionsFaults;
      } else if (line.trim()) errors = `${errors}${line}\n`.slice(-4000);
    }
  });
  return new Promise<Ready>((resolve, reject) => {
    let out = '';
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) resolve(JSON.parse(line) as Ready);
    });
    proc.once('exit', (code) =>
      reject(new Error(`the chaos stack exited (${code}) before it was ready:\n${errors}`)),
    );
  });
}

// ---- one student --------------------------------------------------------------------------

interface Question {
  question_id: string;
  options: string[];
}

interface StudentResult {
  userId: string;
  acked: Map<string, string>;
  completed?: { score: number; answered: number };
  failure?: string;
  drops: number;
  recoveries: number;
  recoveryMs: number[];
  tabs: number;
}

const RETRYABLE = new Set(['timeout', 'internal_error', 'not_authenticated', 'rate_limited', 'closed']);

async function student(index: number, wsUrl: string, questions: Question[]): Promise<StudentResult> {
  const userId = `chaos-${SEED}-${index}`;
  const result: StudentResult = {
    userId,
    acked: new Map(),
    drops: 0,
    recoveries: 0,
    recoveryMs: [],
    tabs: 0,
  };
  const token = async () =>
    new SignJWT({ sub: userId })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(SECRET);
  let droppedAt: number | undefined;
  const open = () => {
    result.tabs++;
    const client = new AssessmentClient({
      url: wsUrl,
      testId: TEST_ID,
      getToken: token,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      storage: null,
      backoff: { baseMs: 250, capMs: 5000 },
      requestTimeoutMs: 20_000,
    });
    client.on('auth_success', (data) => {
      if (droppedAt !== undefined && data.recovered) {
        result.recoveries++;
        result.recoveryMs.push(Date.now() - droppedAt);
      }
      droppedAt = undefined;
    });
    client.on('answer_feedback', (data) => {
      const sent = questions.find((q) => q.question_id === data.question_id);
      if (sent && !result.acked.has(data.question_id)) {
        result.acked.set(data.question_id, optionFor(index, questions.indexOf(sent), sent));
        progress.answersAcked++;
      }
    });
    return client;
  };
  const drop = (client: AssessmentClient) => {
    result.drops++;
    droppedAt ??= Date.now();
    client.dropConnection();
  };
  /** Retries a command through drops, faults and restarts (the SDK reconnects by itself). */
  const retry = async <T>(run: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const code = (error as AssessmentClientError).code;
        if (!RETRYABLE.has(code) || attempt > 40) throw error;
        await sleep(200 + 300 * rng());
      }
    }
  };

  let client = open();
  const dropPoints = new Set(Array.from({ length: DROPS }, () => Math.floor(rng() * (questions.length + 1))));
  const secondTabAt = rng() < SECOND_TAB_SHARE ? Math.floor(rng() * questions.length) : -1;
  try {
    await retry(() => client.connect());
    await retry(() => client.startAssessment());
    for (const [i, question] of questions.entries()) {
      if (i === secondTabAt) {
        const second = open();
        await retry(() => second.connect()); // the first tab gets session_replaced and stops
        client.close();
        client = second;
      }
      await sleep(20 + 120 * rng());
      const option = optionFor(index, i, question);
      const submit = () => client.submitAnswer(question.question_id, option);
      const pending = submit();
      pending.catch(() => {});
      // Between sending the answer and its acknowledgement, sometimes.
      if (dropPoints.has(i)) drop(client);
      await retry(() => pending).catch(async (error: unknown) => {
        const code = (error as AssessmentClientError).code;
        if (!RETRYABLE.has(code)) throw error;
        await retry(submit);
      });
    }
    if (dropPoints.has(questions.length)) drop(client);
    const summary = await retry(() => client.completeAssessment());
    result.completed = { score: summary.score, answered: summary.answered };
  } catch (error) {
    result.failure = `${(error as AssessmentClientError).code ?? ''} ${(error as Error).message}`;
  } finally {
    client.close();
  }
  return result;
}

function optionFor(studentIndex: number, questionIndex: number, question: Question): string {
  return question.options[(studentIndex + questionIndex) % question.options.length] as string;
}

// ---- the run ------------------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'chaos-'));
  const questions: (Question & { text: string; correct_option: string })[] = Array.from(
    { length: QUESTIONS },
    (_, i) => ({
      question_id: `q${i + 1}`,
      text: `Question ${i + 1}?`,
      options: ['alpha', 'bravo', 'charlie', 'delta'],
      correct_option: ['alpha', 'bravo', 'charlie', 'delta'][i % 4] as string,
    }),
  );
  const definitions = path.join(workDir, 'tests');
  await mkdir(definitions);
  await writeFile(
    path.join(definitions, 'chaos.json'),
    JSON.stringify({ test_id: TEST_ID, title: 'Chaos', duration_seconds: 3 * 3600, questions }),
  );
  const config: ChaosStackConfig = {
    port: PORT,
    dataDir: path.join(workDir, 'data'),
    testDefinitionsDir: definitions,
    seed: SEED,
    dynamodbThrottleRate: num('dynamodb-throttle-rate'),
    dynamodbErrorRate: num('dynamodb-error-rate'),
    connectionsFaultRate: num('connections-fault-rate'),
    killEveryMs: num('kill-every-ms'),
  };
  const started = Date.now();
  let ready = await startStack(config);
  const log = (line: string) => {
    if (!flags.json) process.stderr.write(line);
  };
  log(`chaos: seed ${SEED}, ${STUDENTS} students, ${DROPS} drops each, stack at ${ready.wsUrl}\n`);

  let done = 0;
  const runs: Promise<StudentResult>[] = [];
  // A bar redrawn in place on a terminal; a line every 10 s in a log.
  const tty = process.stderr.isTTY === true;
  const progressBar = setInterval(
    () => {
      const width = 30;
      const filled = Math.round((done / STUDENTS) * width);
      const line = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${STUDENTS} students  ${progress.answersAcked}/${STUDENTS * QUESTIONS} answers  kills ${counts.kills}  @connections faults ${counts.connectionsFaults}  restarts ${counts.restarts}`;
      log(tty ? `\r${line}   ` : `${line}\n`);
    },
    tty ? 500 : 10_000,
  );
  // SIGKILL the whole stack at spread-out moments, and start it again on the same data (beside
  // the students being seated, so a restart lands among them, not after the last one started).
  const restarts = (async () => {
    for (let r = 0; r < RESTARTS; r++) {
      while (done < (STUDENTS * (r + 1)) / (RESTARTS + 2)) await sleep(200);
      killsBefore = { ...counts };
      child?.kill('SIGKILL');
      await sleep(500);
      ready = await startStack(config);
      counts.restarts++;
    }
  })();
  for (let i = 0; i < STUDENTS; i++) {
    // Students beyond --concurrency wait for a seat: the local stack on a laptop serves a few
    // hundred at once, and an overloaded one times requests out, which tests retries, not recovery.
    while (i - done >= CONCURRENCY) await sleep(50);
    runs.push(
      student(i, ready.wsUrl, questions).finally(() => {
        done++;
      }),
    );
    if (i % 50 === 49) await sleep(100); // API Gateway admits at most 500 new connections a second
  }

  await restarts;
  const results = await Promise.all(runs);
  clearInterval(progressBar);
  log('\n');

  // Compare what DynamoDB holds with what each client was told.
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: ready.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  const store = new DynamoAssessmentStore(doc, ready.tableNames.assessments as string);
  const definition = { test_id: TEST_ID, title: 'Chaos', duration_seconds: 3 * 3600, questions };
  let lost = 0;
  let duplicated = 0;
  let differing = 0;
  let unfinished = 0;
  const problems: string[] = [];
  for (const result of results) {
    const Item = await store.get(result.userId, TEST_ID);
    // Answers are stored as option positions; the test definition turns them back into text.
    const answers = new Map((Item ? answersOf(Item, definition) : []).map((a) => [a.questionId, a.option]));
    for (const [questionId, option] of result.acked) {
      if (answers.get(questionId) !== option) {
        lost++;
        problems.push(
          `${result.userId}: ${questionId} acknowledged as ${option}, stored ${answers.get(questionId)}`,
        );
      }
    }
    // Every stored entry, whether or not the definition explains it.
    const storedCount = Item ? Item.choices.length + Object.keys(Item.legacy?.options ?? {}).length : 0;
    if (Item && Item.answeredCount !== storedCount) {
      duplicated++;
      problems.push(`${result.userId}: answeredCount ${Item.answeredCount} but ${storedCount} answers`);
    }
    if (!result.completed) {
      unfinished++;
      problems.push(`${result.userId}: did not finish: ${result.failure}`);
    } else if (
      Item?.status !== 'completed' ||
      Item.completion?.score !== result.completed.score ||
      Item.answeredCount !== result.completed.answered ||
      storedCount !== QUESTIONS
    ) {
      differing++;
      problems.push(
        `${result.userId}: client saw ${JSON.stringify(result.completed)}, stored ${Item?.status} score ${Item?.completion?.score} answered ${Item?.answeredCount}`,
      );
    }
  }
  child?.stdin?.end();
  child?.kill('SIGTERM');

  let fuzzProblems = 0;
  const fuzzCount = num('fuzz');
  if (fuzzCount > 0) fuzzProblems = await fuzz(fuzzCount);

  const recoveryMs = results.flatMap((r) => r.recoveryMs).sort((a, b) => a - b);
  const figures = {
    seed: SEED,
    students: STUDENTS,
    concurrency: CONCURRENCY,
    drops_per_student: DROPS,
    questions: QUESTIONS,
    answers_acknowledged: results.reduce((n, r) => n + r.acked.size, 0),
    answers_lost: lost,
    answers_duplicated: duplicated,
    final_states_differing: differing,
    students_unfinished: unfinished,
    drops: results.reduce((n, r) => n + r.drops, 0),
    recoveries_attempted: results.reduce((n, r) => n + r.drops, 0),
    recoveries_succeeded: results.reduce((n, r) => n + r.recoveries, 0),
    recovery_ms_p50: percentile(recoveryMs, 50),
    recovery_ms_p99: percentile(recoveryMs, 99),
    second_tabs: results.reduce((n, r) => n + (r.tabs - 1), 0),
    lambda_instances_killed: counts.kills,
    connections_faults: counts.connectionsFaults,
    stack_restarts: counts.restarts,
    fuzz_frames: fuzzCount,
    fuzz_problems: fuzzProblems,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  if (flags.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else {
    for (const [key, value] of Object.entries(figures)) console.log(`${key.padEnd(26)} ${value}`);
    for (const problem of problems.slice(0, 20)) console.log(`  ${problem}`);
  }
  await rm(workDir, { recursive: true, force: true });
  const failed = lost > 0 || duplicated > 0 || differing > 0 || unfinished > 0 || fuzzProblems > 0;
  process.exit(failed ? 1 : 0);
}

/** The full-size fuzz: frames through the core on its twins (the handlers' logic, no network). */
/**
 * The full-size fuzz: frames through the real route handlers (routed by `action` as API Gateway
 * routes them), on the core's in-memory twins so that 100,000 frames take seconds, not hours.
 * A problem is a handler that throws, a reply that is not a typed protocol frame or is
 * `internal_error`, or an error the core logged.
 */
async function fuzz(count: number): Promise<number> {
  const { sampleFrames, badReply } = await import('../../test/support/fuzz-frames');
  const { twinCore } = await import('../../test/support/twins');
  const { routeHandlers } = await import('../../lambdas/handlers/route-handlers');
  const { PowertoolsTelemetry } = await import('../../lambdas/adapters/powertools-telemetry');
  // The core reports to the twins' silent telemetry, so the handlers' flush has nothing to print.
  const telemetry = new PowertoolsTelemetry();
  let twins = twinCore();
  const handlers = routeHandlers(() => ({ core: twins.core, telemetry }));
  const event = (connectionId: string, routeKey: string, body: string) => ({
    requestContext: { connectionId, connectedAt: twins.clock.now(), routeKey },
    body,
  });
  let conn = await twins.open('quiz-1');
  let problems = 0;
  let user = 0;
  for (let i = 0; i < count; i++) {
    // Fresh twins now and then: the recording notifier keeps every frame it was given.
    if (i % 2000 === 0) {
      problems += loggedErrors(twins.deps.telemetry);
      twins = twinCore();
    }
    const { open, clock, deps } = twins;
    const body = sampleFrames(1, SEED + i)[0] ?? '';
    if (i % 40 === 0) clock.advance(10_001);
    if (i % 500 === 0 || deps.notifier.gone.has(conn.id)) {
      conn = await open('quiz-1');
      await conn.send({ action: 'auth', token: `user:fuzz-${++user}` });
      await conn.send({ action: 'message', type: 'start_assessment' });
    }
    const before = deps.notifier.framesFor(conn.id).length;
    let action: unknown;
    try {
      action = (JSON.parse(body) as { action?: unknown }).action;
    } catch {
      action = undefined;
    }
    const replies: Parameters<typeof badReply>[0][] = [];
    try {
      let result: unknown;
      if (action === 'auth') result = await handlers.auth(event(conn.id, 'auth', body));
      else if (action === 'message') result = await handlers.message(event(conn.id, 'message', body));
      else result = await handlers.unrouted(event(conn.id, '$default', body));
      replies.push(...deps.notifier.framesFor(conn.id).slice(before));
      // The two-way routes answer with their last frame as the route response, sent as the local
      // gateway sends it (an empty message is no frame: JSON.parse throws, a problem counted).
      const answer = action === 'auth' ? undefined : routeResponseMessage(result);
      if (answer !== undefined) replies.push(JSON.parse(answer) as (typeof replies)[number]);
    } catch {
      problems++;
    }
    for (const frame of replies) if (badReply(frame)) problems++;
  }
  return problems + loggedErrors(twins.deps.telemetry);
}

/** Errors the core logged on the twins' telemetry (a SilentTelemetry, which keeps them). */
function loggedErrors(telemetry: unknown): number {
  return (telemetry as SilentTelemetry).errors.length;
}

main().catch((error: unknown) => {
  console.error(error);
  child?.kill('SIGKILL');
  process.exit(2);
});
