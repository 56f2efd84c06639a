/**
 * Which hosts a function's signed calls are kept local for: every AWS partition's endpoints, not
 * only `*.amazonaws.com`, so a handler naming a China, dual-stack or function URL endpoint does not
 * send its local access key to AWS; unsigned requests and other hosts are left alone.
 */
import { signedAwsCallRoutes } from '../../local/runtime/aws-endpoints';
import { hostMatcher } from '../../local/runtime/instance-side/outbound';

const SERVICES = 'http://127.0.0.1:4599';
const targetFor = hostMatcher(signedAwsCallRoutes(SERVICES));

describe('signed AWS call routes', () => {
  it.each([
    'sqs.us-east-1.amazonaws.com',
    'sqs.cn-north-1.amazonaws.com.cn',
    'dynamodb.us-east-1.api.aws',
    'dynamodb.cn-north-1.api.amazonwebservices.com.cn',
    'abcdefgh.lambda-url.eu-west-1.on.aws',
    'sqs.eusc-de-east-1.amazonaws.eu',
    'sqs.us-iso-east-1.c2s.ic.gov',
    'SQS.US-EAST-1.AMAZONAWS.COM.',
  ])('keeps a signed call to %s local, lets an unsigned one out', (host) => {
    expect(targetFor(host, true)?.href).toBe(`${SERVICES}/`);
    expect(targetFor(host, false)).toBeUndefined();
  });

  it.each(['example.com', 'notamazonaws.com', 'amazonaws.com.evil.example', 'my.r2.cloudflarestorage.com'])(
    'leaves a signed call to %s alone',
    (host) => {
      expect(targetFor(host, true)).toBeUndefined();
    },
  );
});
