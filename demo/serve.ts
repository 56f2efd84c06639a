/**
 * The demo pages' static assets, built in memory so the local stack can serve them at /demo/
 * without a build step: the quiz (`index.html`, `styles.css`, `app.js`: demo/app.ts and the client
 * SDK bundled by esbuild as one browser IIFE) and the proctor view (`proctor.html`, `proctor.css`,
 * `proctor.js` from demo/proctor.ts).
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { build } from 'esbuild';

export interface DemoAsset {
  contentType: string;
  body: string | Uint8Array;
}

const bundle = (entry: string) =>
  build({
    entryPoints: [path.join(__dirname, entry)],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  }).then((result) => {
    const js = result.outputFiles[0];
    if (js === undefined) throw new Error(`esbuild produced no output for demo/${entry}`);
    return js.text;
  });

const read = (name: string) => readFile(path.join(__dirname, name), 'utf8');

/** Assets keyed by their path relative to `/demo/`. */
export async function createDemoAssets(): Promise<Record<string, DemoAsset>> {
  const [html, css, js, proctorHtml, proctorCss, proctorJs] = await Promise.all([
    read('index.html'),
    read('styles.css'),
    bundle('app.ts'),
    read('proctor.html'),
    read('proctor.css'),
    bundle('proctor.ts'),
  ]);
  const page = (body: string) => ({ contentType: 'text/html; charset=utf-8', body });
  const style = (body: string) => ({ contentType: 'text/css; charset=utf-8', body });
  const script = (body: string) => ({ contentType: 'text/javascript; charset=utf-8', body });
  return {
    'index.html': page(html),
    'styles.css': style(css),
    'app.js': script(js),
    'proctor.html': page(proctorHtml),
    'proctor.css': style(proctorCss),
    'proctor.js': script(proctorJs),
  };
}
