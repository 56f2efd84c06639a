/**
 * A React hook over the SDK: one client per (url, test, user), its state and session, the
 * current question, the last feedback, the outcome, and the answers still waiting for the server.
 * Render from `question`, which the hook takes from every source the protocol has (the recovery
 * snapshot after a reconnect, `assessment_started` / `assessment_recovered`, `question` frames).
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  type AnswerFeedbackData,
  AssessmentClient,
  type AssessmentClientOptions,
  type AuthSuccessData,
  type CompletedSummary,
  type ConnectionState,
  type OutboxEntry,
  type QuestionView,
} from '../../index';

export interface AssessmentView {
  state: ConnectionState;
  session: AuthSuccessData | undefined;
  question: QuestionView | undefined;
  lastFeedback: AnswerFeedbackData | undefined;
  result: CompletedSummary | undefined;
  pendingAnswers: readonly OutboxEntry[];
  /** The latest error, server or client, for a toast. */
  error: { code: string; message: string } | undefined;
  start(): Promise<void>;
  answer(questionId: string, option: string): Promise<void>;
  complete(): Promise<void>;
}

export function useAssessment(options: AssessmentClientOptions): AssessmentView {
  const { url, testId, getToken } = options;
  // A new client only when what identifies the session changes: pass a stable getToken (from
  // useCallback or module scope), or every render starts a new client.
  const client = useMemo(() => new AssessmentClient(options), [url, testId, getToken]);
  const [state, setState] = useState<ConnectionState>(client.state);
  const [session, setSession] = useState<AuthSuccessData | undefined>(undefined);
  const [question, setQuestion] = useState<QuestionView | undefined>(undefined);
  const [lastFeedback, setLastFeedback] = useState<AnswerFeedbackData | undefined>(undefined);
  const [result, setResult] = useState<CompletedSummary | undefined>(undefined);
  const [pendingAnswers, setPendingAnswers] = useState<readonly OutboxEntry[]>(client.pendingAnswers);
  const [error, setError] = useState<{ code: string; message: string } | undefined>(undefined);

  useEffect(() => {
    const offs = [
      client.on('state', setState),
      client.on('auth_success', (data) => {
        setSession(data);
        // After a reconnect the snapshot is the truth: a resent answer may be a duplicate, and no
        // `question` follows a duplicate.
        if (data.recovered_assessment) setQuestion(data.recovered_assessment.current_question);
      }),
      client.on('assessment_started', (snapshot) => setQuestion(snapshot.current_question)),
      client.on('assessment_recovered', (snapshot) => setQuestion(snapshot.current_question)),
      client.on('question', setQuestion),
      client.on('answer_feedback', (feedback) => {
        setLastFeedback(feedback);
        if (feedback.progress.current_question_index >= feedback.progress.total) setQuestion(undefined);
      }),
      // Arrives again after every auth once completed (a token refresh included): the same
      // assessment_id means nothing new.
      client.on('assessment_completed', (summary) =>
        setResult((previous) => (previous?.assessment_id === summary.assessment_id ? previous : summary)),
      ),
      client.on('outbox', setPendingAnswers),
      client.on('error', ({ code, message }) => setError({ code, message })),
      client.on('auth_error', ({ code, message }) => setError({ code, message })),
    ];
    void client.connect();
    return () => {
      for (const off of offs) off();
      client.close();
    };
  }, [client]);

  const start = useCallback(async () => {
    await client.startAssessment();
  }, [client]);
  const answer = useCallback(
    async (questionId: string, option: string) => {
      await client.submitAnswer(questionId, option);
    },
    [client],
  );
  const complete = useCallback(async () => {
    setResult(await client.completeAssessment());
  }, [client]);

  return { state, session, question, lastFeedback, result, pendingAnswers, error, start, answer, complete };
}
