/**
 * A cloud assembly's `manifest.json`: its stacks (nested stage assemblies included) in the order
 * CloudFormation would deploy them, and each stack's assets manifest. Reading files is the only
 * side effect; nothing is started.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TemplateError } from './intrinsics';

export interface StackArtifact {
  /** The artifact id, unique in the assembly (nested ones are prefixed with their stage's id). */
  readonly artifactId: string;
  readonly stackName: string;
  /** Absolute path of the template. */
  readonly templateFile: string;
  /** `aws://account/region`; unknown parts are `unknown-account` / `unknown-region`. */
  readonly environment: { readonly account?: string; readonly region?: string };
  /** Asset hash -> absolute path of the asset as synthesized (a folder, or a file such as a zip). */
  readonly assets: ReadonlyMap<string, string>;
}

interface RawArtifact {
  type?: string;
  environment?: string;
  properties?: Record<string, unknown>;
  dependencies?: string[];
  displayName?: string;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TemplateError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function parseEnvironment(value: string | undefined): StackArtifact['environment'] {
  const match = /^aws:\/\/([^/]*)\/(.*)$/.exec(value ?? '');
  if (!match) return {};
  const [, account, region] = match;
  return {
    ...(account && account !== 'unknown-account' ? { account } : {}),
    ...(region && region !== 'unknown-region' ? { region } : {}),
  };
}

/** `files.<hash>.source.path` of an assets manifest, resolved against its folder. */
export function readAssetsManifest(file: string): Map<string, string> {
  const manifest = readJson(file) as { files?: Record<string, { source?: { path?: string } }> };
  const dir = path.dirname(file);
  const assets = new Map<string, string>();
  for (const [hash, entry] of Object.entries(manifest.files ?? {})) {
    const source = entry.source?.path;
    if (typeof source !== 'string') continue;
    // Nested stage assemblies keep their assets at the top level: look upwards when needed.
    let candidate = path.resolve(dir, source);
    for (let up = dir; !existsSync(candidate) && path.dirname(up) !== up; up = path.dirname(up)) {
      candidate = path.resolve(path.dirname(up), source);
    }
    assets.set(hash, existsSync(candidate) ? candidate : path.resolve(dir, source));
  }
  return assets;
}

/** Every stack of the assembly in `dir`, dependencies first. */
export function readAssembly(dir: string): StackArtifact[] {
  const root = path.resolve(dir);
  if (!existsSync(path.join(root, 'manifest.json'))) {
    throw new TemplateError(`${root} has no manifest.json: is it a cloud assembly (cdk.out)?`);
  }
  const stacks = new Map<string, StackArtifact & { dependencies: string[] }>();
  collect(root, '', stacks);
  return order(stacks);
}

function collect(
  dir: string,
  prefix: string,
  into: Map<string, StackArtifact & { dependencies: string[] }>,
): void {
  const manifest = readJson(path.join(dir, 'manifest.json')) as { artifacts?: Record<string, RawArtifact> };
  const artifacts = manifest.artifacts ?? {};
  for (const [id, artifact] of Object.entries(artifacts)) {
    const props = artifact.properties ?? {};
    if (artifact.type === 'cdk:cloud-assembly') {
      const directory = props.directoryName;
      if (typeof directory !== 'string')
        throw new TemplateError(`nested assembly ${id} has no directoryName`);
      collect(path.resolve(dir, directory), `${prefix}${id}/`, into);
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = props.templateFile;
    if (typeof templateFile !== 'string') throw new TemplateError(`stack ${id} has no templateFile`);
    const assets = new Map<string, string>();
    for (const dependency of artifact.dependencies ?? []) {
      const asset = artifacts[dependency];
      const file = asset?.properties?.file;
      if (asset?.type === 'cdk:asset-manifest' && typeof file === 'string') {
        for (const [hash, location] of readAssetsManifest(path.resolve(dir, file)))
          assets.set(hash, location);
      }
    }
    into.set(`${prefix}${id}`, {
      artifactId: `${prefix}${id}`,
      stackName: typeof props.stackName === 'string' ? props.stackName : id,
      templateFile: path.resolve(dir, templateFile),
      environment: parseEnvironment(artifact.environment),
      assets,
      dependencies: (artifact.dependencies ?? [])
        .filter((dependency) => artifacts[dependency]?.type === 'aws:cloudformation:stack')
        .map((dependency) => `${prefix}${dependency}`),
    });
  }
}

/** Depth-first topological order; manifest order among independent stacks. */
function order(stacks: Map<string, StackArtifact & { dependencies: string[] }>): StackArtifact[] {
  const done = new Set<string>();
  const visiting = new Set<string>();
  const result: StackArtifact[] = [];
  const visit = (id: string, chain: string[]) => {
    if (done.has(id)) return;
    if (visiting.has(id)) throw new TemplateError(`stack dependency cycle: ${[...chain, id].join(' -> ')}`);
    const stack = stacks.get(id);
    if (!stack) return; // a dependency outside the assembly (e.g. an asset artifact)
    visiting.add(id);
    for (const dependency of stack.dependencies) visit(dependency, [...chain, id]);
    visiting.delete(id);
    done.add(id);
    const { dependencies: _dependencies, ...artifact } = stack;
    result.push(artifact);
  };
  for (const id of stacks.keys()) visit(id, []);
  return result;
}
