/**
 * WebSocket APIs (`AWS::ApiGatewayV2::*`): integrations (Lambda AWS_PROXY and MOCK, with the MOCK's
 * integration responses), REQUEST authorizers, route responses, stages with their throttling, and
 * the routes that tie them together. The parts are keyed by the ids their Refs yield, since routes
 * and the rest may live in other stacks than their API.
 */
import type { HttpProxySpec } from '../gateway/http-integration';
import type { IntegrationResponseSpec, MockIntegrationSpec } from '../gateway/mock-integration';
import { type FunctionIndex, functionOf } from './read-functions';
import { existingResources, type StackState } from './stack-state';
import type {
  AuthorizerDescription,
  LambdaRouteDescription,
  ReadContext,
  RouteDescription,
  StageDescription,
  Throttle,
  WebSocketApiDescription,
} from './template';
import { list, str } from './values';

interface IntegrationPart {
  readonly functionId?: string;
  readonly type: string;
  readonly logicalId: string;
  readonly props: Record<string, unknown>;
}

type AuthorizerPart = AuthorizerDescription & { readonly apiId: string; readonly type: string };

/** Everything but the routes, keyed by Ref (an API's by its API id). */
interface ApiParts {
  readonly apis: Map<string, { state: StackState; logicalId: string; props: Record<string, unknown> }>;
  readonly integrations: Map<string, IntegrationPart>;
  readonly integrationResponses: Map<string, IntegrationResponseSpec[]>;
  readonly authorizers: Map<string, AuthorizerPart>;
  /** Route ids that have a RouteResponse. */
  readonly routeResponses: Set<string>;
  readonly stagesByApi: Map<string, StageDescription[]>;
}

export interface ApiReading {
  readonly apis: readonly WebSocketApiDescription[];
  /** Refs of the authorizers routes can use (REQUEST, backed by a function of this app). */
  readonly authorizerRefs: ReadonlySet<string>;
  /** Integrations whose integration responses the gateway applies (MOCK routes of a served API). */
  readonly mockIntegrations: ReadonlySet<string>;
}

/** A map template (`RequestTemplates`, `ResponseTemplates`): its string values. */
function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') out[key] = entry;
  return out;
}

function pushTo<T>(map: Map<string, T[]>, key: string, item: T): void {
  const items = map.get(key) ?? [];
  items.push(item);
  map.set(key, items);
}

function throttle(settings: unknown): Throttle | undefined {
  const s = settings as { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number } | undefined;
  if (!s || (s.ThrottlingRateLimit === undefined && s.ThrottlingBurstLimit === undefined)) return undefined;
  return {
    ...(s.ThrottlingRateLimit !== undefined ? { rateLimit: Number(s.ThrottlingRateLimit) } : {}),
    ...(s.ThrottlingBurstLimit !== undefined ? { burstLimit: Number(s.ThrottlingBurstLimit) } : {}),
  };
}

function stage(logicalId: string, props: Record<string, unknown>): StageDescription {
  const routeThrottle: Record<string, Throttle> = {};
  for (const [key, settings] of Object.entries((props.RouteSettings as Record<string, unknown>) ?? {})) {
    const t = throttle(settings);
    if (t) routeThrottle[key] = t;
  }
  const defaultThrottle = throttle(props.DefaultRouteSettings);
  return {
    logicalId,
    name: str(props.StageName),
    routeThrottle,
    ...(defaultThrottle ? { defaultThrottle } : {}),
  };
}

function integrationResponse(logicalId: string, props: Record<string, unknown>): IntegrationResponseSpec {
  return {
    logicalId,
    key: str(props.IntegrationResponseKey),
    responseTemplates: stringMap(props.ResponseTemplates),
    ...(typeof props.TemplateSelectionExpression === 'string'
      ? { templateSelectionExpression: props.TemplateSelectionExpression }
      : {}),
  };
}

function collectParts(read: ReadContext, functions: FunctionIndex): ApiParts {
  const parts: ApiParts = {
    apis: new Map(),
    integrations: new Map(),
    integrationResponses: new Map(),
    authorizers: new Map(),
    routeResponses: new Set(),
    stagesByApi: new Map(),
  };
  for (const { state, logicalId, resource } of existingResources(read.states)) {
    if (!resource.Type.startsWith('AWS::ApiGatewayV2::')) continue;
    const props = state.props(logicalId);
    const ref = str(state.ctx.ref(logicalId));
    const raw = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::ApiGatewayV2::Api':
        if (props.ProtocolType === 'WEBSOCKET') parts.apis.set(ref, { state, logicalId, props });
        else
          read.notRun.push({
            stackName: state.artifact.stackName,
            logicalId,
            type: resource.Type,
            reason: `${str(props.ProtocolType)} APIs are not served (WebSocket only)`,
          });
        break;
      case 'AWS::ApiGatewayV2::Integration': {
        const functionId = functionOf(functions, state, raw.IntegrationUri, str(props.IntegrationUri));
        parts.integrations.set(ref, {
          type: str(props.IntegrationType),
          logicalId,
          props,
          ...(functionId ? { functionId } : {}),
        });
        break;
      }
      case 'AWS::ApiGatewayV2::IntegrationResponse':
        pushTo(parts.integrationResponses, str(props.IntegrationId), integrationResponse(logicalId, props));
        break;
      case 'AWS::ApiGatewayV2::Authorizer': {
        const functionId = functionOf(functions, state, raw.AuthorizerUri, str(props.AuthorizerUri));
        if (functionId) {
          parts.authorizers.set(ref, {
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
        parts.routeResponses.add(str(props.RouteId));
        break;
      case 'AWS::ApiGatewayV2::Stage':
        pushTo(parts.stagesByApi, str(props.ApiId), stage(logicalId, props));
        break;
    }
  }
  return parts;
}

function mockSpec(
  integration: IntegrationPart,
  responses: IntegrationResponseSpec[] | undefined,
): MockIntegrationSpec {
  const p = integration.props;
  return {
    logicalId: integration.logicalId,
    requestTemplates: stringMap(p.RequestTemplates),
    responses: responses ?? [],
    ...(typeof p.TemplateSelectionExpression === 'string'
      ? { templateSelectionExpression: p.TemplateSelectionExpression }
      : {}),
    ...(typeof p.PassthroughBehavior === 'string' ? { passthroughBehavior: p.PassthroughBehavior } : {}),
  };
}

/** Why the local stack cannot run a route whose integration is not a MOCK. */
/** An HTTP_PROXY integration to a URL (a VPC link's target is not a URL: not run). */
function httpProxySpec(integration: IntegrationPart, uri: string): HttpProxySpec {
  const props = integration.props;
  const parameters: Record<string, string> = {};
  const raw = props.RequestParameters;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [destination, source] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof source === 'string') parameters[destination] = source;
    }
  }
  const timeout = Number(props.TimeoutInMillis);
  return {
    logicalId: integration.logicalId,
    uri,
    method: str(props.IntegrationMethod, 'POST') || 'POST',
    requestParameters: parameters,
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 29_000,
  };
}

function unrunnableIntegration(integration: IntegrationPart | undefined, routeKey: string): string {
  return !integration
    ? `route ${routeKey}: no integration the local stack can run`
    : integration.type === 'AWS_PROXY'
      ? `route ${routeKey}: its Lambda function is not one the local stack runs (listed above, or outside the assembly)`
      : `route ${routeKey}: ${integration.type} integrations are not run (AWS_PROXY to a Lambda function, MOCK, and HTTP_PROXY to a URL, only)`;
}

class RouteReader {
  readonly routesByApi = new Map<string, RouteDescription[]>();
  readonly mockIntegrations = new Set<string>();
  private readonly read: ReadContext;
  private readonly parts: ApiParts;

  constructor(read: ReadContext, parts: ApiParts) {
    this.read = read;
    this.parts = parts;
  }

  route(state: StackState, logicalId: string, type: string): void {
    const props = state.props(logicalId);
    const apiId = str(props.ApiId);
    const integrationId = str(props.Target).replace(/^integrations\//, '');
    const integration = this.parts.integrations.get(integrationId);
    if (!this.parts.apis.has(apiId)) return; // routes of an API that is not served are listed with it
    const where = `${state.artifact.stackName}/${logicalId}`;
    const routeKey = str(props.RouteKey);
    const twoWay = this.parts.routeResponses.has(str(state.ctx.ref(logicalId)));
    if (props.ApiKeyRequired === true || props.ApiKeyRequired === 'true') {
      this.read.warnings.push(
        `${where}: route ${routeKey} requires an API key, which is not checked locally`,
      );
    }
    if (integration?.type === 'MOCK') {
      this.mockIntegrations.add(integrationId);
      const mock = mockSpec(integration, this.parts.integrationResponses.get(integrationId));
      pushTo(this.routesByApi, apiId, { routeKey, logicalId, twoWay, mock });
      if (props.AuthorizationType === 'CUSTOM' || props.AuthorizationType === 'AWS_IAM') {
        this.read.warnings.push(
          `${where}: authorization on the MOCK route ${routeKey} is not checked locally`,
        );
      }
      return;
    }
    const httpUri = integration?.type === 'HTTP_PROXY' ? str(integration.props.IntegrationUri) : '';
    if (integration && /^https?:\/\//i.test(httpUri)) {
      pushTo(this.routesByApi, apiId, {
        routeKey,
        logicalId,
        twoWay,
        http: httpProxySpec(integration, httpUri),
      });
      if (props.AuthorizationType === 'CUSTOM' || props.AuthorizationType === 'AWS_IAM') {
        this.read.warnings.push(
          `${where}: authorization on the HTTP_PROXY route ${routeKey} is not checked locally`,
        );
      }
      return;
    }
    const notRun = (reason: string) => {
      this.read.notRun.push({ stackName: state.artifact.stackName, logicalId, type, reason });
      pushTo(this.routesByApi, apiId, { routeKey, logicalId, twoWay, notRun: reason });
    };
    if (!integration?.functionId || integration.type !== 'AWS_PROXY') {
      notRun(unrunnableIntegration(integration, routeKey));
      return;
    }
    let authorizer: AuthorizerDescription | undefined;
    if (props.AuthorizationType === 'CUSTOM') {
      const found = this.parts.authorizers.get(str(props.AuthorizerId));
      if (found?.type !== 'REQUEST') {
        notRun(`route ${routeKey}: its authorizer is not a REQUEST Lambda authorizer`);
        return;
      }
      const { apiId: _apiId, type: _type, ...description } = found;
      authorizer = description;
    }
    const iamAuthorization = props.AuthorizationType === 'AWS_IAM';
    if (iamAuthorization) {
      this.read.warnings.push(
        routeKey === '$connect'
          ? `${where}: AWS_IAM authorization on $connect: unsigned connection requests are refused with 403; a signature is not verified locally (no IAM users exist here)`
          : `${where}: AWS_IAM authorization on ${routeKey} has no effect (API Gateway authorizes WebSocket connections on $connect only)`,
      );
    }
    const route: LambdaRouteDescription = {
      routeKey,
      logicalId,
      functionId: integration.functionId,
      twoWay,
      ...(authorizer ? { authorizer } : {}),
      ...(iamAuthorization ? { iamAuthorization } : {}),
    };
    pushTo(this.routesByApi, apiId, route);
  }
}

/** The served APIs with their routes and stages. */
function describeApis(
  parts: ApiParts,
  routesByApi: ReadonlyMap<string, RouteDescription[]>,
): WebSocketApiDescription[] {
  const descriptions: WebSocketApiDescription[] = [];
  for (const [apiId, { state, logicalId, props }] of parts.apis) {
    const stages = parts.stagesByApi.get(apiId) ?? [];
    descriptions.push({
      id: `${state.artifact.artifactId}/${logicalId}`,
      stackName: state.artifact.stackName,
      logicalId,
      name: str(props.Name, logicalId),
      apiId,
      routeSelectionExpression: str(props.RouteSelectionExpression, '$request.body.action'),
      routes: routesByApi.get(apiId) ?? [],
      ...(stages[0] ? { stage: stages[0] } : {}),
      ...(stages.length > 1 ? { otherStages: stages.slice(1) } : {}),
    });
  }
  return descriptions;
}

export function readApis(read: ReadContext, functions: FunctionIndex): ApiReading {
  const parts = collectParts(read, functions);
  const routes = new RouteReader(read, parts);
  for (const { state, logicalId, resource } of existingResources(read.states)) {
    if (resource.Type === 'AWS::ApiGatewayV2::Route') routes.route(state, logicalId, resource.Type);
  }
  return {
    apis: describeApis(parts, routes.routesByApi),
    authorizerRefs: new Set(parts.authorizers.keys()),
    mockIntegrations: routes.mockIntegrations,
  };
}
