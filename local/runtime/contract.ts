/**
 * The seams between the three wings of the local stack that runs a cloud assembly:
 *   assembly/  reads templates into FunctionDefinitions (no side effects),
 *   runtime/   runs those functions as Lambda does (isolated instances, one event each),
 *   services/  the AWS APIs the functions call (DynamoDB, Secrets Manager, SSM, @connections),
 *              each call checked against the calling function's IAM policy first.
 * The composition (stack.ts) wires them; none of the three imports another's implementation.
 */

/** One IAM policy statement, with every intrinsic already resolved to a string. */
export interface PolicyStatement {
  readonly effect: 'Allow' | 'Deny';
  /** e.g. ['dynamodb:GetItem', 'dynamodb:Put*']; absent when the statement uses NotAction. */
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  /** ARNs, wildcards allowed; absent when the statement uses NotResource. */
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
  /**
   * The statement's Condition element: operator (e.g. 'StringEquals', 'ForAnyValue:StringLike',
   * 'DateLessThanIfExists') -> condition key -> values, every value a string. Absent or empty:
   * the statement applies unconditionally.
   */
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

/** A Lambda function as the template declares it, resolved for the local account and region. */
export interface FunctionDefinition {
  /** Unique in the app: `<stack artifact id>/<logical id>`. */
  readonly id: string;
  /** The FunctionName property, or a generated `<stack>-<logicalId>-<suffix>` as CloudFormation would. */
  readonly functionName: string;
  readonly arn: string;
  /** The handler string, e.g. 'index.handler' (the last dot splits file from export). */
  readonly handler: string;
  /** e.g. 'nodejs24.x'. */
  readonly runtime: string;
  /** Absolute folder holding the code as Lambda would unpack it (an asset folder, or a folder the reader wrote for Code.ZipFile). */
  readonly codeDir: string;
  /** @default 3 (Lambda's default) */
  readonly timeoutSeconds: number;
  /** @default 128 */
  readonly memoryMb: number;
  /** Exactly the template's Environment.Variables, resolved. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The function's layers in the order its Layers list names them (later ones overwrite earlier
   * ones in /opt, as Lambda extracts them): each an absolute folder, or a .zip file, holding what
   * Lambda would extract to /opt. @default none
   */
  readonly layers?: readonly string[];
  /** Every statement of every policy attached to the function's role (inline and AWS::IAM::Policy). */
  readonly policy: readonly PolicyStatement[];
  /**
   * The execution role's ARN as the template resolves it: `aws:PrincipalArn` in IAM conditions and
   * the role refusals name. @default `arn:aws:iam::<account>:role/<functionName>-role`
   */
  readonly roleArn?: string;
}

/** What the runtime gives each instance so its SDK calls reach the local services as this function. */
export interface FunctionIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export type InvokeResult =
  | {
      readonly ok: true;
      readonly value: unknown;
      readonly durationMs: number;
      readonly coldStart: boolean;
      /** On a cold start: how long the instance took to start and load the handler (Lambda's Init Duration). */
      readonly initDurationMs?: number;
    }
  | {
      readonly ok: false;
      /** 'error': the handler threw or rejected; 'timeout': it ran past its timeout; 'crash': the instance died. */
      readonly kind: 'error' | 'timeout' | 'crash';
      readonly errorType: string;
      readonly errorMessage: string;
      readonly durationMs: number;
      readonly coldStart: boolean;
      readonly initDurationMs?: number;
    };

export interface FunctionRuntime {
  /** Runs one event on a free warm instance of the function, or a new (cold) one. */
  invoke(functionId: string, event: unknown): Promise<InvokeResult>;
  /** New code for a function: instances started after this run it; busy ones finish their event first. */
  reload(functionId: string, codeDir: string): Promise<void>;
  stop(): Promise<void>;
}
