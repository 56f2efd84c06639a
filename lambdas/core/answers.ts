/**
 * An attempt's answers as the test shows them. The store keeps each answer compactly (the option's
 * position and a hash of its request id, see StoredChoice) so that an answer's write does not
 * grow with the test; this module turns them back into question ids and option text with the test
 * definition, which every caller holds already. Attempts stored before that (with the text, keyed
 * by question id) read the same, and so do attempts that mix both.
 *
 * Request-id hashes: 12 base64url characters of SHA-256 (72 bits), compared only within one
 * attempt. Two different request ids of one attempt with the same hash make the later one look
 * like the earlier one: it is then answered as a duplicate when it carries the same question and
 * option (which that question does hold), and refused with `request_id_reused` otherwise. Nothing
 * is stored twice and no stored answer changes, because the conditional write refuses every
 * request whose hash is present; an honest client's chance of this is about n^2 / 2^73 for n
 * answers (below 10^-17 at 200), and a client that forges a collision only refuses its own answer.
 */
import { createHash } from 'node:crypto';
import { ownValue } from './own-keys';
import type { AssessmentRecord, TestDefinition } from './ports';

export const REQUEST_HASH_CHARS = 12;

export function requestHash(requestId: string): string {
  return createHash('sha256').update(requestId, 'utf8').digest('base64url').slice(0, REQUEST_HASH_CHARS);
}

export interface Answer {
  questionIndex: number;
  questionId: string;
  /** The option's text, as the client sent it. */
  option: string;
  /** The hash of the request id that stored it; null for an answer in the old, text form. */
  requestHash: string | null;
  /**
   * The client's request id, when the attempt still holds it: answers in the old form, and
   * compact answers whose AI turn is not delivered yet.
   */
  requestId: string | null;
}

/**
 * The stored answers in question order. Stops at an answer the test cannot explain (an option
 * position the question does not have: the test was edited under a running attempt).
 */
export function answersOf(record: AssessmentRecord, test: TestDefinition): Answer[] {
  const answers: Answer[] = [];
  const legacyRequestIds = legacyRequestsByQuestion(record);
  let next = 0;
  const count = Math.min(record.answeredCount, test.questions.length);
  for (let questionIndex = 0; questionIndex < count; questionIndex++) {
    const question = test.questions[questionIndex];
    if (!question) break;
    const questionId = question.question_id;
    const legacyOption = record.legacy && ownValue(record.legacy.options, questionId);
    if (legacyOption !== undefined) {
      answers.push({
        questionIndex,
        questionId,
        option: legacyOption,
        requestHash: null,
        requestId: legacyRequestIds.get(questionId) ?? null,
      });
      continue;
    }
    const choice = record.choices[next++];
    const option = choice === undefined ? undefined : question.options[choice.option];
    if (!choice || option === undefined) break;
    answers.push({
      questionIndex,
      questionId,
      option,
      requestHash: choice.request,
      requestId: ownValue(record.pendingRequestIds ?? {}, String(questionIndex)) ?? null,
    });
  }
  return answers;
}

/** The answer a request id stored, if it stored one (by its hash, or by itself in the old form). */
export function answerOfRequest(answers: Answer[], requestId: string): Answer | undefined {
  const hash = requestHash(requestId);
  return answers.find((a) => (a.requestHash === null ? a.requestId === requestId : a.requestHash === hash));
}

function legacyRequestsByQuestion(record: AssessmentRecord): Map<string, string> {
  const byQuestion = new Map<string, string>();
  for (const [requestId, questionId] of Object.entries(record.legacy?.requestQuestions ?? {})) {
    byQuestion.set(questionId, requestId);
  }
  return byQuestion;
}
