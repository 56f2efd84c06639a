/**
 * Layers AWS publishes, which no assembly holds but the local stack can stand in for with packages
 * it has installed. One so far: Powertools for AWS Lambda (TypeScript), which its docs offer as a
 * layer (`arn:aws:lambda:<region>:094274105915:layer:AWSLambdaPowertoolsTypeScriptV2:<n>`), so
 * apps list its ARN and leave `@aws-lambda-powertools/*` out of their bundles. The stand-in is a
 * layer folder whose `nodejs/node_modules/@aws-lambda-powertools/<package>` link to the installed
 * packages (their versions, not necessarily the layer version's); packages of the real layer that
 * are not installed here are named in a warning, and code importing them fails as without a layer.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

const POWERTOOLS_TYPESCRIPT =
  /^arn:aws:lambda:[a-z0-9-]+:094274105915:layer:AWSLambdaPowertoolsTypeScript(V2)?:\d+$/;

/** What the published Powertools TypeScript layer carries under `@aws-lambda-powertools/`. */
const POWERTOOLS_PACKAGES = [
  'batch',
  'commons',
  'event-handler',
  'idempotency',
  'jmespath',
  'logger',
  'metrics',
  'parameters',
  'parser',
  'tracer',
] as const;

const projectRoot = path.resolve(__dirname, '..', '..');

export interface PublishedLayer {
  /** The layer folder standing in for it. */
  readonly location: string;
  /** The real layer's packages this one lacks. */
  readonly missing: readonly string[];
  /** The version of the installed packages standing in (`2.36.0`), when one is installed. */
  readonly installedVersion?: string;
  /**
   * The Powertools major version the ARN's layer carries (1 for `AWSLambdaPowertoolsTypeScript`,
   * 2 for `...V2`); the stand-in's packages may be of another one, whose API differs.
   */
  readonly layerMajorVersion: number;
}

type StandIn = Omit<PublishedLayer, 'layerMajorVersion'>;
let powertools: StandIn | undefined;

/** The stand-in for a layer AWS publishes, or undefined when the ARN is not one the stack knows. */
export function publishedLayer(arn: string): PublishedLayer | undefined {
  const match = POWERTOOLS_TYPESCRIPT.exec(arn);
  if (!match) return undefined;
  powertools ??= powertoolsLayer();
  return { ...powertools, layerMajorVersion: match[1] ? 2 : 1 };
}

function powertoolsLayer(): StandIn {
  const installed = path.join(projectRoot, 'node_modules', '@aws-lambda-powertools');
  const present = POWERTOOLS_PACKAGES.filter((name) => existsSync(path.join(installed, name)));
  const missing = POWERTOOLS_PACKAGES.filter((name) => !present.includes(name));
  const cacheDir = path.join(projectRoot, 'node_modules', '.cache', 'local-lambda-published-layers');
  const location = path.join(cacheDir, `powertools-typescript-${present.join('+')}`);
  if (!existsSync(location)) {
    // Built aside and renamed: another stack starting at the same moment sees all of it or none.
    const workDir = `${location}.tmp-${process.pid}`;
    rmSync(workDir, { recursive: true, force: true });
    const scope = path.join(workDir, 'nodejs', 'node_modules', '@aws-lambda-powertools');
    mkdirSync(scope, { recursive: true });
    for (const name of present) symlinkSync(path.join(installed, name), path.join(scope, name), 'dir');
    try {
      renameSync(workDir, location);
    } catch (error) {
      rmSync(workDir, { recursive: true, force: true });
      if (!existsSync(location)) throw error;
    }
  }
  const first = present[0];
  const installedVersion = first
    ? (JSON.parse(readFileSync(path.join(installed, first, 'package.json'), 'utf8')) as { version?: string })
        .version
    : undefined;
  return { location, missing, ...(installedVersion ? { installedVersion } : {}) };
}
