/**
 * One whole assessment driven through the real handlers, every invocation metered: the student
 * connects, authenticates, starts, answers every question (spread over the hour), reconnects
 * `reconnects` times (each a drop, a new connection and an auth with recovery), sends the SDK's
 * heartbeats, completes, and closes. What a real exam costs is the sum of these invocations.
 */
import { DEFAULTS } from '../../client/index';
import type { TestConnection } from '../../test/support/backend';
import { type Invocation, longOptionTest, type MeteredBackend } from '../support/metered-backend';

export interface ScenarioShape {
  questions: number;
  reconnects: number;
  durationMinutes: number;
  heartbeatIntervalMs: number;
}

export const STANDARD_SHAPE: ScenarioShape = {
  questions: 30,
  reconnects: 3,
  durationMinutes: 60,
  heartbeatIntervalMs: DEFAULTS.heartbeatIntervalMs,
};

type Step =
  | { at: number; kind: 'reconnect' }
  | { at: number; kind: 'heartbeat'; segment: number }
  | { at: number; kind: 'answer'; index: number }
  | { at: number; kind: 'start' | 'complete' | 'close' };

const MINUTE = 60_000;

function timeline(shape: ScenarioShape): Step[] {
  const end = shape.durationMinutes * MINUTE;
  const segmentStarts = Array.from({ length: shape.reconnects + 1 }, (_, i) =>
    Math.round((i * end) / (shape.reconnects + 1)),
  );
  const steps: Step[] = [{ at: MINUTE / 2, kind: 'start' }];
  for (const at of segmentStarts.slice(1)) steps.push({ at, kind: 'reconnect' });
  segmentStarts.forEach((start, segment) => {
    const segmentEnd = segmentStarts[segment + 1] ?? end;
    // The SDK sends a heartbeat each interval after auth; a new connection restarts the timer.
    for (let at = start + shape.heartbeatIntervalMs; at < segmentEnd; at += shape.heartbeatIntervalMs) {
      steps.push({ at, kind: 'heartbeat', segment });
    }
  });
  const answerWindow = end - 3 * MINUTE;
  for (let index = 0; index < shape.questions; index++) {
    steps.push({ at: MINUTE + Math.round((index * answerWindow) / shape.questions), kind: 'answer', index });
  }
  steps.push({ at: end - MINUTE, kind: 'complete' }, { at: end, kind: 'close' });
  // Stable order for equal times: a reconnect happens before whatever the student does next.
  const order = { reconnect: 0, start: 1, heartbeat: 2, answer: 3, complete: 4, close: 5 };
  return steps.sort((a, b) => a.at - b.at || order[a.kind] - order[b.kind]);
}

let runs = 0;

/** Runs one assessment; the backend must hold a test named by `testIdFor(shape)`. */
export async function runAssessment(metered: MeteredBackend, shape: ScenarioShape): Promise<Invocation[]> {
  const testId = testIdFor(shape);
  const test = longOptionTest(testId, shape.questions, (shape.durationMinutes + 5) * 60);
  const userId = `student-${++runs}`;
  const invocations: Invocation[] = [];
  const record = <T>(measured: { result: T; invocation: Invocation }): T => {
    invocations.push(measured.invocation);
    return measured.result;
  };
  const startedAt = metered.clock.now();
  const open = async (label: string): Promise<TestConnection> => {
    const conn = record(await metered.connect(testId));
    const frames = record(await metered.auth(conn, userId, label));
    if (frames[0]?.type !== 'auth_success') throw new Error(`auth failed: ${JSON.stringify(frames[0])}`);
    return conn;
  };

  let conn = await open('first auth');
  for (const step of timeline(shape)) {
    metered.clock.set(startedAt + step.at);
    switch (step.kind) {
      case 'reconnect':
        record(await metered.disconnect(conn));
        conn = await open('auth with recovery');
        break;
      case 'heartbeat':
        record(await metered.message(conn, 'heartbeat', { request_id: `hb-${step.at}` }));
        break;
      case 'start':
        record(await metered.message(conn, 'start_assessment', { request_id: 'start' }));
        break;
      case 'answer': {
        const question = test.questions[step.index];
        if (!question) throw new Error('no such question');
        const frames = record(
          await metered.message(
            conn,
            'submit_answer',
            {
              request_id: `answer-${step.index}`,
              data: { question_id: question.question_id, selected_option: question.options[step.index % 2] },
            },
            `submit_answer #${step.index + 1}`,
          ),
        );
        if (frames[0]?.type !== 'answer_feedback')
          throw new Error(`answer refused: ${JSON.stringify(frames[0])}`);
        break;
      }
      case 'complete': {
        const frames = record(await metered.message(conn, 'complete_assessment', { request_id: 'done' }));
        if (frames[0]?.type !== 'assessment_completed') throw new Error('completion failed');
        break;
      }
      case 'close':
        record(await metered.disconnect(conn));
        break;
    }
  }
  return invocations;
}

export function testIdFor(shape: ScenarioShape): string {
  return `bench-${shape.questions}q`;
}

export function testFor(shape: ScenarioShape) {
  return longOptionTest(testIdFor(shape), shape.questions, (shape.durationMinutes + 5) * 60);
}
