/**
 * `cost_per_1000_assessments_usd`: one assessment driven through the real handlers
 * (assessment-scenario.ts), every invocation metered, priced with AWS's list prices (prices.ts).
 * Counted: Lambda invocations, DynamoDB read and write units, frames in and out (API Gateway bills
 * each per 32 KB), connection minutes, log bytes. Modelled (no AWS here): Lambda duration, from
 * the counted round trips and @connections calls at assumed in-region latencies.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ACCESS_LOG_FIELDS } from '../../lib/access-log-format';
import { PRICES, PRICES_AS_OF } from '../prices';
import { readUnits } from '../support/capacity';
import { type Invocation, MeteredBackend } from '../support/metered-backend';
import { round } from '../support/stats';
import { runAssessment, type ScenarioShape, STANDARD_SHAPE, testFor } from './assessment-scenario';

/** Assumed latencies inside one AWS region, for billed Lambda milliseconds. */
export const DURATION_MODEL = { cpuMsPerInvocation: 5, dynamoRoundTripMs: 6, connectionsCallMs: 15 };
/** Lambda writes START, END and REPORT lines for every invocation (about this many bytes). */
const PLATFORM_LOG_BYTES = 330;
const PLATFORM_LOG_LINES = 3;
/** CloudWatch Logs bills each event's bytes plus 26 bytes. */
const LOG_EVENT_OVERHEAD_BYTES = 26;
const FRAME_BILLING_BYTES = 32 * 1024;

/** The memory the CDK construct gives every function (read from lib/, not copied). */
export function configuredMemoryMb(): number {
  const source = readFileSync(path.join(__dirname, '../../lib/assessment-websocket-backend.ts'), 'utf8');
  const match = /memorySize:\s*props\.memorySize\s*\?\?\s*(\d+)/.exec(source);
  if (!match?.[1]) throw new Error('could not find the default memorySize in lib/');
  return Number(match[1]);
}

/** One line of the stage's access log with representative values: one per route invocation. */
function accessLogLineBytes(): number {
  const sample: Record<string, string> = {
    requestId: 'Ab1Cd2Ef3Gh4Ij5=',
    extendedRequestId: 'Ab1Cd2Ef3Gh4Ij5=',
    connectionId: 'Kl6Mn7Op8Qr9St0=',
    routeKey: 'message',
    eventType: 'MESSAGE',
    messageDirection: 'IN',
    status: '200',
    requestTime: '01/Dec/2026:10:00:00 +0000',
    requestTimeEpoch: '1796119200',
    connectedAt: '1796119100000',
    sourceIp: '203.0.113.10',
    integrationStatus: '200',
    integrationLatency: '31',
    integrationError: '-',
    errorMessage: '-',
    errorResponseType: '-',
  };
  const line = Object.fromEntries(Object.keys(ACCESS_LOG_FIELDS).map((k) => [k, sample[k] ?? '-']));
  return Buffer.byteLength(JSON.stringify(line)) + LOG_EVENT_OVERHEAD_BYTES;
}

export interface Counts {
  invocations: number;
  billedMs: number;
  frames: number;
  connectionMinutes: number;
  rcu: number;
  wcu: number;
  logBytes: number;
}

export function countsOf(invocations: Invocation[], shape: ScenarioShape): Counts {
  const access = accessLogLineBytes();
  const frames = (bytes: number) => Math.max(1, Math.ceil(bytes / FRAME_BILLING_BYTES));
  let billedMs = 0;
  let messageCount = 0;
  let logBytes = 0;
  for (const inv of invocations) {
    billedMs += Math.ceil(
      DURATION_MODEL.cpuMsPerInvocation +
        inv.roundTrips * DURATION_MODEL.dynamoRoundTripMs +
        (inv.posts.length + inv.closes) * DURATION_MODEL.connectionsCallMs,
    );
    // $connect and $disconnect are counted as messages too: the conservative reading.
    // A route response is billed as a message like a post, but costs the function no @connections call.
    messageCount +=
      frames(inv.inboundBytes) +
      inv.posts.reduce((sum, bytes) => sum + frames(bytes), 0) +
      (inv.routeResponse === undefined ? 0 : frames(inv.routeResponse));
    logBytes +=
      inv.logBytes +
      (inv.logLines + PLATFORM_LOG_LINES) * LOG_EVENT_OVERHEAD_BYTES +
      PLATFORM_LOG_BYTES +
      access;
  }
  return {
    invocations: invocations.length,
    billedMs,
    frames: messageCount,
    // Every connection is open for whole minutes; the segments add up to the assessment's length.
    connectionMinutes: shape.durationMinutes + shape.reconnects,
    rcu: invocations.reduce((sum, inv) => sum + inv.rcu, 0),
    wcu: invocations.reduce((sum, inv) => sum + inv.wcu, 0),
    logBytes,
  };
}

/**
 * The naive design priced from the same run: every message first reads the assessment item
 * (its status), and every answer reads it again before writing (read-then-write), each read
 * billed by the item's size at that moment.
 */
export function naiveCounts(invocations: Invocation[], shape: ScenarioShape): Counts {
  const counts = countsOf(invocations, shape);
  let size = 0;
  let extraRcu = 0;
  let extraRoundTrips = 0;
  for (const inv of invocations) {
    if (inv.route === 'message') {
      const reads = inv.label.startsWith('submit_answer') ? 2 : 1;
      extraRcu += reads * readUnits(size, true);
      extraRoundTrips += reads;
    }
    if (inv.assessmentBytes !== undefined) size = inv.assessmentBytes;
  }
  return {
    ...counts,
    rcu: counts.rcu + extraRcu,
    billedMs: counts.billedMs + extraRoundTrips * DURATION_MODEL.dynamoRoundTripMs,
  };
}

export function priced(counts: Counts, memoryMb: number) {
  const perMillion = (n: number, usd: number) => (n / 1e6) * usd;
  const items = {
    api_gateway_messages: perMillion(counts.frames, PRICES.apiGatewayMessagePerMillion.usd),
    api_gateway_connection_minutes: perMillion(
      counts.connectionMinutes,
      PRICES.apiGatewayConnectionMinutePerMillion.usd,
    ),
    lambda_requests: perMillion(counts.invocations, PRICES.lambdaRequestPerMillion.usd),
    lambda_duration: (counts.billedMs / 1000) * (memoryMb / 1024) * PRICES.lambdaArmGbSecond.usd,
    dynamodb_reads: perMillion(counts.rcu, PRICES.dynamoReadUnitPerMillion.usd),
    dynamodb_writes: perMillion(counts.wcu, PRICES.dynamoWriteUnitPerMillion.usd),
    cloudwatch_logs: (counts.logBytes / 1024 ** 3) * PRICES.logsIngestionPerGb.usd,
  };
  const per1000 = Object.fromEntries(Object.entries(items).map(([k, usd]) => [k, round(usd * 1000, 4)]));
  const total = Object.values(items).reduce((sum, usd) => sum + usd, 0) * 1000;
  const dominant = Object.entries(items).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  return { total: round(total, 4), per1000: per1000 as Record<keyof typeof items, number>, dominant };
}

/**
 * What the proposed protocol option would save (not implemented): `answer_feedback` carrying the
 * next question, so an answer costs one frame out instead of two.
 */
function oneFramePerAnswer(invocations: Invocation[]): Invocation[] {
  // Today answer_feedback is posted and the next question is the route response.
  return invocations.map((inv) =>
    inv.label.startsWith('submit_answer') && inv.posts.length === 1 && inv.routeResponse !== undefined
      ? { ...inv, posts: [], routeResponse: (inv.posts[0] ?? 0) + inv.routeResponse }
      : inv,
  );
}

export async function measureCost(questionCounts: readonly number[] = [10, 30, 200]) {
  const memoryMb = configuredMemoryMb();
  const shapes = questionCounts.map((questions) => ({ ...STANDARD_SHAPE, questions }));
  const metered = await MeteredBackend.start(shapes.map(testFor));
  const byQuestions: Record<
    string,
    {
      current_usd: number;
      naive_usd: number;
      answer_wcu_first: number;
      answer_wcu_last: number;
      answer_wcu_total: number;
      dynamodb_writes_usd: number;
    }
  > = {};
  let standard: ReturnType<typeof summary> | undefined;
  const summary = (invocations: Invocation[], shape: ScenarioShape) => {
    const counts = countsOf(invocations, shape);
    const current = priced(counts, memoryMb);
    const naive = priced(naiveCounts(invocations, shape), memoryMb);
    const oneFrame = priced(countsOf(oneFramePerAnswer(invocations), shape), memoryMb);
    const answers = invocations.filter((inv) => inv.label.startsWith('submit_answer'));
    return {
      current,
      naive,
      oneFrame,
      counts: {
        invocations: counts.invocations,
        frames: counts.frames,
        connection_minutes: counts.connectionMinutes,
        rcu: round(counts.rcu),
        wcu: round(counts.wcu),
        lambda_billed_ms: counts.billedMs,
        log_kb: round(counts.logBytes / 1024, 1),
      },
      answer_wcu_first: answers[0]?.wcu ?? 0,
      answer_wcu_last: answers.at(-1)?.wcu ?? 0,
      answer_wcu_total: answers.reduce((sum, inv) => sum + inv.wcu, 0),
    };
  };
  try {
    for (const shape of shapes) {
      const result = summary(await runAssessment(metered, shape), shape);
      if (shape.questions === STANDARD_SHAPE.questions) standard = result;
      byQuestions[String(shape.questions)] = {
        current_usd: result.current.total,
        naive_usd: result.naive.total,
        answer_wcu_first: result.answer_wcu_first,
        answer_wcu_last: result.answer_wcu_last,
        answer_wcu_total: result.answer_wcu_total,
        dynamodb_writes_usd: result.current.per1000.dynamodb_writes,
      };
    }
  } finally {
    await metered.stop();
  }
  if (!standard) throw new Error(`the standard shape (${STANDARD_SHAPE.questions} questions) was not run`);
  return {
    cost_per_1000_assessments_usd: standard.current.total,
    cost_per_1000_assessments_usd_naive: standard.naive.total,
    cost_breakdown_per_1000_usd: standard.current.per1000,
    cost_breakdown_per_1000_usd_naive: standard.naive.per1000,
    cost_dominant_item: standard.current.dominant,
    cost_per_1000_assessments_usd_one_frame_per_answer: standard.oneFrame.total,
    cost_counts_per_assessment: standard.counts,
    cost_by_question_count: byQuestions,
    cost_model: {
      assessment: {
        minutes: STANDARD_SHAPE.durationMinutes,
        answers: STANDARD_SHAPE.questions,
        reconnects: STANDARD_SHAPE.reconnects,
        heartbeat_interval_ms: STANDARD_SHAPE.heartbeatIntervalMs,
        options: '2 options of 500 characters per question',
      },
      lambda_memory_mb: memoryMb,
      lambda_duration_model: DURATION_MODEL,
      prices_as_of: PRICES_AS_OF,
      prices: Object.fromEntries(Object.entries(PRICES).map(([k, v]) => [k, v.usd])),
    },
  };
}
