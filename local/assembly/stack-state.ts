/**
 * One stack's template made queryable: which resources exist (Conditions), their resolved
 * properties, and the names, ARNs, Refs and attributes CloudFormation would give them in one local
 * account and region (generated names are stable across restarts: they derive from stack and
 * logical id). The readers (`read-*.ts`) only ask these questions; they never resolve by hand.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { conditionHolds, type IntrinsicContext, resolve, TemplateError } from './intrinsics';
import type { StackArtifact } from './manifest';
import type { ReadOptions } from './template';
import { str } from './values';

export interface RawResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  Metadata?: Record<string, unknown>;
}

export interface RawTemplate {
  Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Resources?: Record<string, RawResource>;
  Outputs?: Record<
    string,
    { Value: unknown; Export?: { Name: unknown }; Description?: string; Condition?: string }
  >;
}

export interface StackState {
  readonly artifact: StackArtifact;
  readonly template: RawTemplate;
  readonly resources: Record<string, RawResource>;
  readonly ctx: IntrinsicContext;
  readonly region: string;
  readonly accountId: string;
  readonly exists: (logicalId: string) => boolean;
  readonly props: (logicalId: string) => Record<string, unknown>;
  readonly physicalName: (logicalId: string) => string;
}

export interface NestingHooks {
  /** Values for the template's parameters (a nested stack's, from its parent's resource). */
  readonly parameterValues?: Readonly<Record<string, unknown>>;
  /** `Fn::GetAtt [NestedStack, Outputs.<name>]`. */
  readonly nestedOutput: (logicalId: string, name: string) => unknown;
  /** The value of an SSM parameter the app defines, by name (for SSM-typed template parameters). */
  readonly ssmParameter: (name: string) => string | undefined;
}

/** A resource that exists (its Condition holds), with the stack it belongs to. */
export interface ExistingResource {
  readonly state: StackState;
  readonly logicalId: string;
  readonly resource: RawResource;
}

/** Every resource whose Condition holds, stack by stack in reading order. */
export function* existingResources(states: readonly StackState[]): Generator<ExistingResource> {
  for (const state of states) {
    for (const [logicalId, resource] of Object.entries(state.resources)) {
      if (state.exists(logicalId)) yield { state, logicalId, resource };
    }
  }
}

const NAME_PROPERTY: Readonly<Record<string, string>> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Lambda::LayerVersion': 'LayerName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::Policy': 'PolicyName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::SSM::Parameter': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::Events::Rule': 'Name',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::ApiGatewayV2::Stage': 'StageName',
};

export function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

/** `length` characters of `alphabet` derived from the inputs (stable across restarts). */
function derivedCharacters(alphabet: string, length: number, parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[(bytes[i] as number) % alphabet.length];
  return out;
}

/** Upper-case alphanumerics derived from the inputs, like CloudFormation's random suffixes. */
function suffix(length: number, ...parts: string[]): string {
  return derivedCharacters('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', length, parts);
}

/** Lower-case alphanumerics derived from the inputs, like API Gateway's ids. */
function shortId(length: number, ...parts: string[]): string {
  return derivedCharacters('abcdefghijklmnopqrstuvwxyz0123456789', length, parts);
}

/** CloudFormation's generated physical names: `<stack>-<logicalId>-<suffix>`, within `max`. */
export function generatedName(stackName: string, logicalId: string, max = 64): string {
  const tail = suffix(12, stackName, logicalId);
  const room = max - tail.length - 2;
  const stackPart = stackName.slice(0, Math.min(stackName.length, Math.floor(room / 2)));
  const logicalPart = logicalId.slice(0, room - stackPart.length);
  return `${stackPart}-${logicalPart}-${tail}`;
}

/** Finds `Fn::GetAtt: [X, Arn]` or `Ref: X` of a resource of `type` inside an unresolved value. */
export function referencedResource(
  raw: unknown,
  resources: Record<string, RawResource>,
  type: string,
): string | undefined {
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const found = referencedResource(item, resources, type);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const node = raw as Record<string, unknown>;
  const getAtt = node['Fn::GetAtt'];
  const target = Array.isArray(getAtt)
    ? getAtt[0]
    : typeof getAtt === 'string'
      ? getAtt.split('.')[0]
      : typeof node.Ref === 'string'
        ? node.Ref
        : undefined;
  if (typeof target === 'string' && resources[target]?.Type === type) return target;
  for (const value of Object.values(node)) {
    const found = referencedResource(value, resources, type);
    if (found) return found;
  }
  return undefined;
}

export function secretName(state: StackState, logicalId: string): string {
  const explicit = state.props(logicalId).Name;
  return typeof explicit === 'string'
    ? explicit
    : `${logicalId}-${suffix(12, state.artifact.stackName, logicalId)}`;
}

export function readTemplate(file: string): RawTemplate {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RawTemplate;
  } catch (error) {
    throw new TemplateError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The template of a nested stack resource: the asset its `TemplateURL` names (`.../<hash>.json`,
 * as CDK writes it), or the `aws:asset:path` metadata the CLI adds.
 */
export function nestedTemplateFile(state: StackState, logicalId: string): string | undefined {
  const resource = state.resources[logicalId];
  if (resource?.Type !== 'AWS::CloudFormation::Stack') return undefined;
  const url = str(resolve(resource.Properties?.TemplateURL, state.ctx));
  const hash = /([^/]+?)(?:\.json)?$/.exec(url)?.[1];
  const fromAssets = hash ? state.artifact.assets.get(hash) : undefined;
  if (fromAssets && existsSync(fromAssets)) return fromAssets;
  const metadataPath = resource.Metadata?.['aws:asset:path'];
  if (typeof metadataPath === 'string') {
    const candidate = path.resolve(path.dirname(state.artifact.templateFile), metadataPath);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function isListType(type: string | undefined): boolean {
  return str(type).startsWith('List<') || type === 'CommaDelimitedList';
}

/** The template's parameters, given their values: passed in, SSM-backed, default, or ''. */
function parameterValues(
  template: RawTemplate,
  stackName: string,
  hooks: NestingHooks,
  warnings: string[],
): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
    const given = hooks.parameterValues?.[name];
    if (given !== undefined) {
      parameters[name] = isListType(parameter.Type) && typeof given === 'string' ? given.split(',') : given;
    } else if (
      parameter.Default !== undefined &&
      str(parameter.Type).startsWith('AWS::SSM::Parameter::Value<')
    ) {
      // CDK's valueForStringParameter: CloudFormation reads the named SSM parameter at deploy.
      // Resolved when first used, since the parameter may be defined by a stack read later.
      const parameterName = str(parameter.Default);
      let value: unknown;
      Object.defineProperty(parameters, name, {
        enumerable: true,
        get: () => {
          if (value !== undefined) return value;
          const found = hooks.ssmParameter(parameterName);
          if (found === undefined) {
            warnings.push(
              `${stackName}: parameter ${name} reads SSM parameter ${parameterName}, which this app does not define; its name stands in for the value`,
            );
            return parameterName;
          }
          value = str(parameter.Type).includes('List<') ? found.split(',') : found;
          return value;
        },
      });
    } else if (parameter.Default !== undefined) {
      parameters[name] = isListType(parameter.Type) ? str(parameter.Default).split(',') : parameter.Default;
    } else {
      warnings.push(`${stackName}: parameter ${name} has no default; it resolves to ''`);
      parameters[name] = '';
    }
  }
  return parameters;
}

/** What the naming rules below need of a stack; `ctx` is read at call time (it refers back here). */
interface Naming {
  readonly stackName: string;
  readonly region: string;
  readonly accountId: string;
  readonly warnings: string[];
  readonly hooks: NestingHooks;
  readonly resourceOf: (logicalId: string) => RawResource;
  readonly props: (logicalId: string) => Record<string, unknown>;
  readonly state: () => StackState;
}

function physicalName(n: Naming, logicalId: string): string {
  const type = n.resourceOf(logicalId).Type;
  const property = NAME_PROPERTY[type];
  const raw = property ? n.resourceOf(logicalId).Properties?.[property] : undefined;
  if (raw !== undefined) {
    const value = resolve(raw, n.state().ctx);
    if (typeof value === 'string' && value !== '') return value;
  }
  if (type === 'AWS::ApiGatewayV2::Stage') return '$default';
  if (type === 'AWS::SecretsManager::Secret') return `${logicalId}-${suffix(12, n.stackName, logicalId)}`;
  return generatedName(
    n.stackName,
    logicalId,
    type === 'AWS::IAM::Role' ? 64 : type.startsWith('AWS::DynamoDB') ? 255 : 64,
  );
}

function arnOf(n: Naming, logicalId: string): string {
  const { region, accountId, stackName } = n;
  const type = n.resourceOf(logicalId).Type;
  const name = physicalName(n, logicalId);
  switch (type) {
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
      return `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
    case 'AWS::Lambda::LayerVersion':
      // Versions are numbered from 1 locally (only one is ever published).
      return `arn:aws:lambda:${region}:${accountId}:layer:${name}:1`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${accountId}:role/${str(n.props(logicalId).Path, '/').replace(/^\//, '')}${name}`;
    case 'AWS::IAM::ManagedPolicy':
      return `arn:aws:iam::${accountId}:policy/${name}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${region}:${accountId}:secret:${secretName(n.state(), logicalId)}-${suffix(6, stackName, logicalId, 'arn').toLowerCase()}`;
    case 'AWS::SSM::Parameter':
      return `arn:aws:ssm:${region}:${accountId}:parameter/${name.replace(/^\//, '')}`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${region}:${accountId}:log-group:${name}:*`;
    case 'AWS::Events::Rule':
      return `arn:aws:events:${region}:${accountId}:rule/${name}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${region}:${accountId}:${name}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${region}:${accountId}:${name}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${name.toLowerCase()}`;
    default: {
      const service = type.split('::')[1]?.toLowerCase() ?? 'unknown';
      return `arn:aws:${service}:${region}:${accountId}:${name}`;
    }
  }
}

/** What `Ref: <logicalId>` yields, by resource type. */
function refOf(n: Naming, logicalId: string): unknown {
  const { region, accountId, stackName } = n;
  const type = n.resourceOf(logicalId).Type;
  switch (type) {
    case 'AWS::SecretsManager::Secret':
    case 'AWS::SNS::Topic':
    case 'AWS::IAM::ManagedPolicy':
    case 'AWS::Lambda::LayerVersion':
      return arnOf(n, logicalId);
    case 'AWS::SQS::Queue':
      return `https://sqs.${region}.amazonaws.com/${accountId}/${physicalName(n, logicalId)}`;
    case 'AWS::CloudFormation::Stack':
      return `arn:aws:cloudformation:${region}:${accountId}:stack/${generatedName(stackName, logicalId, 128)}/${shortId(8, stackName, logicalId)}-0000-0000-0000-${shortId(12, stackName, logicalId, 'id')}`;
    case 'AWS::Lambda::Alias':
    case 'AWS::Lambda::Version': {
      // The qualified ARN; versions are numbered from 1 locally (only one is ever published).
      const p = n.props(logicalId);
      const target = str(p.FunctionName);
      const functionArn = target.startsWith('arn:')
        ? target
        : `arn:aws:lambda:${region}:${accountId}:function:${target}`;
      return `${functionArn}:${type === 'AWS::Lambda::Alias' ? str(p.Name) : '1'}`;
    }
    case 'AWS::ApiGatewayV2::Api':
      return shortId(10, stackName, logicalId);
    case 'AWS::ApiGatewayV2::Integration':
    case 'AWS::ApiGatewayV2::Route':
    case 'AWS::ApiGatewayV2::Authorizer':
    case 'AWS::ApiGatewayV2::RouteResponse':
    case 'AWS::ApiGatewayV2::Deployment':
      return shortId(7, stackName, logicalId);
    default:
      return physicalName(n, logicalId);
  }
}

/** What `Fn::GetAtt: [<logicalId>, <attribute>]` yields; a warned placeholder when unknown. */
function getAttOf(n: Naming, logicalId: string, attribute: string): unknown {
  const { region, stackName } = n;
  const type = n.resourceOf(logicalId).Type;
  if (
    (type === 'AWS::Lambda::Alias' && attribute === 'AliasArn') ||
    (type === 'AWS::Lambda::Version' && attribute === 'FunctionArn')
  )
    return refOf(n, logicalId);
  if (attribute === 'Arn' || (type === 'AWS::Lambda::LayerVersion' && attribute === 'LayerVersionArn'))
    return arnOf(n, logicalId);
  if (type === 'AWS::ApiGatewayV2::Api') {
    const apiId = shortId(10, stackName, logicalId);
    if (attribute === 'ApiId') return apiId;
    if (attribute === 'ApiEndpoint') return `wss://${apiId}.execute-api.${region}.amazonaws.com`;
  }
  if (
    (type === 'AWS::DynamoDB::Table' || type === 'AWS::DynamoDB::GlobalTable') &&
    attribute === 'StreamArn'
  ) {
    return `${arnOf(n, logicalId)}/stream/1970-01-01T00:00:00.000`;
  }
  if (type === 'AWS::SSM::Parameter' && (attribute === 'Value' || attribute === 'Type'))
    return n.props(logicalId)[attribute];
  if (type === 'AWS::Lambda::Version' && attribute === 'Version') return '1';
  if (type === 'AWS::CloudFormation::Stack' && attribute.startsWith('Outputs.'))
    return n.hooks.nestedOutput(logicalId, attribute.slice('Outputs.'.length));
  if (type === 'AWS::IAM::Role' && attribute === 'RoleId') return `AROA${suffix(17, stackName, logicalId)}`;
  if (attribute === 'Name' || attribute.endsWith('Name')) return physicalName(n, logicalId);
  if (attribute === 'Id') return refOf(n, logicalId);
  n.warnings.push(
    `${stackName}: Fn::GetAtt ${logicalId}.${attribute} has no local value; a placeholder is used`,
  );
  return `${physicalName(n, logicalId)}.${attribute}`;
}

/** Resolves each resource's properties once; a resource whose properties need themselves fails. */
function propertyResolver(
  stackName: string,
  resourceOf: (logicalId: string) => RawResource,
  ctx: () => IntrinsicContext,
): (logicalId: string) => Record<string, unknown> {
  const resolvedProps = new Map<string, Record<string, unknown>>();
  const resolving = new Set<string>();
  return (logicalId) => {
    const cached = resolvedProps.get(logicalId);
    if (cached) return cached;
    if (resolving.has(logicalId))
      throw new TemplateError(`${stackName}: ${logicalId}'s properties refer to themselves`);
    resolving.add(logicalId);
    try {
      const value = resolve(resourceOf(logicalId).Properties ?? {}, ctx()) as Record<string, unknown>;
      resolvedProps.set(logicalId, value);
      return value;
    } finally {
      resolving.delete(logicalId);
    }
  };
}

export function stackState(
  artifact: StackArtifact,
  template: RawTemplate,
  options: ReadOptions,
  imports: ReadonlyMap<string, unknown>,
  warnings: string[],
  hooks: NestingHooks,
): StackState {
  const region = artifact.environment.region ?? options.region;
  const accountId = artifact.environment.account ?? options.accountId;
  const resources = template.Resources ?? {};
  const stackName = artifact.stackName;
  const parameters = parameterValues(template, stackName, hooks, warnings);

  const resourceOf = (logicalId: string): RawResource => {
    const resource = resources[logicalId];
    if (!resource) throw new TemplateError(`${stackName}: no resource or parameter named ${logicalId}`);
    return resource;
  };
  const props = propertyResolver(stackName, resourceOf, () => ctx);
  const naming: Naming = {
    stackName,
    region,
    accountId,
    warnings,
    hooks,
    resourceOf,
    props,
    state: () => state,
  };

  const ctx: IntrinsicContext = {
    pseudo: {
      region,
      accountId,
      stackName,
      stackId: `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/${shortId(8, stackName)}-0000-0000-0000-${shortId(12, stackName, 'id')}`,
    },
    parameters,
    ...(template.Mappings ? { mappings: template.Mappings } : {}),
    ...(template.Conditions ? { conditions: template.Conditions } : {}),
    imports,
    ref: (logicalId) => refOf(naming, logicalId),
    getAtt: (logicalId, attribute) => getAttOf(naming, logicalId, attribute),
  };

  const existsCache = new Map<string, boolean>();
  const exists = (logicalId: string): boolean => {
    const cached = existsCache.get(logicalId);
    if (cached !== undefined) return cached;
    const value = conditionHolds(resourceOf(logicalId).Condition, ctx);
    existsCache.set(logicalId, value);
    return value;
  };

  const state: StackState = {
    artifact,
    template,
    resources,
    ctx,
    region,
    accountId,
    exists,
    props,
    physicalName: (logicalId) => physicalName(naming, logicalId),
  };
  return state;
}
