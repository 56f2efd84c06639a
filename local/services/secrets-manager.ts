/**
 * Secrets Manager, in memory: GetSecretValue, DescribeSecret and ListSecrets over the secrets given
 * at start (the template's secrets with generated or overridden values) or added later.
 * A secret is found by ARN, by name, or by partial ARN (the ARN without its `-XXXXXX` suffix), as
 * the service resolves SecretId. IAM is checked on the secret's full ARN; a refusal names the
 * SecretId as the caller wrote it, as the service does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type AccountScope, secretArn, secretPartialArn } from '../iam/arns';
import type { IamCheck } from './dynamodb';
import type { ServiceAnswer } from './replies';

export const SECRETS_MANAGER_TARGET_PREFIX = 'secretsmanager.';

export interface SecretInput {
  readonly name: string;
  readonly secretString: string;
  /**
   * The ARN the functions see (e.g. in their environment). It must end in `<name>-<6 characters>`.
   *
   * @default - `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters from a hash of the name>`
   */
  readonly arn?: string;
  readonly description?: string;
}

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  /** The ARN without the `-XXXXXX` suffix: a partial ARN. */
  readonly partialArn: string;
  readonly secretString: string;
  readonly description: string | undefined;
  readonly versionId: string;
  readonly createdDate: number;
}

const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Six characters derived from the name, so a restart keeps the same ARN. */
function suffixFor(name: string): string {
  const digest = createHash('sha256').update(name).digest();
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += SUFFIX_ALPHABET[(digest[i] ?? 0) % SUFFIX_ALPHABET.length];
  return suffix;
}

const notFound: ServiceAnswer = {
  kind: 'error',
  type: 'ResourceNotFoundException',
  message: "Secrets Manager can't find the specified secret.",
};

export class SecretsStore {
  private readonly byArn = new Map<string, StoredSecret>();
  private readonly byName = new Map<string, StoredSecret>();
  private readonly byPartialArn = new Map<string, StoredSecret>();

  constructor(private readonly scope: AccountScope) {}

  /** Adds or replaces a secret; returns its ARN. */
  put(input: SecretInput): string {
    const arn = input.arn ?? secretArn(this.scope, input.name, suffixFor(input.name));
    if (!arn.startsWith('arn:') || !/-[A-Za-z0-9]{6}$/.test(arn)) {
      throw new Error(
        `secret ${input.name}: ARN '${arn}' does not end in -XXXXXX as Secrets Manager ARNs do`,
      );
    }
    const previous = this.byName.get(input.name);
    if (previous) {
      this.byArn.delete(previous.arn);
      this.byPartialArn.delete(previous.partialArn);
    }
    const secret: StoredSecret = {
      name: input.name,
      arn,
      partialArn: arn.slice(0, -7),
      secretString: input.secretString,
      description: input.description,
      versionId: randomUUID(),
      createdDate: Date.now() / 1000,
    };
    this.byArn.set(arn, secret);
    this.byName.set(input.name, secret);
    this.byPartialArn.set(secret.partialArn, secret);
    return arn;
  }

  find(secretId: string): StoredSecret | undefined {
    return this.byArn.get(secretId) ?? this.byName.get(secretId) ?? this.byPartialArn.get(secretId);
  }

  /** What IAM checks for an operation; a missing secret is checked under the ARN its id would have. */
  check(operation: string, body: Record<string, unknown>): { check: IamCheck; shownResource: string } {
    const action = `secretsmanager:${operation}`;
    if (operation === 'ListSecrets') return { check: { action, resource: '*' }, shownResource: '*' };
    const secretId = typeof body.SecretId === 'string' ? body.SecretId : '';
    const found = this.find(secretId);
    const resource =
      found?.arn ?? (secretId.startsWith('arn:') ? secretId : secretPartialArn(this.scope, secretId));
    return { check: { action, resource }, shownResource: secretId };
  }

  /**
   * The Secrets Manager condition keys of a request: secretsmanager:SecretId (the secret's ARN
   * when it exists, which ARN operators compare, else the id as given), secretsmanager:VersionId
   * and secretsmanager:VersionStage when the request names them. Other keys are absent.
   */
  conditionKey(key: string, body: Record<string, unknown>): string | undefined {
    switch (key) {
      case 'secretsmanager:secretid': {
        if (typeof body.SecretId !== 'string') return undefined;
        return this.find(body.SecretId)?.arn ?? body.SecretId;
      }
      case 'secretsmanager:versionid':
        return typeof body.VersionId === 'string' ? body.VersionId : undefined;
      case 'secretsmanager:versionstage':
        return typeof body.VersionStage === 'string' ? body.VersionStage : undefined;
      default:
        return undefined;
    }
  }

  answer(operation: string, body: Record<string, unknown>): ServiceAnswer {
    switch (operation) {
      case 'GetSecretValue': {
        const secret = this.find(String(body.SecretId ?? ''));
        if (!secret) return notFound;
        if (typeof body.VersionId === 'string' && body.VersionId !== secret.versionId) return notFound;
        if (typeof body.VersionStage === 'string' && body.VersionStage !== 'AWSCURRENT') return notFound;
        return {
          kind: 'ok',
          body: {
            ARN: secret.arn,
            Name: secret.name,
            VersionId: secret.versionId,
            SecretString: secret.secretString,
            VersionStages: ['AWSCURRENT'],
            CreatedDate: secret.createdDate,
          },
        };
      }
      case 'DescribeSecret': {
        const secret = this.find(String(body.SecretId ?? ''));
        if (!secret) return notFound;
        return { kind: 'ok', body: this.describe(secret) };
      }
      case 'ListSecrets':
        return { kind: 'ok', body: { SecretList: [...this.byArn.values()].map((s) => this.describe(s)) } };
      default:
        return {
          kind: 'error',
          type: 'InvalidRequestException',
          message: `secretsmanager:${operation} is not emulated by the local stack (GetSecretValue, DescribeSecret and ListSecrets are)`,
        };
    }
  }

  private describe(secret: StoredSecret) {
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      CreatedDate: secret.createdDate,
      LastChangedDate: secret.createdDate,
      VersionIdsToStages: { [secret.versionId]: ['AWSCURRENT'] },
    };
  }
}
