/**
 * The composition root: configuration is validated and clients are built once per cold start,
 * then reused by every invocation of the container.
 */
import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { HttpAiService } from './adapters/ai/http-ai-service';
import { ApiGatewayNotifier } from './adapters/apigateway/notifier';
import { DynamoAssessmentStore } from './adapters/dynamodb/assessment-store';
import { createDocumentClient } from './adapters/dynamodb/client';
import { DynamoConnectionRegistry } from './adapters/dynamodb/connection-registry';
import { DynamoProctorSubscriptions } from './adapters/dynamodb/proctor-subscriptions';
import { DynamoRateLimiter } from './adapters/dynamodb/rate-limiter';
import { DynamoTestCatalog } from './adapters/dynamodb/test-catalog';
import { JoseTokenVerifier, type KeySource, TokenKeyError } from './adapters/jwt/jose-verifier';
import { PowertoolsTelemetry } from './adapters/powertools-telemetry';
import { type AppConfig, loadConfig } from './config';
import { type Core, createCore } from './core';
import type { CoreDeps } from './core/deps';
import type { Clock } from './core/ports';
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

const systemClock: Clock = { now: () => Date.now() };

function keySource(config: AppConfig): KeySource {
  const { jwt } = config;
  if (jwt.kind === 'jwks') return { kind: 'jwks', jwksUrl: jwt.jwksUrl };
  if ('secret' in jwt) return { kind: 'hs256', secret: async () => jwt.secret };
  const secrets = new SecretsManagerClient({});
  return {
    kind: 'hs256',
    secret: async () => {
      const { SecretString } = await secrets
        .send(new GetSecretValueCommand({ SecretId: jwt.secretArn }))
        .catch((error: unknown) => {
          throw new TokenKeyError(`could not read the JWT secret ${jwt.secretArn}`, { cause: error });
        });
      if (!SecretString) throw new TokenKeyError('the JWT secret has no string value');
      return SecretString;
    },
  };
}

export function buildRuntime(config: AppConfig, options: RuntimeOptions = {}): Runtime {
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
    tokens: new JoseTokenVerifier({
      key: keySource(config),
      userIdClaim: config.jwt.userIdClaim,
      proctor: config.proctor,
      now: () => clock.now(),
      ...(config.jwt.issuer ? { issuer: config.jwt.issuer } : {}),
      ...(config.jwt.audience ? { audience: config.jwt.audience } : {}),
    }),
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

/** The runtime of this container, built on first use from the environment. */
export function runtimeFromEnvironment(): Runtime {
  runtime ??= buildRuntime(loadConfig());
  return runtime;
}
