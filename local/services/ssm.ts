/**
 * SSM Parameter Store, in memory: GetParameter, GetParameters and GetParametersByPath over the
 * parameters given at start (the template's AWS::SSM::Parameter values) or added later.
 * IAM: `ssm:GetParameter` / `ssm:GetParameters` on each parameter's ARN (one refused name refuses
 * the whole GetParameters call), `ssm:GetParametersByPath` on the path's ARN.
 * SecureString values are stored and returned in clear: there is no KMS locally.
 */
import { type AccountScope, ssmParameterArn } from '../iam/arns';
import type { IamCheck } from './dynamodb';
import type { ServiceAnswer } from './replies';

export const SSM_TARGET_PREFIX = 'AmazonSSM.';

export interface ParameterInput {
  readonly name: string;
  readonly value: string;
  /** @default 'String' */
  readonly type?: 'String' | 'StringList' | 'SecureString';
}

interface StoredParameter {
  readonly name: string;
  readonly value: string;
  readonly type: 'String' | 'StringList' | 'SecureString';
  readonly version: number;
  readonly lastModifiedDate: number;
}

/** GetParametersByPath returns at most 10 per page. */
const MAX_PAGE = 10;

export class ParameterStore {
  private readonly parameters = new Map<string, StoredParameter>();

  constructor(private readonly scope: AccountScope) {}

  put(input: ParameterInput): void {
    const previous = this.parameters.get(input.name);
    this.parameters.set(input.name, {
      name: input.name,
      value: input.value,
      type: input.type ?? 'String',
      version: (previous?.version ?? 0) + 1,
      lastModifiedDate: Date.now() / 1000,
    });
  }

  /** A parameter name as SSM accepts it: the name, its ARN, optionally with a `:version` selector. */
  private nameOf(reference: string): { name: string; version: number | undefined } {
    const arnPrefix = `${ssmParameterArn(this.scope, '')}`;
    let name = reference;
    if (reference.startsWith('arn:')) {
      name = reference.startsWith(arnPrefix) ? reference.slice(arnPrefix.length - 1) : reference;
      // `parameter/a/b` is the name `/a/b`; `parameter/a` is the name `a`.
      if (name.startsWith('/') && !name.slice(1).includes('/') && !this.parameters.has(name))
        name = name.slice(1);
    }
    const selector = /^(.*):(\d+)$/.exec(name);
    if (selector?.[1] !== undefined && selector[2] !== undefined) {
      return { name: selector[1], version: Number(selector[2]) };
    }
    return { name, version: undefined };
  }

  checks(operation: string, body: Record<string, unknown>): IamCheck[] {
    const action = `ssm:${operation}`;
    switch (operation) {
      case 'GetParameter':
        return [{ action, resource: this.arnOf(String(body.Name ?? '')) }];
      case 'GetParameters': {
        const names = Array.isArray(body.Names) ? body.Names : [];
        return names.map((name) => ({ action, resource: this.arnOf(String(name)) }));
      }
      case 'GetParametersByPath':
        return [{ action, resource: ssmParameterArn(this.scope, String(body.Path ?? '')) }];
      default:
        return [{ action, resource: typeof body.Name === 'string' ? this.arnOf(body.Name) : '*' }];
    }
  }

  private arnOf(reference: string): string {
    return reference.startsWith('arn:')
      ? reference
      : ssmParameterArn(this.scope, this.nameOf(reference).name);
  }

  answer(operation: string, body: Record<string, unknown>): ServiceAnswer {
    switch (operation) {
      case 'GetParameter': {
        const found = this.lookup(String(body.Name ?? ''));
        if (!found) return { kind: 'error', type: 'ParameterNotFound', message: '' };
        return { kind: 'ok', body: { Parameter: this.shape(found) } };
      }
      case 'GetParameters': {
        const names = Array.isArray(body.Names) ? body.Names.map(String) : [];
        const parameters: unknown[] = [];
        const invalid: string[] = [];
        for (const name of names) {
          const found = this.lookup(name);
          if (found) parameters.push(this.shape(found));
          else invalid.push(name);
        }
        return { kind: 'ok', body: { Parameters: parameters, InvalidParameters: invalid } };
      }
      case 'GetParametersByPath':
        return this.byPath(body);
      default:
        return {
          kind: 'error',
          type: 'ValidationException',
          message: `ssm:${operation} is not emulated by the local stack (GetParameter, GetParameters and GetParametersByPath are)`,
        };
    }
  }

  private lookup(reference: string): StoredParameter | undefined {
    const { name, version } = this.nameOf(reference);
    const found = this.parameters.get(name);
    return found && (version === undefined || version === found.version) ? found : undefined;
  }

  private byPath(body: Record<string, unknown>): ServiceAnswer {
    const path = String(body.Path ?? '');
    if (!path.startsWith('/')) {
      return {
        kind: 'error',
        type: 'ValidationException',
        message: 'The parameter path must begin with a slash (/).',
      };
    }
    const base = path.endsWith('/') ? path : `${path}/`;
    const recursive = body.Recursive === true;
    const matching = [...this.parameters.values()]
      .filter((p) => p.name.startsWith(base) && (recursive || !p.name.slice(base.length).includes('/')))
      .sort((a, b) => a.name.localeCompare(b.name));
    const pageSize =
      typeof body.MaxResults === 'number' ? Math.min(Math.max(1, body.MaxResults), MAX_PAGE) : MAX_PAGE;
    const start = typeof body.NextToken === 'string' ? Number.parseInt(body.NextToken, 10) || 0 : 0;
    const page = matching.slice(start, start + pageSize);
    const next = start + pageSize < matching.length ? String(start + pageSize) : undefined;
    return {
      kind: 'ok',
      body: { Parameters: page.map((p) => this.shape(p)), ...(next ? { NextToken: next } : {}) },
    };
  }

  private shape(parameter: StoredParameter) {
    return {
      Name: parameter.name,
      Type: parameter.type,
      Value: parameter.value,
      Version: parameter.version,
      LastModifiedDate: parameter.lastModifiedDate,
      ARN: ssmParameterArn(this.scope, parameter.name),
      DataType: 'text',
    };
  }
}
