/** Function definitions over the runtime fixtures, and a log recorder, for the runtime suites. */
import path from 'node:path';
import type { FunctionDefinition } from '../../local/runtime/contract';

export const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'runtime');
export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';

export function fixtureFunction(
  name: string,
  folder: string,
  handler: string,
  overrides: Partial<FunctionDefinition> = {},
): FunctionDefinition {
  return {
    id: `RuntimeTest/${name}`,
    functionName: `RuntimeTest-${name}`,
    arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:RuntimeTest-${name}`,
    handler,
    runtime: 'nodejs24.x',
    codeDir: path.isAbsolute(folder) ? folder : path.join(FIXTURES, folder),
    timeoutSeconds: 3,
    memoryMb: 256,
    environment: {},
    policy: [],
    ...overrides,
  };
}

export class LogRecorder {
  readonly lines: string[] = [];
  readonly log = (line: string): void => {
    this.lines.push(line);
  };

  /** Waits until a line matches (instance output arrives on its own pipe, after the result). */
  async waitFor(pattern: RegExp, timeoutMs = 2000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((line) => pattern.test(line));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no log line matched ${pattern}:\n${this.lines.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
