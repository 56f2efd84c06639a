/**
 * Lambda functions the local runtime can run (Node.js, code in the assembly or inline), each with
 * its role's resolved policy and the layers of this assembly it lists, and the lookups APIs and
 * schedules use to find them: by logical id within a stack, and by ARN (aliases and versions
 * resolve to their function).
 */
import * as path from 'node:path';
import { roleNameOf } from '../iam/arns';
import { assetLocation, type LayerIndex, layersOf, readLayers } from './read-layers';
import type { PolicyOfRole } from './read-roles';
import { existingResources, type RawResource, referencedResource, type StackState } from './stack-state';
import type { CodeSource, LocalFunction, ReadContext } from './template';
import { str } from './values';

export interface FunctionIndex {
  readonly functions: readonly LocalFunction[];
  /** Function id by unqualified ARN. */
  readonly byArn: ReadonlyMap<string, string>;
  /** Function id by `<artifact id>/<logical id>`. */
  readonly byLogical: ReadonlyMap<string, string>;
}

/** A function ARN without its qualifier (`:live`, `:3`, `:$LATEST`), as functions are keyed. */
export function unqualifiedFunctionArn(arn: string): string {
  return arn.split(':').slice(0, 7).join(':');
}

function codeSource(
  state: StackState,
  props: Record<string, unknown>,
  resource: RawResource,
): CodeSource | undefined {
  const code = (props.Code ?? {}) as Record<string, unknown>;
  if (typeof code.ZipFile === 'string') return { kind: 'inline', source: code.ZipFile };
  const location = assetLocation(state, code.S3Key, resource);
  if (!location) return undefined;
  return /\.(zip|jar)$/i.test(location)
    ? { kind: 'zip', path: location }
    : { kind: 'folder', path: location };
}

/** Why a function is not run, or its code when it is. */
function runnableCode(
  state: StackState,
  props: Record<string, unknown>,
  resource: RawResource,
): { code: CodeSource } | { notRun: string } {
  if (props.PackageType === 'Image') return { notRun: 'container image functions are not run' };
  const runtime = str(props.Runtime);
  if (!runtime.startsWith('nodejs'))
    return { notRun: `runtime ${runtime || '(none)'} is not run (Node.js only)` };
  const code = codeSource(state, props, resource);
  return code ? { code } : { notRun: 'its code is neither an asset of this assembly nor inline' };
}

function describeFunction(
  read: ReadContext,
  state: StackState,
  logicalId: string,
  resource: RawResource,
  code: CodeSource,
  policyOfRole: PolicyOfRole,
  layerIndex: LayerIndex,
): LocalFunction {
  const props = state.props(logicalId);
  const id = `${state.artifact.artifactId}/${logicalId}`;
  const functionName = state.physicalName(logicalId);
  const arn = str(state.ctx.getAtt(logicalId, 'Arn'));
  const roleArn = str(props.Role);
  const roleName = roleNameOf(roleArn);
  const layers = layersOf(layerIndex, id, props.Layers, read.warnings);
  const environment: Record<string, string> = {};
  const variables =
    (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  for (const [name, value] of Object.entries(variables)) {
    environment[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return {
    id,
    stackName: state.artifact.stackName,
    logicalId,
    ...(typeof resource.Metadata?.['aws:cdk:path'] === 'string'
      ? { cdkPath: resource.Metadata['aws:cdk:path'] }
      : {}),
    functionName,
    arn,
    handler: str(props.Handler, 'index.handler'),
    runtime: str(props.Runtime),
    codeDir: code.kind === 'folder' ? code.path : path.join(read.options.workDir, ...id.split('/')),
    code,
    timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : Number(props.Timeout ?? 3) || 3,
    memoryMb:
      typeof props.MemorySize === 'number' ? props.MemorySize : Number(props.MemorySize ?? 128) || 128,
    environment,
    ...(layers.length > 0 ? { layers } : {}),
    policy: policyOfRole(roleName, id),
    ...(roleArn.startsWith('arn:') ? { roleArn } : {}),
  };
}

/** Functions first: APIs and schedules point at them. */
export function readFunctions(read: ReadContext, policyOfRole: PolicyOfRole): FunctionIndex {
  const functions: LocalFunction[] = [];
  const byArn = new Map<string, string>();
  const byLogical = new Map<string, string>();
  const layerIndex = readLayers(read);
  for (const { state, logicalId, resource } of existingResources(read.states)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const runnable = runnableCode(state, state.props(logicalId), resource);
    if ('notRun' in runnable) {
      read.notRun.push({
        stackName: state.artifact.stackName,
        logicalId,
        type: resource.Type,
        reason: runnable.notRun,
      });
      continue;
    }
    const fn = describeFunction(read, state, logicalId, resource, runnable.code, policyOfRole, layerIndex);
    functions.push(fn);
    byArn.set(fn.arn, fn.id);
    byLogical.set(`${state.artifact.artifactId}/${logicalId}`, fn.id);
  }
  return { functions, byArn, byLogical };
}

/**
 * The function an integration or authorizer URI calls: `raw` is the unresolved value (a
 * `Fn::GetAtt`/`Ref` of a function in the same stack), `resolved` the URI or ARN it resolves to.
 */
export function functionOf(
  index: FunctionIndex,
  state: StackState,
  raw: unknown,
  resolved: string,
): string | undefined {
  const logical = referencedResource(raw, state.resources, 'AWS::Lambda::Function');
  if (logical) return index.byLogical.get(`${state.artifact.artifactId}/${logical}`);
  // Cross-stack, hand-written, or through an alias or version: match the ARN the URI carries,
  // without its qualifier (`:live`, `:3`, `:$LATEST`).
  const arn = /functions\/(arn:[^/]+?)\/invocations/.exec(resolved)?.[1] ?? resolved;
  return index.byArn.get(unqualifiedFunctionArn(arn));
}
