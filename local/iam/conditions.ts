/**
 * A statement's `Condition` block evaluated against a request's context, by the rules the IAM
 * user guide documents ("IAM JSON policy elements: Condition operators", "Conditions with
 * multiple context keys or values", "Single-valued vs. multivalued context keys", "Policy
 * variables"):
 * - operators AND together, keys under one operator AND together, the values of one key OR
 *   together (NOR for a negated operator: `StringNotEquals` with [a, b] holds when the request
 *   value is neither);
 * - condition keys are case-insensitive, values case-sensitive (except `...IgnoreCase`, `Bool`);
 * - a key absent from the request: the condition does not hold, except that a negated operator
 *   (`StringNotEquals`, `StringNotLike`, `ArnNotLike`, `NotIpAddress`, ...) then holds ("If the
 *   policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike,
 *   and the right key is not present, the condition is true"), `...IfExists` holds, and `Null`
 *   tests exactly that absence; an empty list counts as absent;
 * - `ForAllValues:` holds when every request value matches (and when the key is absent or empty),
 *   `ForAnyValue:` when at least one does (never when absent); a negated operator under either
 *   tests each request value against the NOR of the policy values;
 * - without a set operator, a key with several request values matches when any of them does (a
 *   negated operator: when none does);
 * - `${key}` policy variables in values take the request's single value of that key, or the
 *   `${key, 'default'}` default; `${*}`, `${?}`, `${$}` are those characters, never wildcards. A
 *   variable without a value makes its policy value match nothing.
 * Operators this evaluator does not know are reported by `compileConditions` (`unsupported`), and
 * each such clause counts as holding in a Deny and as failing in an Allow: the local stack then
 * refuses more than AWS might, never less (a refusal names the statement's effect; a silent grant
 * would hide the bug the local stack is there to show).
 */
import { BlockList, isIP } from 'node:net';
import { arnPattern, globPattern, type PatternPiece } from './patterns';

/** The Condition element after intrinsics: operator -> condition key -> values (strings). */
export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

export type ContextValue = string | readonly string[];

/**
 * The request context: a key's value(s) by its lower-cased name, or undefined when the request
 * does not carry it. Asked lazily, only for keys some applicable condition names.
 */
export type RequestContext = (lowerCaseKey: string) => ContextValue | undefined;

/** The context with no keys at all. */
export const EMPTY_CONTEXT: RequestContext = () => undefined;

/** A context from a plain record (keys in any case). */
export function contextOf(values: Readonly<Record<string, ContextValue | undefined>>): RequestContext {
  const byKey = new Map<string, ContextValue>();
  for (const [key, value] of Object.entries(values))
    if (value !== undefined) byKey.set(key.toLowerCase(), value);
  return (key) => byKey.get(key);
}

export interface CompiledConditions {
  /** The lower-cased condition keys the block reads (policy variables included). */
  readonly keys: ReadonlySet<string>;
  /** Operators not evaluated (each such clause fails in an Allow and holds in a Deny). */
  readonly unsupported: readonly string[];
  holds(context: RequestContext, effect: 'Allow' | 'Deny'): boolean;
}

type Matcher = (requestValue: string, policyValue: Value) => boolean;

/** One policy value: fixed text, or pieces to fill from the request's context. */
interface Value {
  readonly text: string | undefined;
  readonly pieces: readonly (PatternPiece | { readonly variable: string; readonly fallback?: string })[];
  /** Precompiled form of a fixed value (regex, number, date, address block). */
  readonly cache: Map<string, unknown>;
}

const numberOf = (text: string): number | undefined => {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
};

/** ISO 8601 dates and epoch seconds, as the Date operators accept both. */
const timeOf = (text: string): number | undefined => {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
};

/** The pieces of a value with its variables filled in; undefined when a variable has no value. */
function fill(value: Value, context: RequestContext): PatternPiece[] | undefined {
  const pieces: PatternPiece[] = [];
  for (const piece of value.pieces) {
    if ('text' in piece) {
      pieces.push(piece);
      continue;
    }
    const found = context(piece.variable);
    // Only single-valued keys can fill a variable.
    const single = typeof found === 'string' ? found : found?.length === 1 ? found[0] : undefined;
    if (single !== undefined) pieces.push({ text: single, literal: true });
    else if (piece.fallback !== undefined) pieces.push({ text: piece.fallback, literal: true });
    else return undefined;
  }
  return pieces;
}

/** The text of a value (variables filled), or undefined when a variable has no value. */
function textOf(value: Value, context: RequestContext): string | undefined {
  if (value.text !== undefined) return value.text;
  return fill(value, context)
    ?.map((piece) => piece.text)
    .join('');
}

/** A matcher over the value's text, with the parsed form of a fixed value kept. */
function parsedMatcher<T>(
  kind: string,
  parse: (text: string) => T | undefined,
  test: (requestValue: string, policy: T) => boolean,
): (context: RequestContext) => Matcher {
  return (context) => (requestValue, value) => {
    let parsed: T | undefined;
    if (value.text !== undefined) {
      if (!value.cache.has(kind)) value.cache.set(kind, parse(value.text));
      parsed = value.cache.get(kind) as T | undefined;
    } else {
      const text = textOf(value, context);
      parsed = text === undefined ? undefined : parse(text);
    }
    return parsed !== undefined && test(requestValue, parsed);
  };
}

const patternMatcher =
  (kind: 'glob' | 'arn') => (context: RequestContext) => (requestValue: string, value: Value) => {
    let pattern: RegExp | undefined;
    if (value.text !== undefined) {
      pattern = value.cache.get(kind) as RegExp | undefined;
      if (!pattern) {
        pattern = kind === 'arn' ? arnPattern([{ text: value.text }]) : globPattern([{ text: value.text }]);
        value.cache.set(kind, pattern);
      }
    } else {
      const pieces = fill(value, context);
      if (!pieces) return false;
      pattern = kind === 'arn' ? arnPattern(pieces) : globPattern(pieces);
    }
    return pattern.test(requestValue);
  };

const compare =
  (
    parse: (text: string) => number | undefined,
    kind: string,
    holds: (request: number, policy: number) => boolean,
  ) =>
  (context: RequestContext) =>
    parsedMatcher(kind, parse, (requestValue, policy: number) => {
      const request = parse(requestValue);
      return request !== undefined && holds(request, policy);
    })(context);

function addressBlock(text: string): BlockList | undefined {
  const [address, prefix] = text.trim().split('/');
  const family = address ? isIP(address) : 0;
  if (!address || family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
  if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) return undefined;
  const block = new BlockList();
  block.addSubnet(address, bits, type);
  return block;
}

const inBlock = (requestValue: string, block: BlockList) => {
  const family = isIP(requestValue);
  return family !== 0 && block.check(requestValue, family === 4 ? 'ipv4' : 'ipv6');
};

const stringEquals =
  (context: RequestContext): Matcher =>
  (request, value) =>
    textOf(value, context) === request;
const stringEqualsIgnoringCase =
  (context: RequestContext): Matcher =>
  (request, value) =>
    textOf(value, context)?.toLowerCase() === request.toLowerCase();
const boolEquals = stringEqualsIgnoringCase;
const numberEquals = compare(numberOf, 'number', (a, b) => a === b);
const dateEquals = compare(timeOf, 'date', (a, b) => a === b);
const addressIn = (context: RequestContext) => parsedMatcher('cidr', addressBlock, inBlock)(context);

type MatcherFactory = (context: RequestContext) => Matcher;

/** Every operator without its `...IfExists` suffix or set prefix: the positive test and whether it is negated. */
const OPERATORS: Readonly<Record<string, { readonly negated: boolean; readonly match: MatcherFactory }>> = {
  StringEquals: { negated: false, match: stringEquals },
  StringNotEquals: { negated: true, match: stringEquals },
  StringEqualsIgnoreCase: { negated: false, match: stringEqualsIgnoringCase },
  StringNotEqualsIgnoreCase: { negated: true, match: stringEqualsIgnoringCase },
  StringLike: { negated: false, match: patternMatcher('glob') },
  StringNotLike: { negated: true, match: patternMatcher('glob') },
  NumericEquals: { negated: false, match: numberEquals },
  NumericNotEquals: { negated: true, match: numberEquals },
  NumericLessThan: { negated: false, match: compare(numberOf, 'number', (a, b) => a < b) },
  NumericLessThanEquals: { negated: false, match: compare(numberOf, 'number', (a, b) => a <= b) },
  NumericGreaterThan: { negated: false, match: compare(numberOf, 'number', (a, b) => a > b) },
  NumericGreaterThanEquals: { negated: false, match: compare(numberOf, 'number', (a, b) => a >= b) },
  DateEquals: { negated: false, match: dateEquals },
  DateNotEquals: { negated: true, match: dateEquals },
  DateLessThan: { negated: false, match: compare(timeOf, 'date', (a, b) => a < b) },
  DateLessThanEquals: { negated: false, match: compare(timeOf, 'date', (a, b) => a <= b) },
  DateGreaterThan: { negated: false, match: compare(timeOf, 'date', (a, b) => a > b) },
  DateGreaterThanEquals: { negated: false, match: compare(timeOf, 'date', (a, b) => a >= b) },
  Bool: { negated: false, match: boolEquals },
  // Binary values are compared as their base64 text, as the policy and the request both carry them.
  BinaryEquals: { negated: false, match: stringEquals },
  IpAddress: { negated: false, match: addressIn },
  NotIpAddress: { negated: true, match: addressIn },
  ArnEquals: { negated: false, match: patternMatcher('arn') },
  ArnLike: { negated: false, match: patternMatcher('arn') },
  ArnNotEquals: { negated: true, match: patternMatcher('arn') },
  ArnNotLike: { negated: true, match: patternMatcher('arn') },
};

const VARIABLE = /\$\{([^}]*)\}/g;
const VARIABLE_BODY = /^([^,\s]+)\s*(?:,\s*'((?:[^']|'')*)')?$/;

function compileValue(raw: string, keys: Set<string>): Value {
  if (!raw.includes('${')) return { text: raw, pieces: [{ text: raw }], cache: new Map() };
  const pieces: Value['pieces'][number][] = [];
  let last = 0;
  let variables = 0;
  for (const match of raw.matchAll(VARIABLE)) {
    const start = match.index ?? 0;
    if (start > last) pieces.push({ text: raw.slice(last, start) });
    last = start + match[0].length;
    const body = (match[1] ?? '').trim();
    if (body === '*' || body === '?' || body === '$') {
      pieces.push({ text: body, literal: true });
      continue;
    }
    const parsed = VARIABLE_BODY.exec(body);
    if (!parsed?.[1]) {
      // Not a variable IAM would recognize: plain text.
      pieces.push({ text: match[0] });
      continue;
    }
    const variable = parsed[1].toLowerCase();
    keys.add(variable);
    variables++;
    pieces.push(
      parsed[2] === undefined ? { variable } : { variable, fallback: parsed[2].replaceAll("''", "'") },
    );
  }
  if (last < raw.length) pieces.push({ text: raw.slice(last) });
  if (variables > 0) return { text: undefined, pieces, cache: new Map() };
  // Only escapes: a fixed value, whose escaped characters are no wildcards.
  const allText = pieces as PatternPiece[];
  if (allText.some((piece) => piece.literal)) return { text: undefined, pieces: allText, cache: new Map() };
  return { text: allText.map((piece) => piece.text).join(''), pieces: allText, cache: new Map() };
}

interface Clause {
  readonly key: string;
  readonly values: readonly Value[];
  /** Undefined for an unsupported operator. */
  readonly test: ((context: RequestContext) => boolean) | undefined;
}

const absent = (value: ContextValue | undefined): value is undefined =>
  value === undefined || (typeof value !== 'string' && value.length === 0);

function clauseTest(
  operatorName: string,
  key: string,
  values: readonly Value[],
): ((context: RequestContext) => boolean) | undefined {
  if (operatorName === 'Null') {
    // "true": the key must be absent; "false": present. Several values OR together.
    const wants = values.map((value) => value.text?.toLowerCase());
    if (wants.some((want) => want !== 'true' && want !== 'false')) return undefined;
    return (context) => wants.includes(absent(context(key)) ? 'true' : 'false');
  }
  let name = operatorName;
  let set: 'all' | 'any' | undefined;
  if (name.startsWith('ForAllValues:')) {
    set = 'all';
    name = name.slice('ForAllValues:'.length);
  } else if (name.startsWith('ForAnyValue:')) {
    set = 'any';
    name = name.slice('ForAnyValue:'.length);
  }
  const ifExists = name.endsWith('IfExists');
  if (ifExists) name = name.slice(0, -'IfExists'.length);
  const spec = Object.hasOwn(OPERATORS, name) ? OPERATORS[name] : undefined;
  if (!spec) return undefined;
  const { negated } = spec;
  return (context) => {
    const found = context(key);
    if (absent(found)) {
      if (ifExists) return true;
      if (set === 'all') return true;
      if (set === 'any') return false;
      return negated;
    }
    const match = spec.match(context);
    const requestValues = typeof found === 'string' ? [found] : found;
    const anyPolicyValue = (requestValue: string) => values.some((value) => match(requestValue, value));
    if (set === undefined) {
      const some = requestValues.some(anyPolicyValue);
      return negated ? !some : some;
    }
    const perValue = (requestValue: string) =>
      negated ? !anyPolicyValue(requestValue) : anyPolicyValue(requestValue);
    return set === 'all' ? requestValues.every(perValue) : requestValues.some(perValue);
  };
}

export function compileConditions(block: ConditionBlock): CompiledConditions {
  const keys = new Set<string>();
  const unsupported: string[] = [];
  const clauses: Clause[] = [];
  for (const [operatorName, entries] of Object.entries(block)) {
    for (const [rawKey, rawValues] of Object.entries(entries)) {
      const key = rawKey.toLowerCase();
      keys.add(key);
      const values = rawValues.map((raw) => compileValue(raw, keys));
      const test = clauseTest(operatorName, key, values);
      if (!test && !unsupported.includes(operatorName)) unsupported.push(operatorName);
      clauses.push({ key, values, test });
    }
  }
  return {
    keys,
    unsupported,
    holds: (context, effect) =>
      clauses.every((clause) => (clause.test ? clause.test(context) : effect === 'Deny')),
  };
}

/** The operators in a block that `compileConditions` cannot evaluate (for warnings at load time). */
export function unsupportedOperators(block: ConditionBlock): readonly string[] {
  return compileConditions(block).unsupported;
}
