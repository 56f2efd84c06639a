/**
 * Outbound routes that keep a function's signed AWS calls on the machine. A request signed with
 * SigV4 names the signing access key, and a function's key here is a local one: sent to AWS it
 * would leak that key and be refused anyway. Every partition's DNS suffix (and its dual-stack one)
 * is listed, since a handler may name any endpoint in code, plus `on.aws` (Lambda function URLs
 * with IAM auth). Unsigned requests (a public object's URL, a presigned one) go where they were
 * headed.
 */
import type { OutboundRoute } from './index';

const AWS_DNS_SUFFIXES = [
  'amazonaws.com',
  'api.aws',
  'on.aws',
  'amazonaws.com.cn',
  'api.amazonwebservices.com.cn',
  'amazonaws.eu',
  'c2s.ic.gov',
  'sc2s.sgov.gov',
  'cloud.adc-e.uk',
  'csp.hci.ic.gov',
] as const;

export function signedAwsCallRoutes(servicesEndpoint: string): OutboundRoute[] {
  return AWS_DNS_SUFFIXES.map((suffix) => ({
    host: `*.${suffix}`,
    target: servicesEndpoint,
    signedOnly: true,
  }));
}
