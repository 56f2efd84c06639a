/**
 * The fixture CDK apps under test/fixtures/foreign-apps, synthesized once per content (each app's
 * folder plus package-lock.json) into the git-ignored .local-cache/foreign-apps, so a second test
 * run reuses the assemblies.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { ensureCachedAssembly } from '../../local/app/synth-cache';

const ROOT = path.resolve(__dirname, '..', '..');

export type ForeignApp =
  | 'l1-broadcast'
  | 'l2-authorized'
  | 'l2-stage-twoway'
  | 'l2-nested-stack'
  | 'l2-layers'
  | 'l2-two-apis'
  | 'l2-workshop-chat';

export async function foreignAppAssembly(app: ForeignApp): Promise<string> {
  const appDir = path.join(ROOT, 'test', 'fixtures', 'foreign-apps', app);
  const assembly = await ensureCachedAssembly({
    rootDir: ROOT,
    cacheDir: path.join(ROOT, '.local-cache', 'foreign-apps', app),
    inputs: [path.relative(ROOT, appDir), 'package-lock.json'],
    keep: 2,
    synthesize: (outDir) =>
      new Promise((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', path.join(appDir, 'app.ts')],
          {
            cwd: appDir,
            timeout: 120_000,
            // The schema validator costs seconds and checks nothing these tests look at.
            env: { ...process.env, CDK_OUTDIR: outDir, CDK_VALIDATION: 'false' },
          },
          (error, _stdout, stderr) =>
            error ? reject(new Error(`synth of ${app} failed: ${error.message}\n${stderr}`)) : resolve(),
        );
      }),
  });
  return assembly.dir;
}
