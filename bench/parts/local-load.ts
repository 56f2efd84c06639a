/**
 * The local stack under load, measured from outside as a client sees it:
 * - `local_heartbeat_msgs_per_s` and `local_answer_msgs_per_s`: 100 connections, each sending its
 *   next frame as soon as the reply to the last one arrives, against a bare `ws` echo server run
 *   in the same way (its own process) in the same run as the baseline;
 * - `recovery_ms`: N students with an assessment in progress drop at once and reconnect at once;
 *   the time from the drop to each one's `auth_success` carrying its recovered assessment, and
 *   whether every acknowledged answer is in it.
 * Whatever `npm start` runs is what is measured (the stack runs in a child process).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { startLocalStackProcess } from '../../test/support/local-stack';
import { longOptionTest } from '../support/metered-backend';
import { quantile, round } from '../support/stats';

const SECRET = 'bench-secret-with-enough-length';
const TEST_ID = 'bench-load';

interface Frame {
  type?: string;
  request_id?: string;
  data?: Record<string, unknown>;
  error?: { code?: string };
}

/** A client socket that resolves waiters on frames. */
class Client {
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  readonly frames: Frame[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.frames.push(frame);
      const index = this.waiters.findIndex((w) => w.match(frame));
      if (index >= 0) {
        const [waiter] = this.waiters.splice(index, 1);
        waiter?.resolve(frame);
      }
    });
  }

  static open(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }

  next(match: (f: Frame) => boolean): Promise<Frame> {
    const found = this.frames.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  request(frame: Record<string, unknown>, requestId: string): Promise<Frame> {
    this.ws.send(JSON.stringify({ ...frame, request_id: requestId }));
    return this.next((f) => f.request_id === requestId);
  }

  clear(): void {
    this.frames.length = 0;
  }
}

async function token(userId: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + 3 * 3600)
    .sign(new TextEncoder().encode(SECRET));
}

async function student(wsUrl: string, userId: string, start: boolean): Promise<Client> {
  const client = await Client.open(`${wsUrl}?test_id=${TEST_ID}`);
  const auth = await client.request({ action: 'auth', token: await token(userId) }, 'auth');
  if (auth.type !== 'auth_success') throw new Error(`auth failed: ${JSON.stringify(auth)}`);
  if (start) {
    const started = await client.request({ action: 'message', type: 'start_assessment' }, 'start');
    if (started.type !== 'assessment_started') throw new Error(`start failed: ${JSON.stringify(started)}`);
  }
  client.clear();
  return client;
}

/** Where a thread's CPU time is counted. */
type CpuPart = 'gateway_thread' | 'services_thread' | 'stack_other_threads' | 'function_instances';

let clockTicksPerSecond: number | undefined;
function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/**
 * CPU milliseconds (user + system) used so far by the stack process's threads and by every process
 * below it (the function instances), per part; empty where /proc is not there (not Linux). CPU time,
 * unlike throughput, hardly depends on what else the machine runs.
 */
function cpuMsByPart(pid: number | undefined): Partial<Record<CpuPart, number>> {
  const parts: Partial<Record<CpuPart, number>> = {};
  if (pid === undefined) return parts;
  const msPerTick = 1000 / ticksPerSecond();
  const visit = (processId: number, isStack: boolean) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${processId}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      try {
        const stat = readFileSync(`/proc/${processId}/task/${task}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ms = (Number(fields[11]) + Number(fields[12])) * msPerTick;
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const part: CpuPart = !isStack
          ? 'function_instances'
          : task === String(processId)
            ? 'gateway_thread'
            : name === 'aws-services'
              ? 'services_thread'
              : 'stack_other_threads';
        parts[part] = (parts[part] ?? 0) + ms;
        const children = readFileSync(`/proc/${processId}/task/${task}/children`, 'utf8').trim();
        for (const child of children ? children.split(' ') : []) visit(Number(child), false);
      } catch {
        // The thread or process ended between the listing and the read.
      }
    }
  };
  visit(pid, true);
  return parts;
}

/** CPU ms per message by part between two readings, and their total. */
function cpuPerMessage(
  before: Partial<Record<CpuPart, number>>,
  after: Partial<Record<CpuPart, number>>,
  messages: number,
): Record<string, number> | undefined {
  if (messages === 0 || Object.keys(after).length === 0) return undefined;
  const perMessage: Record<string, number> = {};
  let total = 0;
  for (const [part, ms] of Object.entries(after)) {
    const used = ms - (before[part as CpuPart] ?? 0);
    perMessage[part] = round(used / messages, 2);
    total += used;
  }
  perMessage.total = round(total / messages, 2);
  return perMessage;
}

/** Closed-loop load: every client sends its next frame when the reply to its last one is in. */
async function closedLoop(
  clients: Client[],
  frameFor: (client: number, n: number) => Record<string, unknown>,
  seconds: number,
  stackPid?: number,
): Promise<{ perSecond: number; replies: Record<string, number>; cpuMsPerMessage?: Record<string, number> }> {
  const warmupMs = 1000;
  const started = Date.now();
  const stopAt = started + warmupMs + seconds * 1000;
  const replies: Record<string, number> = {};
  let counted = 0;
  // CPU is read over the counted window: from the end of the warm-up to the last reply.
  let cpuBefore: Partial<Record<CpuPart, number>> | undefined;
  let sentAfterWarmup = 0;
  const warmupTimer = setTimeout(() => {
    cpuBefore = cpuMsByPart(stackPid);
  }, warmupMs);
  await Promise.all(
    clients.map(async (client, c) => {
      for (let n = 0; Date.now() < stopAt; n++) {
        const reply = await client.request(frameFor(c, n), `r${n}`);
        client.clear();
        if (cpuBefore) sentAfterWarmup++;
        if (Date.now() - started >= warmupMs) {
          counted++;
          const kind = reply.type === 'error' ? `error:${reply.error?.code}` : (reply.type ?? '?');
          replies[kind] = (replies[kind] ?? 0) + 1;
        }
      }
    }),
  );
  clearTimeout(warmupTimer);
  const cpuMsPerMessage = cpuBefore
    ? cpuPerMessage(cpuBefore, cpuMsByPart(stackPid), sentAfterWarmup)
    : undefined;
  return { perSecond: counted / seconds, replies, ...(cpuMsPerMessage ? { cpuMsPerMessage } : {}) };
}

/** A bare ws echo server in its own process: the ceiling for this client and machine. */
async function startEchoServer(): Promise<{ url: string; child: ChildProcess }> {
  const script = `const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (data) => ws.send(String(data))));
wss.on('listening', () => console.log(JSON.stringify({ port: wss.address().port })));`;
  const child = spawn(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..', '..') });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk) => resolve(JSON.parse(String(chunk)).port));
    child.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
  });
  return { url: `ws://127.0.0.1:${port}`, child };
}

/** What `npm start` ran: the mode its ready line names, or its first log line. */
function describeStack(stack: { output(): string }): string {
  const mode = (stack as { mode?: unknown }).mode;
  if (typeof mode === 'string') return `npm start (mode ${mode})`;
  const first = stack
    .output()
    .split('\n')
    .find((line) => line.startsWith('[local]'));
  return `npm start (${first?.replace('[local] ', '').slice(0, 120) ?? 'handlers in process'})`;
}

async function withStack<T extends object>(
  work: (wsUrl: string, stackPid: number | undefined) => Promise<T>,
): Promise<T & { local_stack: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-tests-'));
  await writeFile(path.join(dir, `${TEST_ID}.json`), JSON.stringify(longOptionTest(TEST_ID, 200, 4 * 3600)));
  const stack = await startLocalStackProcess({
    testDefinitionsDir: dir,
    jwtSecret: SECRET,
    readyTimeoutMs: 120_000,
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });
  try {
    return { ...(await work(stack.wsUrl, stack.pid)), local_stack: describeStack(stack) };
  } finally {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function measureThroughput(connections = 100, seconds = 5) {
  const echo = await startEchoServer();
  let echoPerSecond: number;
  try {
    const clients = await Promise.all(Array.from({ length: connections }, () => Client.open(echo.url)));
    const result = await closedLoop(clients, () => ({ action: 'message', type: 'heartbeat' }), seconds);
    echoPerSecond = result.perSecond;
    for (const client of clients) client.ws.close();
  } finally {
    echo.child.kill();
  }
  return withStack(async (wsUrl, stackPid) => {
    const clients: Client[] = [];
    for (let i = 0; i < connections; i++) clients.push(await student(wsUrl, `load-${i}`, true));
    const heartbeat = await closedLoop(
      clients,
      () => ({ action: 'message', type: 'heartbeat' }),
      seconds,
      stackPid,
    );
    const option = (q: number) => `a${q}:`.padEnd(500, 'x');
    const answers = await closedLoop(
      clients,
      (_c, n) => ({
        action: 'message',
        type: 'submit_answer',
        data: { question_id: `q${n + 1}`, selected_option: option(n) },
      }),
      seconds,
      stackPid,
    );
    for (const client of clients) client.ws.close();
    return {
      local_heartbeat_msgs_per_s: round(heartbeat.perSecond, 0),
      local_answer_msgs_per_s: round(answers.perSecond, 0),
      local_echo_msgs_per_s: round(echoPerSecond, 0),
      local_heartbeat_ratio_to_echo: round(heartbeat.perSecond / echoPerSecond, 4),
      local_answer_ratio_to_echo: round(answers.perSecond / echoPerSecond, 4),
      local_load_detail: {
        connections,
        seconds,
        method:
          'closed loop: each connection sends its next frame when the reply to the last arrives; replies of every kind count (rate_limited ones too, listed)',
        heartbeat_replies: heartbeat.replies,
        answer_replies: answers.replies,
        ...(heartbeat.cpuMsPerMessage
          ? {
              cpu_ms_per_heartbeat: heartbeat.cpuMsPerMessage,
              cpu_ms_per_answer: answers.cpuMsPerMessage,
              cpu_method:
                'user + system CPU of the stack process (its main thread: gateway, IPC, @connections; the aws-services worker thread: services endpoint, IAM, dynalite; its other threads: GC, libuv) and of the function instances below it, over the counted window, per message sent',
            }
          : {}),
      },
    };
  });
}

export async function measureRecovery(students: number) {
  return withStack(async (wsUrl) => {
    const clients: Client[] = [];
    // Connect in batches: the students arrive over a few seconds, as a hall does.
    for (let i = 0; i < students; i += 50) {
      const batch = Array.from({ length: Math.min(50, students - i) }, (_, j) =>
        student(wsUrl, `hall-${i + j}`, true),
      );
      clients.push(...(await Promise.all(batch)));
    }
    // Every student answers a few questions; the acknowledged count is what must survive.
    const acknowledged = new Array<number>(students).fill(0);
    const option = (q: number) => `a${q}:`.padEnd(500, 'x');
    await Promise.all(
      clients.map(async (client, i) => {
        for (let q = 0; q < 3; q++) {
          const reply = await client.request(
            {
              action: 'message',
              type: 'submit_answer',
              data: { question_id: `q${q + 1}`, selected_option: option(q) },
            },
            `pre-${q}`,
          );
          if (reply.type === 'answer_feedback') acknowledged[i] = q + 1;
        }
      }),
    );
    const droppedAt = performance.now();
    for (const client of clients) client.ws.terminate();
    const times: number[] = [];
    let lost = 0;
    let failed = 0;
    await Promise.all(
      clients.map(async (_, i) => {
        try {
          const client = await Client.open(`${wsUrl}?test_id=${TEST_ID}`);
          const auth = await client.request({ action: 'auth', token: await token(`hall-${i}`) }, 'auth');
          times.push(performance.now() - droppedAt);
          const recovered = auth.data?.recovered_assessment as
            | { progress?: { answered?: number } }
            | undefined;
          if (
            auth.type !== 'auth_success' ||
            (recovered?.progress?.answered ?? -1) < (acknowledged[i] ?? 0)
          ) {
            lost++;
          }
          client.ws.close();
        } catch {
          failed++;
        }
      }),
    );
    return {
      students,
      p50: round(quantile(times, 0.5), 0),
      p99: round(quantile(times, 0.99), 0),
      max: round(Math.max(...times), 0),
      lost,
      failed,
      method:
        'all students drop at once (socket terminated) and reconnect at once; drop to auth_success with the recovered assessment',
    };
  });
}
