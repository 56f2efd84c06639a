/**
 * Makes the function's code see the packages a Lambda sandbox has, and no others: its own
 * node_modules, plus the runtime's SDK (NODE_PATH for require(), the resolve hooks for import).
 * The folder a local asset sits in usually has the emulator's node_modules above it; on AWS
 * nothing is above /var/task, so require() from the task root stops looking at the task root.
 */
import Module, { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface ModuleInternals {
  _nodeModulePaths(from: string): string[];
}

/** require() from the task root: its own node_modules, then NODE_PATH (the runtime's SDK). */
export function isolateRequire(taskRoot: string): void {
  const inside = (file: string) => file === taskRoot || file.startsWith(`${taskRoot}${path.sep}`);
  const internals = Module as unknown as ModuleInternals;
  const lookupPaths = internals._nodeModulePaths.bind(Module);
  internals._nodeModulePaths = (from: string) => {
    const paths = lookupPaths(from);
    return inside(from) ? paths.filter(inside) : paths;
  };
}

/**
 * import from the task root: the same packages, through resolve hooks (NODE_PATH does not apply
 * to ES modules). Registered when the handler is an ES module; a CommonJS handler's own dynamic
 * import() then resolves by plain Node rules.
 */
export function registerImportHooks(options: { taskRoot: string; sdkRoot: string; hooksPath: string }): void {
  register(pathToFileURL(options.hooksPath).href, {
    data: { taskRoot: options.taskRoot, sdkRoot: options.sdkRoot },
  });
}
