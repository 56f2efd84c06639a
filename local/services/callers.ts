/**
 * Who is calling: each function gets its own access key (as each Lambda gets its role's session
 * credentials), and a request is attributed to a function by the access key id in its SigV4
 * `Authorization` header. The signature itself is not verified: the keys only ever leave this
 * process through the runtime's environment, and recomputing SigV4 on every call costs time on the
 * hot path for no local benefit.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type AccountScope, assumedRoleArn } from '../iam/arns';
import { type Decision, evaluate } from '../iam/evaluate';
import type { FunctionDefinition, FunctionIdentity, PolicyStatement } from '../runtime/contract';

/** What the services need to know of a function: a FunctionDefinition fits, plus an optional role name. */
export interface ServiceCaller extends Pick<FunctionDefinition, 'id' | 'functionName' | 'policy'> {
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
  readonly principalArn: string;
  readonly identity: FunctionIdentity;
  policy: readonly PolicyStatement[];
  /** Decisions already made for this policy, keyed by `action resource`. */
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
    const principalArn = assumedRoleArn(
      this.scope,
      caller.roleName ?? `${caller.functionName}-role`,
      caller.functionName,
    );
    const existing = this.byFunction.get(caller.id);
    if (existing) {
      const updated: RegisteredCaller = {
        ...existing,
        principalArn,
        policy: caller.policy,
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
      identity,
      policy: caller.policy,
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

export function decide(caller: RegisteredCaller, action: string, resource: string): Decision {
  const key = `${action} ${resource}`;
  const cached = caller.decisions.get(key);
  if (cached) return cached;
  const decision = evaluate(caller.policy, action, resource);
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

/** The service named in the SigV4 credential scope (`dynamodb`, `s3`, ...), for error messages. */
export function signedServiceOf(headers: IncomingHttpHeaders): string | null {
  const match = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(headers.authorization ?? '');
  return match?.[1] ?? null;
}
