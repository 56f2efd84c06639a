/**
 * Handler resolution as the Lambda Node.js runtime does it: the handler string's directory part
 * is a folder under the task root; in its last segment the first dot splits the module name from
 * the export path, and the export path may be nested (`index.handlers.main`). For the usual
 * `index.handler` and `src/app.handler` that is the same as splitting at the last dot.
 * `.js` follows the nearest package.json `type`; `.mjs` is ESM and `.cjs` CommonJS.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** An error whose `name` is the errorType Lambda reports (Runtime.ImportModuleError, ...). */
export class RuntimeError extends Error {
  constructor(errorType: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = errorType;
  }
}

export type Handler = (
  event: unknown,
  context: unknown,
  callback: (error?: unknown, value?: unknown) => void,
) => unknown;

/**
 * @param beforeImport runs once before the first ES module is imported (the import hooks cost a
 *   loader thread, so CommonJS handlers do without them).
 */
export async function loadHandler(
  taskRoot: string,
  handlerString: string,
  beforeImport: () => void,
): Promise<Handler> {
  if (handlerString.includes('..')) {
    throw new RuntimeError('Runtime.MalformedHandlerName', "'..' is not allowed in handler name.");
  }
  const lastSegment = path.basename(handlerString);
  const moduleDir = handlerString.slice(0, handlerString.length - lastSegment.length);
  const match = /^([^.]*)\.(.*)$/.exec(lastSegment);
  if (!match?.[1] || !match[2]) {
    throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  }
  const [, moduleName, exportPath] = match;
  const loaded = await loadModule(path.resolve(taskRoot, moduleDir, moduleName), moduleName, beforeImport);
  let handler: unknown = loaded;
  for (const key of exportPath.split('.')) {
    handler =
      handler === null || handler === undefined ? undefined : (handler as Record<string, unknown>)[key];
  }
  if (typeof handler !== 'function') {
    throw new RuntimeError(
      'Runtime.HandlerNotFound',
      `${moduleName}.${exportPath} is undefined or not exported`,
    );
  }
  return handler as Handler;
}

async function loadModule(basePath: string, moduleName: string, beforeImport: () => void): Promise<unknown> {
  const importFile = (file: string): Promise<unknown> => {
    beforeImport();
    return import(pathToFileURL(file).href);
  };
  const requireFrom = createRequire(path.join(path.dirname(basePath), '/'));
  const isFile = (file: string) => existsSync(file) && statSync(file).isFile();
  try {
    if (isFile(basePath)) return requireFrom(basePath);
    const js = `${basePath}.js`;
    if (isFile(js)) return nearestPackageIsModule(path.dirname(js)) ? await importFile(js) : requireFrom(js);
    if (isFile(`${basePath}.mjs`)) return await importFile(`${basePath}.mjs`);
    if (isFile(`${basePath}.cjs`)) return requireFrom(`${basePath}.cjs`);
  } catch (error) {
    throw asInitError(error);
  }
  throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
}

function nearestPackageIsModule(dir: string): boolean {
  for (let current = dir; ; current = path.dirname(current)) {
    const manifest = path.join(current, 'package.json');
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type === 'module';
      } catch {
        return false;
      }
    }
    if (path.dirname(current) === current) return false;
  }
}

/** What Lambda reports when loading the handler's module fails. */
function asInitError(error: unknown): Error {
  if (!(error instanceof Error)) return new RuntimeError('Runtime.UserCodeError', String(error));
  const code = (error as { code?: unknown }).code;
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
    return new RuntimeError('Runtime.ImportModuleError', `Error: ${error.message}${sdkHint(error.message)}`, {
      cause: error,
    });
  }
  if (error instanceof SyntaxError) {
    return new RuntimeError('Runtime.UserCodeSyntaxError', `${error.name}: ${error.message}`, {
      cause: error,
    });
  }
  return error;
}

/**
 * Lambda's Node.js runtime ships every AWS SDK v3 client; the local stack ships the ones in its
 * own node_modules (the common ones). A handler importing another fails here and not on AWS, so
 * the error says what to do.
 */
function sdkHint(message: string): string {
  const missing = /'((?:@aws-sdk|@smithy)\/[^'/]+)/.exec(message)?.[1];
  if (missing === undefined) return '';
  return ` (the Lambda runtime provides every AWS SDK v3 package; this local stack has only the ones installed in its own node_modules: run \`npm install ${missing}\` in the local stack's project, or bundle ${missing} into the function)`;
}
