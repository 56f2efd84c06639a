/**
 * The request context IAM conditions are evaluated against: the global keys every call of a
 * Lambda function carries, plus what the service adds for the request (dynamodb.ts,
 * secrets-manager.ts). Keys are looked up lazily, only when a statement with conditions applies,
 * so roles without conditions never build one.
 *
 * Global keys, as AWS fills them for a call made with a function's role credentials:
 * - aws:RequestedRegion (the region in the request's SigV4 credential scope, else the local region), aws:PrincipalAccount and aws:ResourceAccount (the
 *   local account), aws:PrincipalArn (the role's ARN: for a role session IAM gives the role, not
 *   the assumed-role session), aws:PrincipalType 'AssumedRole', lambda:SourceFunctionArn;
 * - aws:SecureTransport 'true' (the SDK calls AWS over HTTPS; locally it is plain HTTP on
 *   loopback, which says nothing about the code), aws:ViaAWSService and aws:PrincipalIsAWSService
 *   'false', aws:TokenIssueTime (when the function got its keys);
 * - aws:CurrentTime (ISO 8601) and aws:EpochTime (seconds), read at each call.
 * Absent on purpose: aws:SourceIp (on AWS the address of Lambda's NAT, which no policy can know in
 * advance; loopback would be a value AWS never sends), aws:userid (it embeds the role's unique id,
 * which only IAM assigns), aws:username (IAM users only), tags, VPC and organization keys.
 * Every key not listed is absent.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { AccountScope } from '../iam/arns';
import type { ContextValue, RequestContext } from '../iam/conditions';
import { type RegisteredCaller, signedRegionOf } from './callers';

/** A service's own keys for one request, by lower-cased key name. */
export type ServiceKeys = (lowerCaseKey: string) => ContextValue | undefined;

export function globalKey(
  scope: AccountScope,
  caller: RegisteredCaller,
  key: string,
  signedRegion?: string,
): ContextValue | undefined {
  switch (key) {
    case 'aws:requestedregion':
      // Every local call reaches one endpoint; the region the client signed for is the one it called.
      return signedRegion ?? scope.region;
    case 'aws:principalaccount':
    case 'aws:resourceaccount':
      return scope.accountId;
    case 'aws:principalarn':
      return caller.roleArn;
    case 'aws:principaltype':
      return 'AssumedRole';
    case 'lambda:sourcefunctionarn':
      return caller.functionArn;
    case 'aws:securetransport':
      return 'true';
    case 'aws:viaawsservice':
    case 'aws:principalisawsservice':
      return 'false';
    case 'aws:tokenissuetime':
      return caller.tokenIssueTime;
    case 'aws:currenttime':
      return new Date().toISOString();
    case 'aws:epochtime':
      return String(Math.floor(Date.now() / 1000));
    default:
      return undefined;
  }
}

/** The context of one request: global keys, then the service's. */
export function requestContext(
  scope: AccountScope,
  caller: RegisteredCaller,
  serviceKeys?: ServiceKeys,
  headers?: IncomingHttpHeaders,
): RequestContext {
  return (key) => {
    const global = globalKey(scope, caller, key, headers ? signedRegionOf(headers) : undefined);
    return global !== undefined ? global : serviceKeys?.(key);
  };
}
