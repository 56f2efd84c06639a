/**
 * Reads every stack of the assembly into a `StackState`, with its outputs and exports, so that a
 * later stack's `Fn::ImportValue` finds them. A stack, then its nested stacks
 * (AWS::CloudFormation::Stack, e.g. CDK's NestedStack) as stacks of their own: parameters from the
 * parent's resource, outputs back through `Outputs.<name>`. A nested stack is read when first needed
 * (a parent output or a sibling's parameter may ask for its outputs), else after its parent.
 */
import { conditionHolds, resolve, TemplateError } from './intrinsics';
import type { StackArtifact } from './manifest';
import { generatedName, nestedTemplateFile, readTemplate, type StackState, stackState } from './stack-state';
import type { OutputDescription, ReadOptions } from './template';
import { str } from './values';

export interface ReadStacks {
  /** In reading order: each stack before the nested stacks it reads, dependencies first. */
  readonly states: readonly StackState[];
  readonly outputs: readonly OutputDescription[];
}

/** A stack being read, with the nested stacks it has read (or is reading) by logical id. */
interface Parent {
  readonly artifact: StackArtifact;
  readonly nestingPath: readonly string[];
  readonly children: Map<string, StackState>;
  readonly reading: Set<string>;
  state?: StackState;
}

class StackReader {
  readonly states: StackState[] = [];
  readonly outputs: OutputDescription[] = [];
  private readonly exportsByName = new Map<string, unknown>();
  private readonly lookingUp = new Set<string>();
  private readonly options: ReadOptions;
  private readonly warnings: string[];

  constructor(options: ReadOptions, warnings: string[]) {
    this.options = options;
    this.warnings = warnings;
  }

  add(
    artifact: StackArtifact,
    parameterValues?: Readonly<Record<string, unknown>>,
    nestingPath: readonly string[] = [],
  ): StackState {
    const template = readTemplate(artifact.templateFile);
    const parent: Parent = { artifact, nestingPath, children: new Map(), reading: new Set() };
    const state = stackState(artifact, template, this.options, this.exportsByName, this.warnings, {
      ...(parameterValues ? { parameterValues } : {}),
      ssmParameter: (name) => this.ssmParameterValue(name),
      nestedOutput: (logicalId, name) => this.nestedOutput(parent, logicalId, name),
    });
    parent.state = state;
    this.states.push(state);
    this.readOutputs(state);
    for (const [logicalId, resource] of Object.entries(state.resources)) {
      if (resource.Type === 'AWS::CloudFormation::Stack' && state.exists(logicalId))
        this.nested(parent, logicalId);
    }
    return state;
  }

  private readOutputs(state: StackState): void {
    for (const [logicalId, output] of Object.entries(state.template.Outputs ?? {})) {
      if (!conditionHolds(output.Condition, state.ctx)) continue;
      const value = resolve(output.Value, state.ctx);
      const exportName = output.Export ? str(resolve(output.Export.Name, state.ctx)) : undefined;
      if (exportName) this.exportsByName.set(exportName, value);
      this.outputs.push({
        stackName: state.artifact.stackName,
        logicalId,
        value,
        ...(exportName ? { exportName } : {}),
        ...(output.Description ? { description: output.Description } : {}),
      });
    }
  }

  /** The nested stack `logicalId` of `parent`, read on first call. */
  private nested(parent: Parent, logicalId: string): StackState | undefined {
    const { artifact, state } = parent;
    const known = parent.children.get(logicalId);
    if (known) return known;
    if (!state) return undefined;
    const location = nestedTemplateFile(state, logicalId);
    if (!location) return undefined;
    const key = `${artifact.artifactId}/${logicalId}`;
    if (parent.reading.has(logicalId) || parent.nestingPath.includes(key))
      throw new TemplateError(`${key}: nested stacks refer to each other`);
    parent.reading.add(logicalId);
    const raw = state.resources[logicalId]?.Properties?.Parameters;
    const child = this.add(
      {
        artifactId: key,
        stackName: generatedName(artifact.stackName, logicalId, 128),
        templateFile: location,
        environment: { account: state.accountId, region: state.region },
        assets: artifact.assets,
      },
      (resolve(raw ?? {}, state.ctx) ?? {}) as Record<string, unknown>,
      [...parent.nestingPath, key],
    );
    parent.children.set(logicalId, child);
    parent.reading.delete(logicalId);
    return child;
  }

  private nestedOutput(parent: Parent, logicalId: string, name: string): unknown {
    const child = this.nested(parent, logicalId);
    const output = child?.template.Outputs?.[name];
    if (!child || !output) {
      this.warnings.push(`${parent.artifact.stackName}: nested stack ${logicalId} has no output ${name}`);
      return `${logicalId}.Outputs.${name}`;
    }
    return resolve(output.Value, child.ctx);
  }

  /** SSM parameters the app defines, looked up by name among the stacks read so far. */
  private ssmParameterValue(name: string): string | undefined {
    if (this.lookingUp.has(name)) return undefined;
    this.lookingUp.add(name);
    try {
      for (const state of this.states) {
        for (const [logicalId, resource] of Object.entries(state.resources)) {
          if (resource.Type !== 'AWS::SSM::Parameter' || !state.exists(logicalId)) continue;
          if (state.physicalName(logicalId) !== name) continue;
          const value = state.props(logicalId).Value;
          return Array.isArray(value) ? value.join(',') : str(value);
        }
      }
      return undefined;
    } finally {
      this.lookingUp.delete(name);
    }
  }
}

/** Reads the stacks (in the order given, dependencies first) and the nested stacks they hold. */
export function readStacks(
  stacks: readonly StackArtifact[],
  options: ReadOptions,
  warnings: string[],
): ReadStacks {
  const reader = new StackReader(options, warnings);
  for (const artifact of stacks) reader.add(artifact);
  return { states: reader.states, outputs: reader.outputs };
}
