/**
 * Makes the function's code see the packages a Lambda sandbox has, and no others: its own
 * node_modules, the layers' (what Lambda extracts to /opt), and the runtime's SDK, through
 * NODE_PATH for require() and the resolve hooks for import.
 * The folders a local asset or layer sits in usually have the emulator's node_modules above them;
 * on AWS nothing is above /var/task or /opt, so require() from inside either stops looking there.
 */
import Module, { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface ModuleInternals {
  _nodeModulePaths(from: string): string[];
  _resolveFilename(request: string, ...rest: unknown[]): string;
}

/** Where code lives in a sandbox: the task root, and /opt when the function has layers. */
export interface CodeRoots {
  readonly taskRoot: string;
  /** What `/opt` stands for: the function's layers, or a folder that does not exist. */
  readonly optRoot: string;
}

export function isInside(root: string, file: string): boolean {
  return file === root || file.startsWith(`${root}${path.sep}`);
}

/** `/opt/x` in a sandbox, as the path it stands for here; undefined for any other path. */
export function mapOptPath(request: string, optRoot: string): string | undefined {
  if (request !== '/opt' && !request.startsWith('/opt/')) return undefined;
  return path.join(optRoot, request.slice('/opt'.length));
}

/**
 * require() from the task root or /opt: node_modules inside that root, then NODE_PATH (the
 * layers' node_modules, then the runtime's SDK); and `/opt/...` paths lead to the layers.
 */
export function isolateRequire(roots: CodeRoots): void {
  const internals = Module as unknown as ModuleInternals;
  const lookupPaths = internals._nodeModulePaths.bind(Module);
  internals._nodeModulePaths = (from: string) => {
    const paths = lookupPaths(from);
    for (const root of [roots.taskRoot, roots.optRoot]) {
      if (isInside(root, from)) return paths.filter((candidate) => isInside(root, candidate));
    }
    return paths;
  };
  const resolveFilename = internals._resolveFilename.bind(Module);
  internals._resolveFilename = (request: string, ...rest: unknown[]) => {
    try {
      return resolveFilename(mapOptPath(request, roots.optRoot) ?? request, ...rest);
    } catch (error) {
      throw withOptPaths(error, roots.optRoot);
    }
  };
}

/** The error with the layers' folder named `/opt` again, as the code asked for it and AWS says. */
export function withOptPaths(error: unknown, optRoot: string): unknown {
  if (error instanceof Error) error.message = error.message.split(optRoot).join('/opt');
  return error;
}

/**
 * import from the task root or /opt: the same packages, through resolve hooks (Node itself does
 * not apply NODE_PATH to ES modules; Lambda's Node.js 18+ runtimes do). Registered when the handler
 * is an ES module; a CommonJS handler's own dynamic import() then resolves by plain Node rules.
 */
export function registerImportHooks(
  options: CodeRoots & { nodePath: readonly string[]; hooksPath: string },
): void {
  register(pathToFileURL(options.hooksPath).href, {
    data: { taskRoot: options.taskRoot, optRoot: options.optRoot, nodePath: options.nodePath },
  });
}
