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

export function isolateModules(options: { taskRoot: string; sdkRoot: string; hooksPath: string }): void {
  const inside = (file: string) =>
    file === options.taskRoot || file.startsWith(`${options.taskRoot}${path.sep}`);
  const internals = Module as unknown as ModuleInternals;
  const lookupPaths = internals._nodeModulePaths.bind(Module);
  internals._nodeModulePaths = (from: string) => {
    const paths = lookupPaths(from);
    return inside(from) ? paths.filter(inside) : paths;
  };
  register(pathToFileURL(options.hooksPath).href, {
    data: { taskRoot: options.taskRoot, sdkRoot: options.sdkRoot },
  });
}
