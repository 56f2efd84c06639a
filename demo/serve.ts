/**
 * The demo quiz page's static assets, built in memory so the local stack can serve them at /demo/
 * without a build step: `index.html`, `styles.css` and `app.js` (demo/app.ts and the client SDK,
 * bundled by esbuild as one browser IIFE).
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { build } from 'esbuild';

export interface DemoAsset {
  contentType: string;
  body: string | Uint8Array;
}

/** Assets keyed by their path relative to `/demo/` (`index.html`, `app.js`, `styles.css`). */
export async function createDemoAssets(): Promise<Record<string, DemoAsset>> {
  const [html, css, bundle] = await Promise.all([
    readFile(path.join(__dirname, 'index.html'), 'utf8'),
    readFile(path.join(__dirname, 'styles.css'), 'utf8'),
    build({
      entryPoints: [path.join(__dirname, 'app.ts')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
    }),
  ]);
  const js = bundle.outputFiles[0];
  if (js === undefined) throw new Error('esbuild produced no output for demo/app.ts');
  return {
    'index.html': { contentType: 'text/html; charset=utf-8', body: html },
    'styles.css': { contentType: 'text/css; charset=utf-8', body: css },
    'app.js': { contentType: 'text/javascript; charset=utf-8', body: js.text },
  };
}
