/**
 * ESM resolve hooks (registered with module.register in instances whose handler is an ES module).
 * They give import what the Lambda Node.js 18+ runtimes give it:
 * - a bare import from the function's code (task root or /opt) first resolves by Node's rules but
 *   never to a node_modules folder *above* that root (on AWS there is none), then searches the
 *   NODE_PATH folders in order, as those runtimes do for ES modules: the layers' node_modules,
 *   then the runtime's SDK. A package neither the bundle nor a layer holds fails as it would there;
 * - `/opt/...` (a path or a file: URL) leads to the function's layers.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isInside, mapOptPath, withOptPaths } from './module-isolation';

interface HookData {
  readonly taskRoot: string;
  readonly optRoot: string;
  /** The instance's NODE_PATH, in order. */
  readonly nodePath: readonly string[];
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

let roots: readonly string[] = [];
let optRoot = '';
let packageFolders: readonly string[] = [];

export function initialize(data: HookData): void {
  optRoot = data.optRoot;
  roots = [data.taskRoot, data.optRoot];
  // A NODE_PATH entry holds packages directly; only node_modules folders can be searched through
  // Node's resolver (by resolving from a file next to them), and those are the ones that matter.
  packageFolders = data.nodePath.filter((folder) => path.basename(folder) === 'node_modules');
}

const isBare = (specifier: string) => !/^(\.|\/|#|[a-z][a-z0-9+.-]*:)/i.test(specifier);

/** `@scope/name` or `name`, without a subpath. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

function fileOf(url: string): string | undefined {
  return url.startsWith('file:') ? fileURLToPath(url) : undefined;
}

function inRoots(url: string): boolean {
  const file = fileOf(url);
  return file !== undefined && roots.some((root) => isInside(root, file));
}

function optSpecifier(specifier: string): string | undefined {
  const file = specifier.startsWith('file:') ? fileURLToPath(specifier) : specifier;
  const mapped = mapOptPath(file, optRoot);
  return mapped === undefined ? undefined : pathToFileURL(mapped).href;
}

export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: NextResolve,
): Promise<ResolveResult> {
  const opt = optSpecifier(specifier);
  if (opt) {
    try {
      return await nextResolve(opt, context);
    } catch (error) {
      throw withOptPaths(error, optRoot);
    }
  }
  if (!isBare(specifier) || !context.parentURL || !inRoots(context.parentURL)) {
    return nextResolve(specifier, context);
  }
  let failure: unknown;
  try {
    const resolved = await nextResolve(specifier, context);
    if (resolved.url.startsWith('node:') || inRoots(resolved.url)) return resolved;
  } catch (error) {
    failure = error;
  }
  const name = packageName(specifier);
  // The folder holding the package is node_modules itself, so resolving from beside it finds the
  // package there first and never climbs to a node_modules further up.
  const folder = packageFolders.find((candidate) => existsSync(path.join(candidate, name)));
  if (folder) {
    return nextResolve(specifier, {
      ...context,
      parentURL: pathToFileURL(path.join(path.dirname(folder), 'node-path.js')).href,
    });
  }
  if (failure) throw failure;
  const notFound = new Error(`Cannot find package '${specifier}' imported from ${context.parentURL}`);
  Object.assign(notFound, { code: 'ERR_MODULE_NOT_FOUND' });
  throw notFound;
}
