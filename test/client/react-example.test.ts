/**
 * The React example (client/examples/react/use-assessment.ts) type-checks against React's own
 * types and the SDK, and a wrong use of it does not: the check can fail.
 */
import * as path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..');
const example = path.join(root, 'client', 'examples', 'react', 'use-assessment.ts');

function diagnosticsWith(extra: Record<string, string>): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (file) => extra[file] ?? readFile(file);
  host.fileExists = (file) => file in extra || fileExists(file);
  host.getSourceFile = (file, language, onError) =>
    file in extra
      ? ts.createSourceFile(file, extra[file] ?? '', language)
      : getSourceFile(file, language, onError);
  const program = ts.createProgram([example, ...Object.keys(extra)], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

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
      diagnosticsWith(
        usage(`{ url: 'ws://localhost:3001/local', testId: 'demo', getToken: async () => 't' }`),
      ),
    ).toEqual([]);
  });

  it('refuses options the SDK does not accept', () => {
    const errors = diagnosticsWith(usage(`{ url: 'ws://localhost:3001/local', testId: 'demo' }`));
    expect(errors.join('\n')).toMatch(/getToken/);
  });
});
