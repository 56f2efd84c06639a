/**
 * CloudFormation's intrinsic functions, evaluated the way CloudFormation would for one local
 * account and region: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If (with the
 * template's Conditions: Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition), Fn::ImportValue,
 * Fn::FindInMap, Fn::Base64, Fn::GetAZs and the pseudo parameters. What a Ref or Fn::GetAtt of a
 * resource yields is the template reader's business (it knows the resource types): it passes
 * `ref` and `getAtt` in. No I/O here.
 */

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Removes the property (or list item) that holds it, like `Ref: AWS::NoValue`. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

export interface Pseudo {
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
  readonly stackId: string;
  /** @default 'aws' */
  readonly partition?: string;
  /** @default 'amazonaws.com' */
  readonly urlSuffix?: string;
}

export interface IntrinsicContext {
  readonly pseudo: Pseudo;
  /** Template parameters, already given their values. */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly mappings?: Readonly<Record<string, Record<string, Record<string, unknown>>>>;
  /** The template's Conditions section (raw); evaluated on demand and cached. */
  readonly conditions?: Readonly<Record<string, unknown>>;
  /** Exported outputs of the stacks read so far, by export name. */
  readonly imports: ReadonlyMap<string, unknown>;
  /** What `Ref: <logicalId>` of a resource yields. */
  ref(logicalId: string): unknown;
  getAtt(logicalId: string, attribute: string): unknown;
}

export function pseudoParameter(name: string, pseudo: Pseudo): string | typeof NO_VALUE | undefined {
  switch (name) {
    case 'AWS::Region':
      return pseudo.region;
    case 'AWS::AccountId':
      return pseudo.accountId;
    case 'AWS::Partition':
      return pseudo.partition ?? 'aws';
    case 'AWS::URLSuffix':
      return pseudo.urlSuffix ?? 'amazonaws.com';
    case 'AWS::StackName':
      return pseudo.stackName;
    case 'AWS::StackId':
      return pseudo.stackId;
    case 'AWS::NotificationARNs':
      return undefined;
    case 'AWS::NoValue':
      return NO_VALUE;
    default:
      return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function asString(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateError(`${where} expects a string, got ${describe(value)}`);
}

function asList(value: unknown, where: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new TemplateError(`${where} expects a list, got ${describe(value)}`);
}

/** Evaluates every intrinsic in `value` (deeply). `NO_VALUE` entries drop out of objects and lists. */
export function resolve(value: unknown, ctx: IntrinsicContext): unknown {
  const conditionCache = new Map<string, boolean>();

  const condition = (name: string, seen: readonly string[] = []): boolean => {
    const cached = conditionCache.get(name);
    if (cached !== undefined) return cached;
    if (seen.includes(name)) throw new TemplateError(`condition ${name} refers to itself`);
    const body = ctx.conditions?.[name];
    if (body === undefined) throw new TemplateError(`unknown condition ${name}`);
    const result = truthy(evaluate(body, [...seen, name]), `condition ${name}`);
    conditionCache.set(name, result);
    return result;
  };

  const truthy = (value: unknown, where: string): boolean => {
    if (typeof value === 'boolean') return value;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw new TemplateError(`${where} is not a boolean: ${describe(value)}`);
  };

  const evaluate = (node: unknown, conditionPath: readonly string[] = []): unknown => {
    if (Array.isArray(node)) {
      return node.map((item) => evaluate(item, conditionPath)).filter((item) => item !== NO_VALUE);
    }
    if (!isObject(node)) return node;
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const key = keys[0] as string;
      const arg = node[key];
      switch (key) {
        case 'Ref':
          return refOf(asString(arg, 'Ref'));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(arg)
            ? [asString(arg[0], 'Fn::GetAtt'), asString(evaluate(arg[1]), 'Fn::GetAtt')]
            : splitOnce(asString(arg, 'Fn::GetAtt'), '.');
          return ctx.getAtt(logicalId, attribute);
        }
        case 'Fn::Join': {
          const [separator, items] = asList(arg, 'Fn::Join');
          const list = asList(evaluate(items), 'Fn::Join');
          return list.map((item) => asString(item, 'Fn::Join')).join(asString(separator, 'Fn::Join'));
        }
        case 'Fn::Sub':
          return substitute(arg);
        case 'Fn::Select': {
          const [index, items] = asList(arg, 'Fn::Select');
          const list = asList(evaluate(items), 'Fn::Select');
          const i = Number(evaluate(index));
          if (!Number.isInteger(i) || i < 0 || i >= list.length) {
            throw new TemplateError(
              `Fn::Select index ${describe(index)} is outside a list of ${list.length}`,
            );
          }
          return list[i];
        }
        case 'Fn::Split': {
          const [separator, source] = asList(arg, 'Fn::Split');
          return asString(evaluate(source), 'Fn::Split').split(asString(separator, 'Fn::Split'));
        }
        case 'Fn::If': {
          const [name, whenTrue, whenFalse] = asList(arg, 'Fn::If');
          return evaluate(condition(asString(name, 'Fn::If')) ? whenTrue : whenFalse, conditionPath);
        }
        case 'Fn::Equals': {
          const [a, b] = asList(arg, 'Fn::Equals').map((item) => evaluate(item, conditionPath));
          return JSON.stringify(a) === JSON.stringify(b);
        }
        case 'Fn::And':
          return asList(arg, 'Fn::And').every((item) => truthy(evaluate(item, conditionPath), 'Fn::And'));
        case 'Fn::Or':
          return asList(arg, 'Fn::Or').some((item) => truthy(evaluate(item, conditionPath), 'Fn::Or'));
        case 'Fn::Not': {
          const [inner] = asList(arg, 'Fn::Not');
          return !truthy(evaluate(inner, conditionPath), 'Fn::Not');
        }
        case 'Condition':
          return condition(asString(arg, 'Condition'), conditionPath);
        case 'Fn::ImportValue': {
          const name = asString(evaluate(arg), 'Fn::ImportValue');
          if (!ctx.imports.has(name)) {
            throw new TemplateError(`Fn::ImportValue: no stack read so far exports '${name}'`);
          }
          return ctx.imports.get(name);
        }
        case 'Fn::FindInMap': {
          const [map, top, second] = asList(evaluate(arg), 'Fn::FindInMap').map((item) =>
            asString(item, 'Fn::FindInMap'),
          );
          const found = ctx.mappings?.[map as string]?.[top as string]?.[second as string];
          if (found === undefined) throw new TemplateError(`Fn::FindInMap: no ${map}.${top}.${second}`);
          return found;
        }
        case 'Fn::Base64':
          return Buffer.from(asString(evaluate(arg), 'Fn::Base64')).toString('base64');
        case 'Fn::GetAZs': {
          const region = asString(evaluate(arg), 'Fn::GetAZs') || ctx.pseudo.region;
          return ['a', 'b', 'c'].map((zone) => `${region}${zone}`);
        }
        default:
          if (key.startsWith('Fn::')) throw new TemplateError(`unsupported intrinsic ${key}`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(node)) {
      const resolved = evaluate(item, conditionPath);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  };

  const refOf = (name: string): unknown => {
    if (name.startsWith('AWS::')) {
      const value = pseudoParameter(name, ctx.pseudo);
      if (value === undefined) throw new TemplateError(`unsupported pseudo parameter ${name}`);
      return value;
    }
    if (Object.hasOwn(ctx.parameters, name)) return ctx.parameters[name];
    return ctx.ref(name);
  };

  const substitute = (arg: unknown): string => {
    const [template, variables] = Array.isArray(arg) ? [arg[0], arg[1]] : [arg, {}];
    const text = asString(template, 'Fn::Sub');
    const bound = isObject(variables) ? (evaluate(variables) as Record<string, unknown>) : {};
    return text.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      const name = inner.trim();
      if (Object.hasOwn(bound, name)) return asString(bound[name], `Fn::Sub \${${name}}`);
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [logicalId, attribute] = splitOnce(name, '.');
        return asString(ctx.getAtt(logicalId, attribute), `Fn::Sub ${whole}`);
      }
      return asString(refOf(name), `Fn::Sub ${whole}`);
    });
  };

  return evaluate(value);
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  if (at < 0) throw new TemplateError(`expected '<logicalId>${separator}<attribute>', got '${text}'`);
  return [text.slice(0, at), text.slice(at + separator.length)];
}

/** Whether a resource's `Condition` holds (resources without one always exist). */
export function conditionHolds(name: unknown, ctx: IntrinsicContext): boolean {
  if (name === undefined) return true;
  return resolve({ 'Fn::If': [name, true, false] }, ctx) === true;
}
