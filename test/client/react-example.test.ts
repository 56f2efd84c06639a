/**
 * The React example (client/examples/react/use-assessment.ts) type-checks against React's own
 * types and the SDK, and a wrong use of it does not: the check can fail.
 */
import * as path from 'node:path';
import { typeErrors } from '../support/typecheck';

const root = path.resolve(__dirname, '..', '..');
const example = path.join(root, 'client', 'examples', 'react', 'use-assessment.ts');

const usage = (args: string) => ({
  [path.join(root, 'client', 'examples', 'react', 'usage.ts')]: `
    import { useAssessment } from './use-assessment';
    export function useQuiz() {
      const view = useAssessment(${args});
      const title: string | undefined = view.question?.text;
      const score: number | undefined = view.result?.score;
      return { title, score, answer: () => view.answer('q1', 'A') };
    }
  `,
});

describe('the React example', () => {
  it('type-checks with the SDK and React types', () => {
    expect(
      typeErrors(
        [example],
        usage(`{ url: 'ws://localhost:3001/local', testId: 'demo', getToken: async () => 't' }`),
      ),
    ).toEqual([]);
  });

  it('refuses options the SDK does not accept', () => {
    const errors = typeErrors([example], usage(`{ url: 'ws://localhost:3001/local', testId: 'demo' }`));
    expect(errors.join('\n')).toMatch(/getToken/);
  });
});
