/**
 * The composition root, except for token verification: configuration is validated and clients
 * are built once per cold start, then reused by every invocation of the container.
 * Only `auth` verifies tokens, so jose and the Secrets Manager client are composed in
 * `composition.ts`, which only the auth function (and tests) load; every other function's bundle
 * leaves them out.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HttpAiService } from './adapters/ai/http-ai-service';
import { ApiGatewayNotifier } from './adapters/apigateway/notifier';
import { DynamoAssessmentStore } from './adapters/dynamodb/assessment-store';
import { createDocumentClient } from './adapters/dynamodb/client';
import { DynamoConnectionRegistry } from './adapters/dynamodb/connection-registry';
import { DynamoProctorSubscriptions } from './adapters/dynamodb/proctor-subscriptions';
import { DynamoRateLimiter } from './adapters/dynamodb/rate-limiter';
import { DynamoTestCatalog } from './adapters/dynamodb/test-catalog';
import { PowertoolsTelemetry } from './adapters/powertools-telemetry';
import { type AppConfig, loadConfig } from './config';
import { type Core, createCore } from './core';
import type { CoreDeps } from './core/deps';
import { InvariantError } from './core/errors';
import type { Clock, TokenVerifier } from './core/ports';
import { CachedTestCatalog } from './core/test-cache';

export interface Runtime {
  core: Core;
  telemetry: PowertoolsTelemetry;
}

export interface RuntimeOptions {
  /** Replace any port, e.g. a test's clock or a recording notifier. */
  overrides?: Partial<CoreDeps>;
  /** A document client to share (tests count requests through it). */
  doc?: DynamoDBDocumentClient;
}

/** How a function verifies tokens, given the configuration and the runtime's clock. */
export type TokenVerification = (config: AppConfig, clock: Clock) => TokenVerifier;

const systemClock: Clock = { now: () => Date.now() };

/** For the functions that never see a token: a route that reaches it is wired wrongly. */
const noTokenVerification: TokenVerification = () => ({
  verify: async () => {
    throw new InvariantError('this function verifies no tokens: only the auth route does');
  },
});

export function assembleRuntime(
  config: AppConfig,
  tokens: TokenVerification,
  options: RuntimeOptions = {},
): Runtime {
  const telemetry = new PowertoolsTelemetry(config.deploymentName);
  const clock = options.overrides?.clock ?? systemClock;
  const doc =
    options.doc ?? createDocumentClient(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {});
  const connections = new DynamoConnectionRegistry(doc, config.tables.connections, () => clock.now());
  const deps: CoreDeps = {
    connections,
    assessments: new DynamoAssessmentStore(doc, config.tables.assessments),
    tests: new CachedTestCatalog(new DynamoTestCatalog(doc, config.tables.tests), clock),
    notifier: new ApiGatewayNotifier({ callbackUrl: config.callbackUrl }),
    tokens: options.overrides?.tokens ?? tokens(config, clock),
    rateLimiter: new DynamoRateLimiter(connections),
    clock,
    ids: { newId: () => randomUUID() },
    telemetry,
    subscriptions: new DynamoProctorSubscriptions(doc, config.tables.connections),
    settings: { allowedOrigins: config.allowedOrigins, authDeadlineSeconds: config.authDeadlineSeconds },
    ...(config.aiService
      ? { ai: new HttpAiService({ baseUrl: config.aiService.url, timeoutMs: config.aiService.timeoutMs }) }
      : {}),
    ...options.overrides,
  };
  return { core: createCore(deps), telemetry };
}

let runtime: Runtime | undefined;

/**
 * The runtime of this container, built on first use from the environment, for every function
 * but auth (see composition.ts).
 */
export function runtimeFromEnvironment(): Runtime {
  runtime ??= assembleRuntime(loadConfig(), noTokenVerification);
  return runtime;
}
