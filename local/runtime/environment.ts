/**
 * The environment of one function instance: exactly the template's variables plus what the Lambda
 * Node.js runtime adds (NODE_PATH in the runtime's order: layers, the runtime's SDK, the task root).
 * Nothing of the emulator's own environment is passed on. Where the runtime reserves a name
 * (AWS_REGION, ...), its value wins over the template's, as on AWS (CloudFormation refuses
 * reserved keys there).
 */
import path from 'node:path';
import type { FunctionDefinition, FunctionIdentity } from './contract';

export interface InstanceEnvironmentInput {
  readonly definition: FunctionDefinition;
  readonly region: string;
  readonly identity: FunctionIdentity;
  readonly servicesEndpoint: string | undefined;
  readonly sdkRoot: string;
  /** The function's layers as one folder (what Lambda extracts to /opt), when it has any. */
  readonly optDir?: string;
  readonly logStreamName: string;
}

export function instanceEnvironment(input: InstanceEnvironmentInput): Record<string, string> {
  const { definition } = input;
  const added: Record<string, string> = {
    AWS_REGION: input.region,
    AWS_DEFAULT_REGION: input.region,
    AWS_LAMBDA_FUNCTION_NAME: definition.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(definition.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: logGroupName(definition.functionName),
    AWS_LAMBDA_LOG_STREAM_NAME: input.logStreamName,
    AWS_EXECUTION_ENV: `AWS_Lambda_${definition.runtime}`,
    AWS_ACCESS_KEY_ID: input.identity.accessKeyId,
    AWS_SECRET_ACCESS_KEY: input.identity.secretAccessKey,
    LAMBDA_TASK_ROOT: definition.codeDir,
    LAMBDA_RUNTIME_DIR: path.dirname(input.sdkRoot),
    _HANDLER: definition.handler,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    NODE_PATH: [
      ...layerModuleFolders(input.optDir, definition.runtime),
      path.join(input.sdkRoot, 'node_modules'),
      definition.codeDir,
    ].join(path.delimiter),
  };
  if (input.servicesEndpoint) added.AWS_ENDPOINT_URL = input.servicesEndpoint;
  // The SDK warns when the local Node is older than the runtime the template names; on AWS it is not.
  if (nodeMajor(process.versions.node) < runtimeNodeMajor(definition.runtime)) {
    added.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  }
  return { ...definition.environment, ...added };
}

/**
 * The layer folders the Lambda Node.js runtime puts first on NODE_PATH: the one for the runtime's
 * Node major version (the template's runtime, as on AWS, not the local Node), then the shared one.
 */
export function layerModuleFolders(optDir: string | undefined, runtime: string): string[] {
  if (!optDir) return [];
  return [
    path.join(optDir, 'nodejs', `node${runtimeNodeMajor(runtime)}`, 'node_modules'),
    path.join(optDir, 'nodejs', 'node_modules'),
  ];
}

export function logGroupName(functionName: string): string {
  return `/aws/lambda/${functionName}`;
}

export function newLogStreamName(now: Date, instanceId: string): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[$LATEST]${instanceId.replace(/-/g, '')}`;
}

function nodeMajor(version: string): number {
  return Number.parseInt(version, 10);
}

/** 24 for 'nodejs24.x'; 0 for anything else. */
export function runtimeNodeMajor(runtime: string): number {
  const match = /^nodejs(\d+)\.x$/.exec(runtime);
  return match?.[1] ? Number(match[1]) : 0;
}
