/**
 * Type-checks files with the TypeScript compiler, as a test step: type tests (`@ts-expect-error`
 * cases, type-level assertions) fail a jest run too, not only `npm run typecheck`. Extra in-memory
 * files let a test add a use that must, or must not, compile.
 */
import ts from 'typescript';

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  noEmit: true,
  skipLibCheck: true,
  esModuleInterop: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
};

/** The messages of every diagnostic, prefixed with file and line. `types`: the global type packages to load. */
export function typeErrors(
  files: string[],
  extra: Record<string, string> = {},
  types: string[] = [],
): string[] {
  const options = { ...OPTIONS, types };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (file) => extra[file] ?? readFile(file);
  host.fileExists = (file) => file in extra || fileExists(file);
  host.getSourceFile = (file, language, onError) => {
    const text = extra[file];
    return text === undefined
      ? getSourceFile(file, language, onError)
      : ts.createSourceFile(file, text, language);
  };
  const program = ts.createProgram([...files, ...Object.keys(extra)], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where =
      d.file && d.start !== undefined
        ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: `
        : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}
