/**
 * The composition root with token verification (jose, and Secrets Manager for a secret held
 * there): the auth function's, and what tests and the local services build. Everything else is
 * composed in composition-base.ts, which the other functions load without any of this.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { JoseTokenVerifier, type KeySource, TokenKeyError } from './adapters/jwt/jose-verifier';
import {
  assembleRuntime,
  type Runtime,
  type RuntimeOptions,
  type TokenVerification,
} from './composition-base';
import { type AppConfig, loadConfig } from './config';

export type { Runtime, RuntimeOptions } from './composition-base';

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

const joseTokenVerification: TokenVerification = (config, clock) =>
  new JoseTokenVerifier({
    key: keySource(config),
    userIdClaim: config.jwt.userIdClaim,
    proctor: config.proctor,
    now: () => clock.now(),
    ...(config.jwt.issuer ? { issuer: config.jwt.issuer } : {}),
    ...(config.jwt.audience ? { audience: config.jwt.audience } : {}),
  });

export function buildRuntime(config: AppConfig, options: RuntimeOptions = {}): Runtime {
  return assembleRuntime(config, joseTokenVerification, options);
}

let runtime: Runtime | undefined;

/** The auth function's runtime, built on first use from the environment. */
export function runtimeFromEnvironment(): Runtime {
  runtime ??= buildRuntime(loadConfig());
  return runtime;
}
