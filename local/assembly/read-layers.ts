/**
 * Lambda layers: the `AWS::Lambda::LayerVersion` resources whose content is an asset of the
 * assembly, keyed by the version ARN their Ref yields, and the layers a function's `Layers` list
 * names (a Ref, an `Fn::ImportValue` of another stack's layer, or an ARN literal), in list order:
 * Lambda extracts them into /opt in that order, later ones overwriting earlier ones.
 */
import * as path from 'node:path';
import { publishedLayer } from './published-layers';
import { existingResources, type RawResource, type StackState } from './stack-state';
import type { ReadContext } from './template';
import { list, str } from './values';

/** CloudFormation refuses a function with more layers than this. */
const MAX_LAYERS = 5;

export interface LayerIndex {
  /** The layer's content (a folder, or a .zip file) by its version ARN. */
  readonly byArn: ReadonlyMap<string, string>;
  /** The same by the layer's ARN without its version: an ARN written with another version number still names it. */
  readonly byLayerArn: ReadonlyMap<string, string>;
}

/** `arn:aws:lambda:<region>:<account>:layer:<name>`, without the version. */
function layerArnOf(versionArn: string): string {
  return versionArn.split(':').slice(0, 7).join(':');
}

/**
 * Where an asset of the assembly lies, from the S3 key the template uploads it under (the assets
 * manifest maps `<hash>.zip` to its source), or from `aws:asset:path` metadata when the CLI wrote it.
 */
export function assetLocation(state: StackState, s3Key: unknown, resource: RawResource): string | undefined {
  const hash = str(s3Key).replace(/\.zip$/, '');
  const location = hash ? state.artifact.assets.get(hash) : undefined;
  if (location) return location;
  const metadataPath = resource.Metadata?.['aws:asset:path'];
  return typeof metadataPath === 'string'
    ? path.resolve(path.dirname(state.artifact.templateFile), metadataPath)
    : undefined;
}

export function readLayers(read: ReadContext): LayerIndex {
  const byArn = new Map<string, string>();
  const byLayerArn = new Map<string, string>();
  for (const { state, logicalId, resource } of existingResources(read.states)) {
    if (resource.Type !== 'AWS::Lambda::LayerVersion') continue;
    const content = (state.props(logicalId).Content ?? {}) as Record<string, unknown>;
    const location = assetLocation(state, content.S3Key, resource);
    if (!location) {
      read.warnings.push(
        `${state.artifact.artifactId}/${logicalId}: the layer's content is not an asset of this assembly; functions that use it run without it`,
      );
      continue;
    }
    const arn = str(state.ctx.ref(logicalId));
    byArn.set(arn, location);
    byLayerArn.set(layerArnOf(arn), location);
  }
  return { byArn, byLayerArn };
}

/**
 * The content of each layer a function lists that this assembly holds, in list order. A layer
 * published elsewhere (another account's, or one made outside this app) cannot be mounted: it is
 * warned about by the function's id, and the function runs without it.
 */
export function layersOf(
  index: LayerIndex,
  functionId: string,
  layersProperty: unknown,
  warnings: string[],
): string[] {
  const arns = list(layersProperty).map((value) => str(value));
  if (arns.length > MAX_LAYERS) {
    warnings.push(
      `${functionId}: ${arns.length} layers (Lambda allows ${MAX_LAYERS}; CloudFormation would refuse the function)`,
    );
  }
  const mounted: string[] = [];
  for (const arn of arns) {
    // Only one version of each layer exists locally: another version number names the same layer.
    const location = index.byArn.get(arn) ?? index.byLayerArn.get(layerArnOf(arn));
    const published = location ? undefined : publishedLayer(arn);
    if (location) mounted.push(location);
    else if (published) {
      mounted.push(published.location);
      const installedMajor = Number(published.installedVersion?.split('.')[0]);
      if (published.installedVersion && installedMajor !== published.layerMajorVersion)
        warnings.push(
          `${functionId}: layer ${arn} carries Powertools v${published.layerMajorVersion}; it stands in with the installed ${published.installedVersion} packages, whose API differs`,
        );
      if (published.missing.length > 0)
        warnings.push(
          `${functionId}: layer ${arn} stands in with the installed Powertools packages; ${published.missing.map((name) => `@aws-lambda-powertools/${name}`).join(', ')} are not installed locally, so code importing them fails here`,
        );
    } else
      warnings.push(
        `${functionId}: layer ${arn || '(unresolved)'} has no content in this assembly (published elsewhere, by another account or app); it is not mounted, so code importing from it fails as it would without the layer`,
      );
  }
  return mounted;
}
