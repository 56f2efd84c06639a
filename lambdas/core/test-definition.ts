/**
 * The JSON format of a test definition, validated before anything is stored: a file that fails
 * validation is never half-loaded.
 */
import * as v from 'valibot';
import { isValidTestId, QUESTION_ID_MAX_LENGTH, SELECTED_OPTION_MAX_LENGTH } from '../../protocol';
import { InvalidInputError } from './errors';
import type { TestDefinition } from './ports';

const QUESTION_ID_PATTERN = new RegExp(`^[A-Za-z0-9_.:-]{1,${QUESTION_ID_MAX_LENGTH}}$`);

const text = (max: number) => v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(max));

const QuestionSchema = v.pipe(
  v.strictObject({
    question_id: v.pipe(
      v.string(),
      v.regex(QUESTION_ID_PATTERN, `must be 1-${QUESTION_ID_MAX_LENGTH} of A-Z a-z 0-9 _ . : -`),
    ),
    text: text(4000),
    // An option longer than the protocol's selected_option limit could never be answered.
    options: v.pipe(v.array(text(SELECTED_OPTION_MAX_LENGTH)), v.minLength(2), v.maxLength(20)),
    correct_option: v.string(),
  }),
  v.check((q) => new Set(q.options).size === q.options.length, 'options must be distinct'),
  v.check((q) => q.options.includes(q.correct_option), 'correct_option must be one of options'),
);

export const TestDefinitionSchema = v.pipe(
  v.strictObject({
    test_id: v.pipe(
      v.string(),
      v.check(isValidTestId, 'must match ^[A-Za-z0-9-]{1,64}$ and not be "general"'),
    ),
    title: text(200),
    duration_seconds: v.pipe(v.number(), v.integer(), v.minValue(10), v.maxValue(24 * 60 * 60)),
    questions: v.pipe(v.array(QuestionSchema), v.minLength(1), v.maxLength(200)),
  }),
  v.check(
    (t) => new Set(t.questions.map((q) => q.question_id)).size === t.questions.length,
    'question_id values must be unique',
  ),
);

export class TestDefinitionError extends InvalidInputError {}

/** Validates one test definition; the error names every bad field by its path. */
export function parseTestDefinition(input: unknown, source = 'test definition'): TestDefinition {
  const result = v.safeParse(TestDefinitionSchema, input);
  if (!result.success) {
    const problems = result.issues.map((issue) => `${v.getDotPath(issue) ?? '(root)'}: ${issue.message}`);
    throw new TestDefinitionError(`${source} is invalid: ${problems.join('; ')}`);
  }
  return result.output;
}
