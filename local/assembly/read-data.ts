/**
 * Data the functions reach: DynamoDB tables, Secrets Manager secrets, SSM parameters, and the
 * dynamic references (`{{resolve:...}}`) in function environments that name those secrets and
 * parameters.
 */
import { createHash } from 'node:crypto';
import { digest, type StackState, secretName } from './stack-state';
import type {
  KeyElement,
  LocalFunction,
  ParameterDescription,
  SecretDescription,
  TableDescription,
} from './template';
import { list, str } from './values';

type IndexDescription = TableDescription['globalSecondaryIndexes'][number];

function indexes(value: unknown): IndexDescription[] {
  return list<Record<string, unknown>>(value).map((index) => ({
    IndexName: str(index.IndexName),
    KeySchema: list<KeyElement>(index.KeySchema),
    Projection: (index.Projection as { ProjectionType?: string; NonKeyAttributes?: string[] }) ?? {
      ProjectionType: 'ALL',
    },
  }));
}

export function describeTable(
  state: StackState,
  logicalId: string,
  type: TableDescription['type'],
): TableDescription {
  const p = state.props(logicalId);
  const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  return {
    id: `${state.artifact.artifactId}/${logicalId}`,
    logicalId,
    type,
    tableName: state.physicalName(logicalId),
    arn: str(state.ctx.getAtt(logicalId, 'Arn')),
    attributeDefinitions: list(p.AttributeDefinitions),
    keySchema: list<KeyElement>(p.KeySchema),
    globalSecondaryIndexes: indexes(p.GlobalSecondaryIndexes),
    localSecondaryIndexes: indexes(p.LocalSecondaryIndexes),
    ...(ttl?.AttributeName && ttl.Enabled !== false ? { ttlAttribute: ttl.AttributeName } : {}),
  };
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

export function describeSecret(state: StackState, logicalId: string): SecretDescription {
  const p = state.props(logicalId);
  const id = `${state.artifact.artifactId}/${logicalId}`;
  const generate = p.GenerateSecretString as Record<string, unknown> | undefined;
  const name = secretName(state, logicalId);
  return {
    id,
    logicalId,
    name,
    arn: str(state.ctx.ref(logicalId)),
    value:
      typeof p.SecretString === 'string'
        ? p.SecretString
        : generateSecret(generate ?? {}, digest(id, state.accountId)),
    generated: typeof p.SecretString !== 'string',
  };
}

export function describeParameter(state: StackState, logicalId: string): ParameterDescription {
  const p = state.props(logicalId);
  return {
    id: `${state.artifact.artifactId}/${logicalId}`,
    logicalId,
    name: state.physicalName(logicalId),
    arn: str(state.ctx.getAtt(logicalId, 'Arn')),
    type: str(p.Type, 'String'),
    value: Array.isArray(p.Value) ? p.Value.join(',') : str(p.Value),
  };
}

/** Dynamic references in the environment resolve once every secret and parameter is known. */
export function withResolvedEnvironments(
  functions: readonly LocalFunction[],
  secrets: readonly SecretDescription[],
  parameters: readonly ParameterDescription[],
  warnings: string[],
): LocalFunction[] {
  return functions.map((fn) => {
    const environment: Record<string, string> = {};
    for (const [name, value] of Object.entries(fn.environment)) {
      environment[name] = resolveDynamicReferences(value, secrets, parameters, (why) =>
        warnings.push(`${fn.id}: ${name}: ${why}`),
      );
    }
    return { ...fn, environment };
  });
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
