/**
 * Turns the stacks of a cloud assembly into a plain description of what the local stack runs:
 * WebSocket APIs (routes, integrations, stages, route responses, REQUEST authorizers), functions
 * (as the runtime contract's FunctionDefinition, with their role's resolved policy), tables,
 * schedules, secrets, SSM parameters and outputs, plus every resource it does not run, by logical id
 * and type. Names and ARNs resolve in one local account and region, the way CloudFormation would
 * name them (generated names are stable across restarts: they derive from stack and logical id).
 * Pure: JSON in, description out (the only reads are the templates `readAssembly` located).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { IntegrationResponseSpec, MockIntegrationSpec } from '../gateway/mock-integration';
import type { FunctionDefinition, PolicyStatement } from '../runtime/contract';
import { conditionHolds, type IntrinsicContext, resolve, TemplateError } from './intrinsics';
import type { StackArtifact } from './manifest';
import { MANAGED_POLICIES, normalizeStatements } from './policies';
import { list, str } from './values';

export interface ReadOptions {
  /** The local region ARNs resolve in, for stacks whose environment does not name one. */
  readonly region: string;
  /** The local account, for stacks whose environment does not name one. */
  readonly accountId: string;
  /** Where the reader wants inline (`Code.ZipFile`) and zipped code written: `<workDir>/<function id>`. */
  readonly workDir: string;
}

export type CodeSource =
  | { readonly kind: 'folder'; readonly path: string }
  | { readonly kind: 'inline'; readonly source: string }
  | { readonly kind: 'zip'; readonly path: string };

export interface LocalFunction extends FunctionDefinition {
  readonly stackName: string;
  readonly logicalId: string;
  /** The construct path CDK recorded (`aws:cdk:path` metadata), when there is one. */
  readonly cdkPath?: string;
  /** Where `codeDir` comes from: a folder used as is, or something to write/unzip into `codeDir` first. */
  readonly code: CodeSource;
}

export interface AuthorizerDescription {
  readonly logicalId: string;
  readonly name: string;
  readonly functionId: string;
  /** e.g. ['route.request.querystring.token', 'route.request.header.Auth'] */
  readonly identitySources: readonly string[];
}

interface RouteBase {
  readonly routeKey: string;
  readonly logicalId: string;
  /** A RouteResponse exists: the integration's result `body` goes back to the caller. */
  readonly twoWay: boolean;
  readonly authorizer?: AuthorizerDescription;
}

export interface LambdaRouteDescription extends RouteBase {
  /** The function the AWS_PROXY integration calls. */
  readonly functionId: string;
}

export interface MockRouteDescription extends RouteBase {
  /** A MOCK integration with its integration responses, answered by the gateway. */
  readonly mock: MockIntegrationSpec;
}

export type RouteDescription = LambdaRouteDescription | MockRouteDescription;

export interface Throttle {
  readonly rateLimit?: number;
  readonly burstLimit?: number;
}

export interface StageDescription {
  readonly logicalId: string;
  readonly name: string;
  readonly defaultThrottle?: Throttle;
  readonly routeThrottle: Readonly<Record<string, Throttle>>;
}

export interface WebSocketApiDescription {
  /** `<stack artifact id>/<logical id>` */
  readonly id: string;
  readonly stackName: string;
  readonly logicalId: string;
  readonly name: string;
  /** The API id its Ref yields (stable, 10 lowercase characters). */
  readonly apiId: string;
  /** e.g. '$request.body.action' */
  readonly routeSelectionExpression: string;
  readonly routes: readonly RouteDescription[];
  /** The first stage; undefined when the template declares none. */
  readonly stage?: StageDescription;
}

export interface KeyElement {
  readonly AttributeName: string;
  readonly KeyType: 'HASH' | 'RANGE';
}

export interface TableDescription {
  readonly id: string;
  readonly logicalId: string;
  readonly type: 'AWS::DynamoDB::Table' | 'AWS::DynamoDB::GlobalTable';
  readonly tableName: string;
  readonly arn: string;
  readonly attributeDefinitions: readonly { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  readonly keySchema: readonly KeyElement[];
  readonly globalSecondaryIndexes: readonly {
    IndexName: string;
    KeySchema: readonly KeyElement[];
    Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
  }[];
  readonly localSecondaryIndexes: readonly {
    IndexName: string;
    KeySchema: readonly KeyElement[];
    Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
  }[];
  readonly ttlAttribute?: string;
}

export interface ScheduleDescription {
  readonly id: string;
  readonly logicalId: string;
  readonly ruleName: string;
  readonly arn: string;
  /** e.g. 'rate(1 minute)', 'cron(0 12 * * ? *)' */
  readonly expression: string;
  readonly enabled: boolean;
  readonly targets: readonly { readonly functionId: string; readonly input?: unknown }[];
}

export interface SecretDescription {
  readonly id: string;
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The SecretString, or a value generated as GenerateSecretString asks (stable across restarts). */
  readonly value: string;
  readonly generated: boolean;
}

export interface ParameterDescription {
  readonly id: string;
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly type: string;
  readonly value: string;
}

export interface OutputDescription {
  readonly stackName: string;
  readonly logicalId: string;
  readonly value: unknown;
  readonly exportName?: string;
  readonly description?: string;
}

export interface NotRun {
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
  readonly reason: string;
}

export interface AppDescription {
  readonly stacks: readonly {
    readonly artifactId: string;
    readonly stackName: string;
    region: string;
    accountId: string;
  }[];
  readonly apis: readonly WebSocketApiDescription[];
  readonly functions: readonly LocalFunction[];
  readonly tables: readonly TableDescription[];
  readonly schedules: readonly ScheduleDescription[];
  readonly secrets: readonly SecretDescription[];
  readonly parameters: readonly ParameterDescription[];
  readonly outputs: readonly OutputDescription[];
  /** Every resource the local stack does not run, with why. */
  readonly notRun: readonly NotRun[];
  /** Things read but only partly honoured (statement conditions, unknown managed policies, ...). */
  readonly warnings: readonly string[];
}

interface RawResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  Metadata?: Record<string, unknown>;
}

interface RawTemplate {
  Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Resources?: Record<string, RawResource>;
  Outputs?: Record<
    string,
    { Value: unknown; Export?: { Name: unknown }; Description?: string; Condition?: string }
  >;
}

/** Resources whose whole effect is carried by others the local stack runs. */
const REPRESENTED: Readonly<Record<string, string>> = {
  'AWS::Lambda::Permission': 'invoke permissions: the gateway and the scheduler call functions directly',
  'AWS::IAM::Role': "enforced through the functions' policies",
  'AWS::IAM::Policy': "enforced through the functions' policies",
  'AWS::IAM::ManagedPolicy': "enforced through the functions' policies",
  'AWS::ApiGatewayV2::Deployment': 'routes are served as soon as the stack starts',
  'AWS::Lambda::Alias': "an alias (or version) runs its function's current code",
  'AWS::Lambda::Version': "an alias (or version) runs its function's current code",
  'AWS::CDK::Metadata': 'CDK bookkeeping',
};

const NAME_PROPERTY: Readonly<Record<string, string>> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::Lambda::Function': 'FunctionName',
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

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

/** Upper-case alphanumerics derived from the inputs, like CloudFormation's random suffixes. */
function suffix(length: number, ...parts: string[]): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[(bytes[i] as number) % alphabet.length];
  return out;
}

function shortId(length: number, ...parts: string[]): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[(bytes[i] as number) % alphabet.length];
  return out;
}

/** CloudFormation's generated physical names: `<stack>-<logicalId>-<suffix>`, within `max`. */
function generatedName(stackName: string, logicalId: string, max = 64): string {
  const tail = suffix(12, stackName, logicalId);
  const room = max - tail.length - 2;
  const stackPart = stackName.slice(0, Math.min(stackName.length, Math.floor(room / 2)));
  const logicalPart = logicalId.slice(0, room - stackPart.length);
  return `${stackPart}-${logicalPart}-${tail}`;
}

/** Finds `Fn::GetAtt: [X, Arn]` or `Ref: X` of a resource of `type` inside an unresolved value. */
function referencedResource(
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

function generateSecret(spec: Record<string, unknown>, seed: string): string {
  const length = typeof spec.PasswordLength === 'number' ? spec.PasswordLength : 32;
  let alphabet = '';
  if (spec.ExcludeUppercase !== true) alphabet += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  if (spec.ExcludeLowercase !== true) alphabet += 'abcdefghijklmnopqrstuvwxyz';
  if (spec.ExcludeNumbers !== true) alphabet += '0123456789';
  if (spec.ExcludePunctuation !== true) alphabet += '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  if (spec.IncludeSpace === true) alphabet += ' ';
  const excluded = str(spec.ExcludeCharacters);
  alphabet = [...alphabet].filter((c) => !excluded.includes(c)).join('') || 'abcdefghijklmnopqrstuvwxyz';
  let out = '';
  for (let round = 0; out.length < length; round++) {
    for (const byte of createHash('sha256').update(`${seed}:${round}`).digest()) {
      if (out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  const template = spec.SecretStringTemplate;
  const key = spec.GenerateStringKey;
  if (typeof template === 'string' && typeof key === 'string') {
    return JSON.stringify({ ...(JSON.parse(template) as Record<string, unknown>), [key]: out });
  }
  return out;
}

interface StackState {
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

/** Reads every stack (in the order given, dependencies first) into one description. */
export function describeApp(stacks: readonly StackArtifact[], options: ReadOptions): AppDescription {
  const exportsByName = new Map<string, unknown>();
  const warnings: string[] = [];
  const states: StackState[] = [];
  const outputs: OutputDescription[] = [];

  // A stack, then its nested stacks (AWS::CloudFormation::Stack, e.g. CDK's NestedStack) as stacks
  // of their own: parameters from the parent's resource, outputs back through `Outputs.<name>`.
  // A nested stack is read when first needed (a parent output or a sibling's parameter may ask for
  // its outputs), else after its parent.
  // SSM parameters the app defines, looked up by name among the stacks read so far.
  const lookingUp = new Set<string>();
  const ssmParameterValue = (name: string): string | undefined => {
    if (lookingUp.has(name)) return undefined;
    lookingUp.add(name);
    try {
      for (const state of states) {
        for (const [logicalId, resource] of Object.entries(state.resources)) {
          if (resource.Type !== 'AWS::SSM::Parameter' || !state.exists(logicalId)) continue;
          if (state.physicalName(logicalId) !== name) continue;
          const value = state.props(logicalId).Value;
          return Array.isArray(value) ? value.join(',') : str(value);
        }
      }
      return undefined;
    } finally {
      lookingUp.delete(name);
    }
  };
  const addStack = (
    artifact: StackArtifact,
    parameterValues?: Readonly<Record<string, unknown>>,
    nestingPath: readonly string[] = [],
  ): StackState => {
    const template = readTemplate(artifact.templateFile);
    const nested = new Map<string, StackState>();
    const reading = new Set<string>();
    const nestedState = (logicalId: string): StackState | undefined => {
      const known = nested.get(logicalId);
      if (known) return known;
      const location = nestedTemplateFile(state, logicalId);
      if (!location) return undefined;
      const key = `${artifact.artifactId}/${logicalId}`;
      if (reading.has(logicalId) || nestingPath.includes(key))
        throw new TemplateError(`${key}: nested stacks refer to each other`);
      reading.add(logicalId);
      const raw = state.resources[logicalId]?.Properties?.Parameters;
      const child = addStack(
        {
          artifactId: key,
          stackName: generatedName(artifact.stackName, logicalId, 128),
          templateFile: location,
          environment: { account: state.accountId, region: state.region },
          assets: artifact.assets,
        },
        (resolve(raw ?? {}, state.ctx) ?? {}) as Record<string, unknown>,
        [...nestingPath, key],
      );
      nested.set(logicalId, child);
      reading.delete(logicalId);
      return child;
    };
    const state = stackState(artifact, template, options, exportsByName, warnings, {
      ...(parameterValues ? { parameterValues } : {}),
      ssmParameter: ssmParameterValue,
      nestedOutput: (logicalId, name) => {
        const child = nestedState(logicalId);
        const output = child?.template.Outputs?.[name];
        if (!child || !output) {
          warnings.push(`${artifact.stackName}: nested stack ${logicalId} has no output ${name}`);
          return `${logicalId}.Outputs.${name}`;
        }
        return resolve(output.Value, child.ctx);
      },
    });
    states.push(state);
    for (const [logicalId, output] of Object.entries(template.Outputs ?? {})) {
      if (!conditionHolds(output.Condition, state.ctx)) continue;
      const value = resolve(output.Value, state.ctx);
      const exportName = output.Export ? str(resolve(output.Export.Name, state.ctx)) : undefined;
      if (exportName) exportsByName.set(exportName, value);
      outputs.push({
        stackName: artifact.stackName,
        logicalId,
        value,
        ...(exportName ? { exportName } : {}),
        ...(output.Description ? { description: output.Description } : {}),
      });
    }
    for (const [logicalId, resource] of Object.entries(state.resources)) {
      if (resource.Type === 'AWS::CloudFormation::Stack' && state.exists(logicalId)) nestedState(logicalId);
    }
    return state;
  };
  for (const artifact of stacks) addStack(artifact);

  const notRun: NotRun[] = [];
  const functions: LocalFunction[] = [];
  const tables: TableDescription[] = [];
  const secrets: SecretDescription[] = [];
  const parameters: ParameterDescription[] = [];
  const functionByArn = new Map<string, string>();
  const functionByLogical = new Map<string, string>();

  // Roles and the policies attached to them, across stacks (grants may live in another stack).
  const statementsByRoleName = new Map<string, PolicyStatement[]>();
  const addStatements = (roleName: string, statements: PolicyStatement[]) => {
    statementsByRoleName.set(roleName, [...(statementsByRoleName.get(roleName) ?? []), ...statements]);
  };
  const managedByArn = new Map<string, PolicyStatement[]>();
  const roleManagedArns = new Map<string, string[]>();
  for (const state of states) {
    for (const [logicalId, resource] of Object.entries(state.resources)) {
      if (!state.exists(logicalId)) continue;
      const where = `${state.artifact.stackName}/${logicalId}`;
      if (resource.Type === 'AWS::IAM::Role') {
        const props = state.props(logicalId);
        const roleName = state.physicalName(logicalId);
        for (const policy of list<Record<string, unknown>>(props.Policies)) {
          addStatements(roleName, normalizeStatements(policy.PolicyDocument, where, warnings));
        }
        roleManagedArns.set(
          roleName,
          list(props.ManagedPolicyArns).map((arn) => str(arn)),
        );
      } else if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
        const props = state.props(logicalId);
        const statements = normalizeStatements(props.PolicyDocument, where, warnings);
        for (const role of list(props.Roles)) addStatements(str(role), statements);
        if (resource.Type === 'AWS::IAM::ManagedPolicy')
          managedByArn.set(str(state.ctx.ref(logicalId)), statements);
      }
    }
  }
  const policyOfRole = (roleName: string, where: string): PolicyStatement[] => {
    const statements = [...(statementsByRoleName.get(roleName) ?? [])];
    for (const arn of roleManagedArns.get(roleName) ?? []) {
      const own = managedByArn.get(arn);
      const awsManaged = /^arn:aws[a-z-]*:iam::aws:policy\/(.+)$/.exec(arn)?.[1];
      if (own) statements.push(...own);
      else if (awsManaged && MANAGED_POLICIES[awsManaged])
        statements.push(...(MANAGED_POLICIES[awsManaged] ?? []));
      else warnings.push(`${where}: managed policy ${arn} is unknown locally; its grants are not applied`);
    }
    return statements;
  };

  // Functions first: APIs and schedules point at them.
  for (const state of states) {
    const { artifact } = state;
    for (const [logicalId, resource] of Object.entries(state.resources)) {
      if (resource.Type !== 'AWS::Lambda::Function' || !state.exists(logicalId)) continue;
      const props = state.props(logicalId);
      const id = `${artifact.artifactId}/${logicalId}`;
      if (props.PackageType === 'Image') {
        notRun.push({
          stackName: artifact.stackName,
          logicalId,
          type: resource.Type,
          reason: 'container image functions are not run',
        });
        continue;
      }
      const runtime = str(props.Runtime);
      if (!runtime.startsWith('nodejs')) {
        notRun.push({
          stackName: artifact.stackName,
          logicalId,
          type: resource.Type,
          reason: `runtime ${runtime || '(none)'} is not run (Node.js only)`,
        });
        continue;
      }
      const code = codeSource(state, props, resource);
      if (!code) {
        notRun.push({
          stackName: artifact.stackName,
          logicalId,
          type: resource.Type,
          reason: 'its code is neither an asset of this assembly nor inline',
        });
        continue;
      }
      const functionName = state.physicalName(logicalId);
      const arn = str(state.ctx.getAtt(logicalId, 'Arn'));
      const roleArn = str(props.Role);
      const roleName = /:role\/(?:.*\/)?([^/]+)$/.exec(roleArn)?.[1] ?? roleArn;
      if (list(props.Layers).length > 0) warnings.push(`${id}: layers are not mounted`);
      const environment: Record<string, string> = {};
      const variables =
        (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      for (const [name, value] of Object.entries(variables)) {
        environment[name] = typeof value === 'string' ? value : JSON.stringify(value);
      }
      functions.push({
        id,
        stackName: artifact.stackName,
        logicalId,
        ...(typeof resource.Metadata?.['aws:cdk:path'] === 'string'
          ? { cdkPath: resource.Metadata['aws:cdk:path'] }
          : {}),
        functionName,
        arn,
        handler: str(props.Handler, 'index.handler'),
        runtime,
        codeDir: code.kind === 'folder' ? code.path : path.join(options.workDir, ...id.split('/')),
        code,
        timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : Number(props.Timeout ?? 3) || 3,
        memoryMb:
          typeof props.MemorySize === 'number' ? props.MemorySize : Number(props.MemorySize ?? 128) || 128,
        environment,
        policy: policyOfRole(roleName, id),
      });
      functionByArn.set(arn, id);
      functionByLogical.set(`${artifact.artifactId}/${logicalId}`, id);
    }
  }

  const functionOf = (state: StackState, raw: unknown, resolved: string): string | undefined => {
    const logical = referencedResource(raw, state.resources, 'AWS::Lambda::Function');
    if (logical) return functionByLogical.get(`${state.artifact.artifactId}/${logical}`);
    // Cross-stack, hand-written, or through an alias or version: match the ARN the URI carries,
    // without its qualifier (`:live`, `:3`, `:$LATEST`).
    const arn = /functions\/(arn:[^/]+?)\/invocations/.exec(resolved)?.[1] ?? resolved;
    return functionByArn.get(unqualifiedFunctionArn(arn));
  };

  // APIs and their parts, keyed by the ids their Refs yield (routes may be in other stacks).
  const apis = new Map<string, { state: StackState; logicalId: string; props: Record<string, unknown> }>();
  const integrations = new Map<
    string,
    { functionId?: string; type: string; logicalId: string; props: Record<string, unknown> }
  >();
  const integrationResponses = new Map<string, IntegrationResponseSpec[]>();
  const authorizers = new Map<string, AuthorizerDescription & { apiId: string; type: string }>();
  const routeResponses = new Set<string>();
  const stagesByApi = new Map<string, StageDescription[]>();
  for (const state of states) {
    for (const [logicalId, resource] of Object.entries(state.resources)) {
      if (!state.exists(logicalId) || !resource.Type.startsWith('AWS::ApiGatewayV2::')) continue;
      const props = state.props(logicalId);
      const ref = str(state.ctx.ref(logicalId));
      const raw = resource.Properties ?? {};
      switch (resource.Type) {
        case 'AWS::ApiGatewayV2::Api':
          if (props.ProtocolType === 'WEBSOCKET') apis.set(ref, { state, logicalId, props });
          else
            notRun.push({
              stackName: state.artifact.stackName,
              logicalId,
              type: resource.Type,
              reason: `${str(props.ProtocolType)} APIs are not served (WebSocket only)`,
            });
          break;
        case 'AWS::ApiGatewayV2::Integration': {
          const functionId = functionOf(state, raw.IntegrationUri, str(props.IntegrationUri));
          integrations.set(ref, {
            type: str(props.IntegrationType),
            logicalId,
            props,
            ...(functionId ? { functionId } : {}),
          });
          break;
        }
        case 'AWS::ApiGatewayV2::IntegrationResponse': {
          const responses = integrationResponses.get(str(props.IntegrationId)) ?? [];
          responses.push({
            logicalId,
            key: str(props.IntegrationResponseKey),
            responseTemplates: stringMap(props.ResponseTemplates),
            ...(typeof props.TemplateSelectionExpression === 'string'
              ? { templateSelectionExpression: props.TemplateSelectionExpression }
              : {}),
          });
          integrationResponses.set(str(props.IntegrationId), responses);
          break;
        }
        case 'AWS::ApiGatewayV2::Authorizer': {
          const functionId = functionOf(state, raw.AuthorizerUri, str(props.AuthorizerUri));
          if (functionId) {
            authorizers.set(ref, {
              logicalId,
              name: str(props.Name, logicalId),
              functionId,
              identitySources: list(props.IdentitySource).map((s) => str(s)),
              apiId: str(props.ApiId),
              type: str(props.AuthorizerType),
            });
          }
          break;
        }
        case 'AWS::ApiGatewayV2::RouteResponse':
          routeResponses.add(str(props.RouteId));
          break;
        case 'AWS::ApiGatewayV2::Stage': {
          const stages = stagesByApi.get(str(props.ApiId)) ?? [];
          const throttle = (settings: unknown): Throttle | undefined => {
            const s = settings as { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number } | undefined;
            if (!s || (s.ThrottlingRateLimit === undefined && s.ThrottlingBurstLimit === undefined))
              return undefined;
            return {
              ...(s.ThrottlingRateLimit !== undefined ? { rateLimit: Number(s.ThrottlingRateLimit) } : {}),
              ...(s.ThrottlingBurstLimit !== undefined ? { burstLimit: Number(s.ThrottlingBurstLimit) } : {}),
            };
          };
          const routeThrottle: Record<string, Throttle> = {};
          for (const [key, settings] of Object.entries(
            (props.RouteSettings as Record<string, unknown>) ?? {},
          )) {
            const t = throttle(settings);
            if (t) routeThrottle[key] = t;
          }
          const defaultThrottle = throttle(props.DefaultRouteSettings);
          stages.push({
            logicalId,
            name: str(props.StageName),
            routeThrottle,
            ...(defaultThrottle ? { defaultThrottle } : {}),
          });
          stagesByApi.set(str(props.ApiId), stages);
          break;
        }
      }
    }
  }

  const routesByApi = new Map<string, RouteDescription[]>();
  // Integrations whose integration responses the gateway applies (MOCK routes of a served API).
  const mockIntegrations = new Set<string>();
  for (const state of states) {
    for (const [logicalId, resource] of Object.entries(state.resources)) {
      if (!state.exists(logicalId) || resource.Type !== 'AWS::ApiGatewayV2::Route') continue;
      const props = state.props(logicalId);
      const apiId = str(props.ApiId);
      const target = str(props.Target);
      const integration = integrations.get(target.replace(/^integrations\//, ''));
      const stackName = state.artifact.stackName;
      if (!apis.has(apiId)) continue; // routes of an API that is not served are listed with it
      const twoWay = routeResponses.has(str(state.ctx.ref(logicalId)));
      if (props.ApiKeyRequired === true || props.ApiKeyRequired === 'true') {
        warnings.push(
          `${stackName}/${logicalId}: route ${str(props.RouteKey)} requires an API key, which is not checked locally`,
        );
      }
      if (integration?.type === 'MOCK') {
        const integrationId = target.replace(/^integrations\//, '');
        const p = integration.props;
        mockIntegrations.add(integrationId);
        const routes = routesByApi.get(apiId) ?? [];
        routes.push({
          routeKey: str(props.RouteKey),
          logicalId,
          twoWay,
          mock: {
            logicalId: integration.logicalId,
            requestTemplates: stringMap(p.RequestTemplates),
            responses: integrationResponses.get(integrationId) ?? [],
            ...(typeof p.TemplateSelectionExpression === 'string'
              ? { templateSelectionExpression: p.TemplateSelectionExpression }
              : {}),
            ...(typeof p.PassthroughBehavior === 'string'
              ? { passthroughBehavior: p.PassthroughBehavior }
              : {}),
          },
        });
        routesByApi.set(apiId, routes);
        if (props.AuthorizationType === 'CUSTOM' || props.AuthorizationType === 'AWS_IAM') {
          warnings.push(
            `${stackName}/${logicalId}: authorization on the MOCK route ${str(props.RouteKey)} is not checked locally`,
          );
        }
        continue;
      }
      if (!integration?.functionId || integration.type !== 'AWS_PROXY') {
        notRun.push({
          stackName,
          logicalId,
          type: resource.Type,
          reason: !integration
            ? `route ${str(props.RouteKey)}: no integration the local stack can run`
            : integration.type === 'AWS_PROXY'
              ? `route ${str(props.RouteKey)}: its Lambda function is not one the local stack runs (listed above, or outside the assembly)`
              : `route ${str(props.RouteKey)}: ${integration.type} integrations are not run (AWS_PROXY to a Lambda function, and MOCK, only)`,
        });
        continue;
      }
      let authorizer: AuthorizerDescription | undefined;
      if (props.AuthorizationType === 'CUSTOM') {
        const found = authorizers.get(str(props.AuthorizerId));
        if (found?.type !== 'REQUEST') {
          notRun.push({
            stackName,
            logicalId,
            type: resource.Type,
            reason: `route ${str(props.RouteKey)}: its authorizer is not a REQUEST Lambda authorizer`,
          });
          continue;
        }
        const { apiId: _apiId, type: _type, ...description } = found;
        authorizer = description;
      } else if (props.AuthorizationType === 'AWS_IAM') {
        warnings.push(
          `${stackName}/${logicalId}: AWS_IAM authorization on ${str(props.RouteKey)} is not checked locally`,
        );
      }
      const routes = routesByApi.get(apiId) ?? [];
      routes.push({
        routeKey: str(props.RouteKey),
        logicalId,
        functionId: integration.functionId,
        twoWay,
        ...(authorizer ? { authorizer } : {}),
      });
      routesByApi.set(apiId, routes);
    }
  }

  const apiDescriptions: WebSocketApiDescription[] = [];
  for (const [apiId, { state, logicalId, props }] of apis) {
    const stages = stagesByApi.get(apiId) ?? [];
    for (const extra of stages.slice(1)) {
      notRun.push({
        stackName: state.artifact.stackName,
        logicalId: extra.logicalId,
        type: 'AWS::ApiGatewayV2::Stage',
        reason: `only the first stage of an API is served (${stages[0]?.name})`,
      });
    }
    apiDescriptions.push({
      id: `${state.artifact.artifactId}/${logicalId}`,
      stackName: state.artifact.stackName,
      logicalId,
      name: str(props.Name, logicalId),
      apiId,
      routeSelectionExpression: str(props.RouteSelectionExpression, '$request.body.action'),
      routes: routesByApi.get(apiId) ?? [],
      ...(stages[0] ? { stage: stages[0] } : {}),
    });
  }

  const schedules: ScheduleDescription[] = [];
  for (const state of states) {
    const { artifact } = state;
    for (const [logicalId, resource] of Object.entries(state.resources)) {
      if (!state.exists(logicalId)) continue;
      const props = () => state.props(logicalId);
      const id = `${artifact.artifactId}/${logicalId}`;
      const skip = (reason: string) =>
        notRun.push({ stackName: artifact.stackName, logicalId, type: resource.Type, reason });
      switch (resource.Type) {
        case 'AWS::DynamoDB::Table':
        case 'AWS::DynamoDB::GlobalTable': {
          const p = props();
          const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
          const indexes = (value: unknown) =>
            list<Record<string, unknown>>(value).map((index) => ({
              IndexName: str(index.IndexName),
              KeySchema: list<KeyElement>(index.KeySchema),
              Projection: (index.Projection as { ProjectionType?: string; NonKeyAttributes?: string[] }) ?? {
                ProjectionType: 'ALL',
              },
            }));
          tables.push({
            id,
            logicalId,
            type: resource.Type,
            tableName: state.physicalName(logicalId),
            arn: str(state.ctx.getAtt(logicalId, 'Arn')),
            attributeDefinitions: list(p.AttributeDefinitions),
            keySchema: list<KeyElement>(p.KeySchema),
            globalSecondaryIndexes: indexes(p.GlobalSecondaryIndexes),
            localSecondaryIndexes: indexes(p.LocalSecondaryIndexes),
            ...(ttl?.AttributeName && ttl.Enabled !== false ? { ttlAttribute: ttl.AttributeName } : {}),
          });
          break;
        }
        case 'AWS::Events::Rule': {
          const p = props();
          const expression = str(p.ScheduleExpression);
          if (!expression) {
            skip('event-pattern rules are not run (schedules only)');
            break;
          }
          const targets: { functionId: string; input?: unknown }[] = [];
          for (const target of list<Record<string, unknown>>(p.Targets)) {
            const functionId = functionByArn.get(unqualifiedFunctionArn(str(target.Arn)));
            if (!functionId) {
              warnings.push(
                `${id}: target ${str(target.Arn)} is not a function of this app; it is not invoked`,
              );
              continue;
            }
            let input: unknown;
            if (typeof target.Input === 'string') {
              try {
                input = JSON.parse(target.Input);
              } catch {
                input = target.Input;
              }
            }
            targets.push({ functionId, ...(input !== undefined ? { input } : {}) });
          }
          schedules.push({
            id,
            logicalId,
            ruleName: state.physicalName(logicalId),
            arn: str(state.ctx.getAtt(logicalId, 'Arn')),
            expression,
            enabled: p.State === undefined || p.State === 'ENABLED',
            targets,
          });
          break;
        }
        case 'AWS::SecretsManager::Secret': {
          const p = props();
          const generate = p.GenerateSecretString as Record<string, unknown> | undefined;
          const name = secretName(state, logicalId);
          secrets.push({
            id,
            logicalId,
            name,
            arn: str(state.ctx.ref(logicalId)),
            value:
              typeof p.SecretString === 'string'
                ? p.SecretString
                : generateSecret(generate ?? {}, digest(id, state.accountId)),
            generated: typeof p.SecretString !== 'string',
          });
          break;
        }
        case 'AWS::SSM::Parameter': {
          const p = props();
          parameters.push({
            id,
            logicalId,
            name: state.physicalName(logicalId),
            arn: str(state.ctx.getAtt(logicalId, 'Arn')),
            type: str(p.Type, 'String'),
            value: Array.isArray(p.Value) ? p.Value.join(',') : str(p.Value),
          });
          break;
        }
        case 'AWS::Lambda::Function':
        case 'AWS::ApiGatewayV2::Api':
        case 'AWS::ApiGatewayV2::Route':
        case 'AWS::ApiGatewayV2::Integration':
        case 'AWS::ApiGatewayV2::Stage':
        case 'AWS::ApiGatewayV2::RouteResponse':
          break; // described above (or listed there when not run)
        case 'AWS::CloudFormation::Stack':
          if (!nestedTemplateFile(state, logicalId))
            skip('a nested stack whose template is not in this assembly (its resources are not run)');
          break; // read as a stack of its own otherwise
        case 'AWS::ApiGatewayV2::Authorizer':
          if (!authorizers.has(str(state.ctx.ref(logicalId))))
            skip('only REQUEST authorizers backed by a function of this app are run');
          break;
        case 'AWS::ApiGatewayV2::IntegrationResponse':
          if (!mockIntegrations.has(str(props().IntegrationId)))
            skip(
              'applied to MOCK integrations only (an AWS_PROXY result is returned as is, as on AWS; other integrations are not run)',
            );
          break;
        default:
          if (!REPRESENTED[resource.Type])
            skip(
              resource.Type === 'AWS::Logs::LogGroup' ? 'function logs go to the console' : 'not emulated',
            );
      }
    }
  }

  return {
    stacks: states.map((s) => ({
      artifactId: s.artifact.artifactId,
      stackName: s.artifact.stackName,
      region: s.region,
      accountId: s.accountId,
    })),
    apis: apiDescriptions,
    // Dynamic references in the environment resolve now that every secret and parameter is known.
    functions: functions.map((fn) => {
      const environment: Record<string, string> = {};
      for (const [name, value] of Object.entries(fn.environment)) {
        environment[name] = resolveDynamicReferences(value, secrets, parameters, (why) =>
          warnings.push(`${fn.id}: ${name}: ${why}`),
        );
      }
      return { ...fn, environment };
    }),
    tables,
    schedules,
    secrets,
    parameters,
    outputs,
    notRun,
    warnings: [...new Set(warnings)],
  };
}

/**
 * CloudFormation's dynamic references (`{{resolve:ssm:name}}`, `{{resolve:ssm-secure:name}}`,
 * `{{resolve:secretsmanager:id:SecretString:key::}}`, as CDK writes `secretValueFromJson(...)`
 * or an SSM value), from the secrets and parameters the app defines. One it cannot resolve stays
 * as written, with a warning.
 */
export function resolveDynamicReferences(
  value: string,
  secrets: readonly Pick<SecretDescription, 'name' | 'arn' | 'value'>[],
  parameters: readonly Pick<ParameterDescription, 'name' | 'value'>[],
  warn: (why: string) => void,
): string {
  return value.replace(
    /\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]*)\}\}/g,
    (whole, service, reference) => {
      const spec = String(reference);
      if (service !== 'secretsmanager') {
        const name = spec.replace(/:\d+$/, '');
        const parameter = parameters.find((p) => p.name === name || p.name === `/${name}`);
        if (parameter) return parameter.value;
        warn(`SSM parameter ${name} is not defined by this app; ${whole} is left as written`);
        return whole;
      }
      const parts = spec.split(':');
      // An ARN holds seven colon-separated parts (arn:aws:secretsmanager:region:account:secret:name).
      const id = spec.startsWith('arn:') ? parts.slice(0, 7).join(':') : (parts[0] ?? '');
      const [kind, jsonKey] = spec.startsWith('arn:') ? parts.slice(7) : parts.slice(1);
      const secret = secrets.find((s) => s.arn === id || s.name === id);
      if (!secret) {
        warn(`secret ${id} is not defined by this app; ${whole} is left as written`);
        return whole;
      }
      if ((kind ?? 'SecretString') !== 'SecretString' || !jsonKey) return secret.value;
      try {
        const field = (JSON.parse(secret.value) as Record<string, unknown>)[jsonKey];
        if (field !== undefined) return typeof field === 'string' ? field : JSON.stringify(field);
      } catch {
        // not JSON: reported below
      }
      warn(`secret ${id} has no JSON key ${jsonKey}; ${whole} is left as written`);
      return whole;
    },
  );
}

/** A function ARN without its qualifier (`:live`, `:3`, `:$LATEST`), as functions are keyed. */
function unqualifiedFunctionArn(arn: string): string {
  return arn.split(':').slice(0, 7).join(':');
}

function readTemplate(file: string): RawTemplate {
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
function nestedTemplateFile(state: StackState, logicalId: string): string | undefined {
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

/** A template map (`RequestTemplates`, `ResponseTemplates`): its string values. */
function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') out[key] = entry;
  return out;
}

function secretName(state: StackState, logicalId: string): string {
  const explicit = state.props(logicalId).Name;
  return typeof explicit === 'string'
    ? explicit
    : `${logicalId}-${suffix(12, state.artifact.stackName, logicalId)}`;
}

function codeSource(
  state: StackState,
  props: Record<string, unknown>,
  resource: RawResource,
): CodeSource | undefined {
  const code = (props.Code ?? {}) as Record<string, unknown>;
  if (typeof code.ZipFile === 'string') return { kind: 'inline', source: code.ZipFile };
  const key = str(code.S3Key);
  const hash = key.replace(/\.zip$/, '');
  let location = hash ? state.artifact.assets.get(hash) : undefined;
  const metadataPath = resource.Metadata?.['aws:asset:path'];
  if (!location && typeof metadataPath === 'string') {
    location = path.resolve(path.dirname(state.artifact.templateFile), metadataPath);
  }
  if (!location) return undefined;
  return /\.(zip|jar)$/i.test(location)
    ? { kind: 'zip', path: location }
    : { kind: 'folder', path: location };
}

interface NestingHooks {
  /** Values for the template's parameters (a nested stack's, from its parent's resource). */
  readonly parameterValues?: Readonly<Record<string, unknown>>;
  /** `Fn::GetAtt [NestedStack, Outputs.<name>]`. */
  readonly nestedOutput: (logicalId: string, name: string) => unknown;
  /** The value of an SSM parameter the app defines, by name (for SSM-typed template parameters). */
  readonly ssmParameter: (name: string) => string | undefined;
}

function stackState(
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
  const parameters: Record<string, unknown> = {};
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
    const given = hooks.parameterValues?.[name];
    if (given !== undefined) {
      const isList = str(parameter.Type).startsWith('List<') || parameter.Type === 'CommaDelimitedList';
      parameters[name] = isList && typeof given === 'string' ? given.split(',') : given;
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
      parameters[name] =
        str(parameter.Type).startsWith('List<') || parameter.Type === 'CommaDelimitedList'
          ? str(parameter.Default).split(',')
          : parameter.Default;
    } else {
      warnings.push(`${stackName}: parameter ${name} has no default; it resolves to ''`);
      parameters[name] = '';
    }
  }

  const resolvedProps = new Map<string, Record<string, unknown>>();
  const resolving = new Set<string>();
  const existsCache = new Map<string, boolean>();

  const resourceOf = (logicalId: string): RawResource => {
    const resource = resources[logicalId];
    if (!resource) throw new TemplateError(`${stackName}: no resource or parameter named ${logicalId}`);
    return resource;
  };

  const props = (logicalId: string): Record<string, unknown> => {
    const cached = resolvedProps.get(logicalId);
    if (cached) return cached;
    if (resolving.has(logicalId))
      throw new TemplateError(`${stackName}: ${logicalId}'s properties refer to themselves`);
    resolving.add(logicalId);
    try {
      const value = resolve(resourceOf(logicalId).Properties ?? {}, ctx) as Record<string, unknown>;
      resolvedProps.set(logicalId, value);
      return value;
    } finally {
      resolving.delete(logicalId);
    }
  };

  const physicalName = (logicalId: string): string => {
    const type = resourceOf(logicalId).Type;
    const property = NAME_PROPERTY[type];
    const raw = property ? resourceOf(logicalId).Properties?.[property] : undefined;
    if (raw !== undefined) {
      const value = resolve(raw, ctx);
      if (typeof value === 'string' && value !== '') return value;
    }
    if (type === 'AWS::ApiGatewayV2::Stage') return '$default';
    if (type === 'AWS::SecretsManager::Secret') return `${logicalId}-${suffix(12, stackName, logicalId)}`;
    return generatedName(
      stackName,
      logicalId,
      type === 'AWS::IAM::Role' ? 64 : type.startsWith('AWS::DynamoDB') ? 255 : 64,
    );
  };

  const arnOf = (logicalId: string): string => {
    const type = resourceOf(logicalId).Type;
    const name = physicalName(logicalId);
    switch (type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${accountId}:role/${str(props(logicalId).Path, '/').replace(/^\//, '')}${name}`;
      case 'AWS::IAM::ManagedPolicy':
        return `arn:aws:iam::${accountId}:policy/${name}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${region}:${accountId}:secret:${secretName(state, logicalId)}-${suffix(6, stackName, logicalId, 'arn').toLowerCase()}`;
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
    ref(logicalId) {
      const type = resourceOf(logicalId).Type;
      switch (type) {
        case 'AWS::SecretsManager::Secret':
        case 'AWS::SNS::Topic':
        case 'AWS::IAM::ManagedPolicy':
          return arnOf(logicalId);
        case 'AWS::SQS::Queue':
          return `https://sqs.${region}.amazonaws.com/${accountId}/${physicalName(logicalId)}`;
        case 'AWS::CloudFormation::Stack':
          return `arn:aws:cloudformation:${region}:${accountId}:stack/${generatedName(stackName, logicalId, 128)}/${shortId(8, stackName, logicalId)}-0000-0000-0000-${shortId(12, stackName, logicalId, 'id')}`;
        case 'AWS::Lambda::Alias':
        case 'AWS::Lambda::Version': {
          // The qualified ARN; versions are numbered from 1 locally (only one is ever published).
          const p = props(logicalId);
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
          return physicalName(logicalId);
      }
    },
    getAtt(logicalId, attribute) {
      const type = resourceOf(logicalId).Type;
      if (
        (type === 'AWS::Lambda::Alias' && attribute === 'AliasArn') ||
        (type === 'AWS::Lambda::Version' && attribute === 'FunctionArn')
      )
        return ctx.ref(logicalId);
      if (attribute === 'Arn') return arnOf(logicalId);
      if (type === 'AWS::ApiGatewayV2::Api') {
        const apiId = shortId(10, stackName, logicalId);
        if (attribute === 'ApiId') return apiId;
        if (attribute === 'ApiEndpoint') return `wss://${apiId}.execute-api.${region}.amazonaws.com`;
      }
      if (
        (type === 'AWS::DynamoDB::Table' || type === 'AWS::DynamoDB::GlobalTable') &&
        attribute === 'StreamArn'
      ) {
        return `${arnOf(logicalId)}/stream/1970-01-01T00:00:00.000`;
      }
      if (type === 'AWS::SSM::Parameter' && (attribute === 'Value' || attribute === 'Type'))
        return props(logicalId)[attribute];
      if (type === 'AWS::Lambda::Version' && attribute === 'Version') return '1';
      if (type === 'AWS::CloudFormation::Stack' && attribute.startsWith('Outputs.'))
        return hooks.nestedOutput(logicalId, attribute.slice('Outputs.'.length));
      if (type === 'AWS::IAM::Role' && attribute === 'RoleId')
        return `AROA${suffix(17, stackName, logicalId)}`;
      if (attribute === 'Name' || attribute.endsWith('Name')) return physicalName(logicalId);
      if (attribute === 'Id') return ctx.ref(logicalId);
      warnings.push(
        `${stackName}: Fn::GetAtt ${logicalId}.${attribute} has no local value; a placeholder is used`,
      );
      return `${physicalName(logicalId)}.${attribute}`;
    },
  };

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
    physicalName,
  };
  return state;
}
