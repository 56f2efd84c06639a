/**
 * ESM resolve hooks (registered with module.register in every instance). Two jobs:
 * - packages the Lambda Node.js runtime provides (the AWS SDK v3) resolve from the emulator's own
 *   node_modules, as they do from the runtime's on AWS; NODE_PATH does the same for require();
 * - a bare import from the function's code never resolves to a node_modules folder *above* the
 *   task root (on AWS there is none), so a package the bundle forgot fails here as it would there.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { providedByRuntime } from './runtime-packages';

interface HookData {
  readonly taskRoot: string;
  readonly sdkRoot: string;
}

interface ResolveContext {
  readonly parentURL?: string;
  readonly conditions: readonly string[];
  readonly importAttributes?: Record<string, string>;
}

interface ResolveResult {
  readonly url: string;
  readonly format?: string | null;
  readonly shortCircuit?: boolean;
}

type NextResolve = (specifier: string, context?: ResolveContext) => ResolveResult | Promise<ResolveResult>;

let taskRootUrl = '';
let sdkParentUrl = '';

export function initialize(data: HookData): void {
  taskRootUrl = pathToFileURL(path.join(data.taskRoot, '/')).href;
  sdkParentUrl = pathToFileURL(path.join(data.sdkRoot, 'index.js')).href;
}

const isBare = (specifier: string) => !/^(\.|\/|#|[a-z][a-z0-9+.-]*:)/i.test(specifier);

export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: NextResolve,
): Promise<ResolveResult> {
  if (!isBare(specifier) || !context.parentURL?.startsWith(taskRootUrl)) {
    return nextResolve(specifier, context);
  }
  let resolved: ResolveResult;
  try {
    resolved = await nextResolve(specifier, context);
  } catch (error) {
    if (providedByRuntime(specifier)) return nextResolve(specifier, { ...context, parentURL: sdkParentUrl });
    throw error;
  }
  if (resolved.url.startsWith('node:') || resolved.url.startsWith(taskRootUrl)) return resolved;
  if (providedByRuntime(specifier)) return nextResolve(specifier, { ...context, parentURL: sdkParentUrl });
  const notFound = new Error(`Cannot find package '${specifier}' imported from ${context.parentURL}`);
  Object.assign(notFound, { code: 'ERR_MODULE_NOT_FOUND' });
  throw notFound;
}
