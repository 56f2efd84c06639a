/**
 * Who is calling: each function gets its own access key (as each Lambda gets its role's session
 * credentials), and a request is attributed to a function by the access key id in its SigV4
 * `Authorization` header. The signature itself is not verified: the keys only ever leave this
 * process through the runtime's environment, and recomputing SigV4 on every call costs time on the
 * hot path for no local benefit.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type AccountScope, assumedRoleArn, roleNameOf } from '../iam/arns';
import type { RequestContext } from '../iam/conditions';
import { conditionKeysOf, type Decision, evaluateRequest } from '../iam/evaluate';
import type { FunctionDefinition, FunctionIdentity, PolicyStatement } from '../runtime/contract';

/** What the services need to know of a function: a FunctionDefinition fits, plus an optional role name. */
export interface ServiceCaller
  extends Pick<FunctionDefinition, 'id' | 'functionName' | 'policy' | 'roleArn'> {
  /**
   * The execution role's name, shown in refusals as `assumed-role/<roleName>/<functionName>`.
   *
   * @default `${functionName}-role`
   */
  readonly roleName?: string;
  /**
   * The access key pair the function signs with, when it was already handed out (the services
   * running in a worker thread get the keys the composition gave the functions).
   *
   * @default a new random key pair
   */
  readonly identity?: FunctionIdentity;
}

export interface RegisteredCaller {
  readonly functionId: string;
  /** The session ARN refusals name: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION`. */
  readonly principalArn: string;
  /** `aws:PrincipalArn`: for a role session IAM gives the role's ARN, not the session's. */
  readonly roleArn: string;
  /** `lambda:SourceFunctionArn`, which IAM adds to calls made with a function's role credentials. */
  readonly functionArn: string;
  /** `aws:TokenIssueTime`: when this function was given its credentials. */
  readonly tokenIssueTime: string;
  readonly identity: FunctionIdentity;
  policy: readonly PolicyStatement[];
  /** The lower-cased condition keys the policy reads; empty when no statement has conditions. */
  conditionKeys: ReadonlySet<string>;
  /** Decisions already made for this policy that no request context can change, keyed by `action resource`. */
  readonly decisions: Map<string, Decision>;
}

/** Repeated calls hit a handful of tables; connection ARNs vary, so the cache is bounded. */
const MAX_CACHED_DECISIONS = 4096;

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function newAccessKeyId(): string {
  // Same shape as an AWS session key id: ASIA + 16 base32 characters.
  const bytes = randomBytes(16);
  let id = 'ASIA';
  for (const byte of bytes) id += KEY_ALPHABET[byte % 32];
  return id;
}

export class CallerRegistry {
  private readonly byFunction = new Map<string, RegisteredCaller>();
  private readonly byKey = new Map<string, RegisteredCaller>();

  constructor(private readonly scope: AccountScope) {}

  /** Registers a function (or replaces its policy and role name, keeping its key). */
  register(caller: ServiceCaller): FunctionIdentity {
    const partition = this.scope.partition ?? 'aws';
    const roleArn =
      caller.roleArn ??
      `arn:${partition}:iam::${this.scope.accountId}:role/${caller.roleName ?? `${caller.functionName}-role`}`;
    const principalArn = assumedRoleArn(
      this.scope,
      caller.roleName ?? roleNameOf(roleArn),
      caller.functionName,
    );
    const functionArn = `arn:${partition}:lambda:${this.scope.region}:${this.scope.accountId}:function:${caller.functionName}`;
    const existing = this.byFunction.get(caller.id);
    if (existing) {
      const updated: RegisteredCaller = {
        ...existing,
        principalArn,
        roleArn,
        functionArn,
        policy: caller.policy,
        conditionKeys: conditionKeysOf(caller.policy),
        decisions: new Map(),
      };
      this.byFunction.set(caller.id, updated);
      this.byKey.set(updated.identity.accessKeyId, updated);
      return updated.identity;
    }
    const identity: FunctionIdentity = caller.identity ?? {
      accessKeyId: newAccessKeyId(),
      secretAccessKey: randomBytes(30).toString('base64'),
    };
    const registered: RegisteredCaller = {
      functionId: caller.id,
      principalArn,
      roleArn,
      functionArn,
      tokenIssueTime: new Date().toISOString(),
      identity,
      policy: caller.policy,
      conditionKeys: conditionKeysOf(caller.policy),
      decisions: new Map(),
    };
    this.byFunction.set(caller.id, registered);
    this.byKey.set(identity.accessKeyId, registered);
    return identity;
  }

  setPolicy(functionId: string, policy: readonly PolicyStatement[]): void {
    const caller = this.byFunction.get(functionId);
    if (!caller) throw new Error(`unknown function '${functionId}': register it first`);
    caller.policy = policy;
    caller.conditionKeys = conditionKeysOf(policy);
    caller.decisions.clear();
  }

  identityFor(functionId: string): FunctionIdentity {
    const caller = this.byFunction.get(functionId);
    if (!caller) throw new Error(`unknown function '${functionId}': register it first`);
    return caller.identity;
  }

  byAccessKey(accessKeyId: string): RegisteredCaller | undefined {
    return this.byKey.get(accessKeyId);
  }
}

/**
 * The decision for one call. Decisions no condition took part in are cached per (action,
 * resource); one that a statement with conditions applied to is made again for every request,
 * since the next request's context (keys, time, region) may differ. Roles without conditions keep
 * the cache for every call.
 */
export function decide(
  caller: RegisteredCaller,
  action: string,
  resource: string,
  context?: RequestContext,
): Decision {
  const key = `${action} ${resource}`;
  const cached = caller.decisions.get(key);
  if (cached) return cached;
  const { decision, dependsOnRequest } = evaluateRequest(caller.policy, action, resource, context);
  if (dependsOnRequest) return decision;
  if (caller.decisions.size >= MAX_CACHED_DECISIONS) caller.decisions.clear();
  caller.decisions.set(key, decision);
  return decision;
}

/** The access key id of `Credential=AKID/date/region/service/aws4_request`, or null when unsigned. */
export function accessKeyOf(headers: IncomingHttpHeaders): string | null {
  const authorization = headers.authorization;
  if (!authorization?.startsWith('AWS4-HMAC-SHA256')) return null;
  const start = authorization.indexOf('Credential=');
  if (start < 0) return null;
  const end = authorization.indexOf('/', start);
  return end < 0 ? null : authorization.slice(start + 'Credential='.length, end);
}

/** The region named in the SigV4 credential scope (`Credential=AKID/date/REGION/service/...`). */
export function signedRegionOf(headers: IncomingHttpHeaders): string | undefined {
  return /Credential=[^/]+\/[^/]+\/([^/]+)\//.exec(headers.authorization ?? '')?.[1];
}

/** The service named in the SigV4 credential scope (`dynamodb`, `s3`, ...), for error messages. */
export function signedServiceOf(headers: IncomingHttpHeaders): string | null {
  const match = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(headers.authorization ?? '');
  return match?.[1] ?? null;
}
