/**
 * Turns the stacks of a cloud assembly into a plain description of what the local stack runs:
 * WebSocket APIs (routes, integrations, stages, route responses, REQUEST authorizers), functions
 * (as the runtime contract's FunctionDefinition, with their role's resolved policy), tables,
 * schedules, secrets, SSM parameters and outputs, plus every resource it does not run, by logical id
 * and type. Names and ARNs resolve in one local account and region, the way CloudFormation would
 * name them (generated names are stable across restarts: they derive from stack and logical id).
 * Pure: JSON in, description out (the only reads are the templates `readAssembly` located).
 *
 * This file holds the description's types and the order of the phases; each phase is a reader of
 * its own: `read-stacks.ts` (templates, nested stacks, outputs), `read-roles.ts`,
 * `read-functions.ts`, `read-apis.ts`, `read-schedules.ts`, `read-data.ts` (tables, secrets,
 * parameters, dynamic references); `stack-state.ts` answers what each resource is named and yields.
 */
import type { HttpProxySpec } from '../gateway/http-integration';
import type { MockIntegrationSpec } from '../gateway/mock-integration';
import type { FunctionDefinition } from '../runtime/contract';
import type { StackArtifact } from './manifest';
import { type ApiReading, readApis } from './read-apis';
import { describeParameter, describeSecret, describeTable, withResolvedEnvironments } from './read-data';
import { type FunctionIndex, readFunctions } from './read-functions';
import { readRolePolicies } from './read-roles';
import { describeSchedule } from './read-schedules';
import { readStacks } from './read-stacks';
import { type ExistingResource, existingResources, nestedTemplateFile, type StackState } from './stack-state';
import { str } from './values';

export { resolveDynamicReferences } from './read-data';

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
  /** `AuthorizationType: AWS_IAM`: the request must be signed with SigV4 (checked on `$connect`). */
  readonly iamAuthorization?: boolean;
}

export interface LambdaRouteDescription extends RouteBase {
  /** The function the AWS_PROXY integration calls. */
  readonly functionId: string;
}

export interface MockRouteDescription extends RouteBase {
  /** A MOCK integration with its integration responses, answered by the gateway. */
  readonly mock: MockIntegrationSpec;
}

export interface HttpRouteDescription extends RouteBase {
  /** An HTTP_PROXY integration to a URL, called by the gateway. */
  readonly http: HttpProxySpec;
}

/**
 * A route whose integration the local stack cannot run (an HTTP or AWS service integration, a
 * function of another runtime). It stays a route, so its messages do not fall to `$default` as
 * they never would on AWS; invoking it fails as a broken integration does.
 */
export interface UnrunnableRouteDescription extends RouteBase {
  /** Why it is not run (also in the description's `notRun` list). */
  readonly notRun: string;
}

export type RouteDescription =
  | LambdaRouteDescription
  | MockRouteDescription
  | HttpRouteDescription
  | UnrunnableRouteDescription;

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
  /** The API's further stages (dev and prod of one API), each served on a port of its own. */
  readonly otherStages?: readonly StageDescription[];
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

/** What every reader shares: the stacks read, and where warnings and not-run resources go. */
export interface ReadContext {
  readonly options: ReadOptions;
  readonly states: readonly StackState[];
  readonly warnings: string[];
  readonly notRun: NotRun[];
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
  'AWS::Lambda::LayerVersion':
    'mounted into the functions that list it (see the warnings for any that cannot be)',
  'AWS::Lambda::LayerVersionPermission': 'layers of this app are usable by its functions without it',
  'AWS::CDK::Metadata': 'CDK bookkeeping',
};

/** Why a resource no phase describes is not run; undefined when others carry its effect. */
function notRunReason(
  { state, logicalId, resource }: ExistingResource,
  apis: ApiReading,
): string | undefined {
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
    case 'AWS::ApiGatewayV2::Api':
    case 'AWS::ApiGatewayV2::Route':
    case 'AWS::ApiGatewayV2::Integration':
    case 'AWS::ApiGatewayV2::Stage':
    case 'AWS::ApiGatewayV2::RouteResponse':
      return undefined; // described above (or listed there when not run)
    case 'AWS::CloudFormation::Stack':
      // Read as a stack of its own otherwise.
      return nestedTemplateFile(state, logicalId)
        ? undefined
        : 'a nested stack whose template is not in this assembly (its resources are not run)';
    case 'AWS::ApiGatewayV2::Authorizer':
      return apis.authorizerRefs.has(str(state.ctx.ref(logicalId)))
        ? undefined
        : 'only REQUEST authorizers backed by a function of this app are run';
    case 'AWS::ApiGatewayV2::IntegrationResponse':
      return apis.mockIntegrations.has(str(state.props(logicalId).IntegrationId))
        ? undefined
        : 'applied to MOCK integrations only (an AWS_PROXY result is returned as is, as on AWS; other integrations are not run)';
    default:
      if (REPRESENTED[resource.Type]) return undefined;
      return resource.Type === 'AWS::Logs::LogGroup' ? 'function logs go to the console' : 'not emulated';
  }
}

/**
 * Tables, schedules, secrets and parameters, and the not-run list for everything no phase
 * describes: one pass in template order, so the not-run list keeps the templates' order.
 */
function readRemainingResources(read: ReadContext, functions: FunctionIndex, apis: ApiReading) {
  const tables: TableDescription[] = [];
  const schedules: ScheduleDescription[] = [];
  const secrets: SecretDescription[] = [];
  const parameters: ParameterDescription[] = [];
  for (const existing of existingResources(read.states)) {
    const { state, logicalId, resource } = existing;
    const skip = (reason: string) =>
      read.notRun.push({ stackName: state.artifact.stackName, logicalId, type: resource.Type, reason });
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        tables.push(describeTable(state, logicalId, resource.Type));
        break;
      case 'AWS::Events::Rule': {
        const schedule = describeSchedule(state, logicalId, functions, read.warnings);
        if ('notRun' in schedule) skip(schedule.notRun);
        else schedules.push(schedule);
        break;
      }
      case 'AWS::SecretsManager::Secret':
        secrets.push(describeSecret(state, logicalId));
        break;
      case 'AWS::SSM::Parameter':
        parameters.push(describeParameter(state, logicalId));
        break;
      default: {
        const reason = notRunReason(existing, apis);
        if (reason) skip(reason);
      }
    }
  }
  return { tables, schedules, secrets, parameters };
}

/** Reads every stack (in the order given, dependencies first) into one description. */
export function describeApp(stacks: readonly StackArtifact[], options: ReadOptions): AppDescription {
  const warnings: string[] = [];
  const { states, outputs } = readStacks(stacks, options, warnings);
  const read: ReadContext = { options, states, warnings, notRun: [] };
  const policyOfRole = readRolePolicies(states, warnings);
  const functions = readFunctions(read, policyOfRole);
  const apis = readApis(read, functions);
  const { tables, schedules, secrets, parameters } = readRemainingResources(read, functions, apis);
  return {
    stacks: states.map((s) => ({
      artifactId: s.artifact.artifactId,
      stackName: s.artifact.stackName,
      region: s.region,
      accountId: s.accountId,
    })),
    apis: apis.apis,
    functions: withResolvedEnvironments(functions.functions, secrets, parameters, warnings),
    tables,
    schedules,
    secrets,
    parameters,
    outputs,
    notRun: read.notRun,
    warnings: [...new Set(warnings)],
  };
}
