/**
 * What each function's bundle loads: only the function that verifies tokens (`readsJwtSecret` in
 * the function list) carries jose and the Secrets Manager client; the others' composition
 * (lambdas/composition-base.ts) leaves them out, which keeps their bundles smaller and their cold
 * starts shorter. Bundled as NodejsFunction does (esbuild, CommonJS, the AWS SDK included).
 */
import path from 'node:path';
import { build } from 'esbuild';
import { ROUTES, SCHEDULED_JOBS } from '../../lambdas/routes';

const TOKEN_PACKAGES = ['node_modules/jose/', 'node_modules/@aws-sdk/client-secrets-manager/'];

async function bundledInputs(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [path.join(__dirname, '../..', entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
    outfile: 'out.js',
  });
  return Object.keys(result.metafile.inputs);
}

describe('function bundles', () => {
  it.each([...ROUTES, ...SCHEDULED_JOBS].map((spec) => [spec.name, spec] as const))(
    '%s carries the token libraries only if it verifies tokens',
    async (_name, spec) => {
      const inputs = await bundledInputs(spec.entry);
      expect(inputs.some((input) => input.includes('lambdas/core/'))).toBe(true);
      const tokenInputs = TOKEN_PACKAGES.filter((pkg) => inputs.some((input) => input.includes(pkg)));
      expect(tokenInputs).toEqual(spec.readsJwtSecret ? TOKEN_PACKAGES : []);
    },
    20_000,
  );
});
