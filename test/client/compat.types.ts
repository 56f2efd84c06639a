/**
 * Type tests of the SDK's public surface, checked by tsc (`npm run typecheck`, and
 * test/client/compat.test.ts): each `@ts-expect-error` line must be an error, each `Expect` must
 * hold, or the check fails.
 */
import WS from 'ws';
import type {
  AnswerFeedbackData,
  AssessmentClient,
  AssessmentClientOptions,
  AssessmentSnapshot,
  AssessmentStatusData,
  AuthSuccessData,
  ClientEvents,
  CompletedSummary,
  ProctorEventData,
  ProctorSnapshotData,
  QuestionView,
  ServerFrame,
  WebSocketConstructor,
} from '../../client/index';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

// The DOM WebSocket and the `ws` package both fit, without casts.
export const fromDom: WebSocketConstructor = WebSocket;
export const fromWs: WebSocketConstructor = WS;

// @ts-expect-error a class without send() is not a WebSocket
export const notASocket: WebSocketConstructor = class {
  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  close(): void {}
};

// @ts-expect-error getToken is required
export const missingToken: AssessmentClientOptions = { url: 'ws://localhost:3001/local' };

export type Payloads = [
  Expect<Equal<ClientEvents['question'][0], QuestionView>>,
  Expect<Equal<ClientEvents['answer_feedback'][0], AnswerFeedbackData>>,
  Expect<Equal<ClientEvents['assessment_recovered'][0], AssessmentSnapshot>>,
  Expect<Equal<ClientEvents['assessment_completed'][0], CompletedSummary>>,
  Expect<Equal<ClientEvents['auth_success'][0], AuthSuccessData>>,
  Expect<Equal<Awaited<ReturnType<AssessmentClient['getStatus']>>, AssessmentStatusData>>,
  Expect<Equal<Awaited<ReturnType<AssessmentClient['startAssessment']>>, AssessmentSnapshot>>,
  Expect<Equal<Awaited<ReturnType<AssessmentClient['submitAnswer']>>, AnswerFeedbackData>>,
  Expect<Equal<Awaited<ReturnType<AssessmentClient['proctorSubscribe']>>, ProctorSnapshotData>>,
  Expect<Equal<ClientEvents['proctor_event'][0], ProctorEventData>>,
];

export function proctor(client: AssessmentClient): void {
  void client.proctorSubscribe('exam-1');
  // @ts-expect-error a subscription names its test
  void client.proctorSubscribe();
}

export function listeners(client: AssessmentClient): void {
  client.on('question', (question) => question.options.map((option) => option.toUpperCase()));
  // @ts-expect-error no such event
  client.on('questions', () => {});
  // @ts-expect-error a question listener does not get a snapshot
  client.on('question', (snapshot: AssessmentSnapshot) => snapshot.thread_id);
  client.on('assessment_status', (status) => {
    // Narrowing on is_in_assessment gives the snapshot without a cast.
    if (status.is_in_assessment) status.assessment.current_question?.question_id;
    // @ts-expect-error before narrowing, the assessment may be absent
    status.assessment.test_id;
  });
  client.on('frame', (frame: ServerFrame) => {
    if (frame.type === 'error') frame.error.code;
    // @ts-expect-error frames other than errors carry no error
    else frame.error.code;
  });
}
