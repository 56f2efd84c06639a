/**
 * Serves the demo quiz page under `/demo/` (GET `/` and `/demo` redirect to `/demo/`). The assets
 * come from `createDemoAssets()` in demo/serve.ts, built once, on the first request. When that
 * module is missing or fails to load, `/demo/` answers 503 with the reason, and the stack logs it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';

export interface DemoAsset {
  contentType: string;
  body: string | Uint8Array;
}

type AssetLoader = () => Promise<Record<string, DemoAsset>>;

/** Loads `createDemoAssets` from `<rootDir>/demo/serve.ts`, or explains why it cannot. */
export function loadDemoAssetFactory(rootDir: string): { load: AssetLoader } | { error: string } {
  const modulePath = path.join(rootDir, 'demo', 'serve.ts');
  try {
    const factory = (require(modulePath) as { createDemoAssets?: unknown }).createDemoAssets;
    if (typeof factory !== 'function') return { error: `${modulePath} does not export createDemoAssets()` };
    return { load: factory as AssetLoader };
  } catch (error) {
    return { error: `cannot load ${modulePath}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function createDemoHandler(source: { load: AssetLoader } | { error: string }) {
  let assets: Promise<Record<string, DemoAsset>> | undefined;

  const text = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(body);
  };

  /** Returns false when the path is not the demo's. */
  return function handleDemoRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname === '/' || pathname === '/demo') {
      req.resume();
      text(res, 302, 'see /demo/\n', { location: '/demo/' });
      return true;
    }
    if (!pathname.startsWith('/demo/')) return false;
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      text(res, 405, 'method not allowed\n');
      return true;
    }
    if ('error' in source) {
      text(res, 503, `demo page unavailable: ${source.error}\n`);
      return true;
    }
    assets ??= source.load();
    const name = pathname.slice('/demo/'.length) || 'index.html';
    assets.then(
      (all) => {
        const asset = Object.hasOwn(all, name) ? all[name] : undefined;
        if (!asset) {
          text(res, 404, `no demo asset ${name}\n`);
          return;
        }
        const body = typeof asset.body === 'string' ? Buffer.from(asset.body) : Buffer.from(asset.body);
        res.writeHead(200, {
          'content-type': asset.contentType,
          'content-length': String(body.length),
          'cache-control': 'no-cache',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        assets = undefined; // try again on the next request (e.g. after fixing a syntax error)
        text(res, 500, `demo page build failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
    return true;
  };
}
