/**
 * The roles the CDK app synthesizes, enforced: every route and job runs its real code, each with
 * its own identity and exactly the IAM statements the template gives its role, against dynalite
 * through the local services endpoint and @connections through an authorizing management API.
 * A whole lifecycle must run without one refused call; and removing one grant from a function's
 * synthesized policy makes the call that needed it fail with AccessDeniedException.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SignJWT } from 'jose';
import { ApiGatewayNotifier } from '../../lambdas/adapters/apigateway/notifier';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/client';
import type { TableName } from '../../lambdas/adapters/dynamodb/table-definitions';
import { putTestDefinition } from '../../lambdas/adapters/dynamodb/test-catalog';
import { ManualClock } from '../../lambdas/adapters/memory';
import { buildRuntime } from '../../lambdas/composition';
import { loadConfig } from '../../lambdas/config';
import { connectionKey } from '../../lambdas/core/connection-key';
import type { CoreDeps } from '../../lambdas/core/deps';
import { routeHandlers } from '../../lambdas/handlers/route-handlers';
import { type FunctionSpec, ROUTES, SCHEDULED_JOBS } from '../../lambdas/routes';
import { routeResponseMessage } from '../../local/gateway/route-response';
import { resourcePattern } from '../../local/iam/evaluate';
import { createRecordingPool, handleManagementRequest } from '../../local/management-api';
import type { PolicyStatement } from '../../local/runtime/contract';
import { type AwsServices, type IamDecisionEvent, sendDenial, startAwsServices } from '../../local/services';
import { asArray, logicalId, type Statement, statementsOfFunction, synthesize } from '../infra/synth';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const API_ID = 'localapi';
const STAGE = 'prod';
const SECRET = 'roles-test-secret-with-enough-length';
const QUIZ = {
  test_id: 'quiz-1',
  title: 'Quiz',
  duration_seconds: 300,
  questions: [
    { question_id: 'q1', text: 'One?', options: ['a', 'b'], correct_option: 'a' },
    { question_id: 'q2', text: 'Two?', options: ['a', 'b'], correct_option: 'b' },
  ],
};
const SPECS: readonly FunctionSpec[] = [...ROUTES, ...SCHEDULED_JOBS];

let dynamo: LocalDynamo;
let services: AwsServices;
let management: Server;
let callbackUrl: string;
const pool = createRecordingPool();
const clock = new ManualClock(Date.now());
/** Synthesized policy of each function, by its name in routes.ts. */
const policies: Record<string, PolicyStatement[]> = {};
let secretArn: string;
/** Errors the core reported (it answers `internal_error` to the client and logs them). */
const coreErrors: { fn: string; message: string; error: unknown }[] = [];
let handlers: Record<string, ReturnType<typeof routeHandlers>>;
/** Every IAM decision the services made, in order. */
const decisions: IamDecisionEvent[] = [];

/** The template's intrinsics, as far as this app's IAM statements use them. */
function resolver(names: { tables: Record<string, string>; secret: string; api: string }) {
  const resolve = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const node = value as Record<string, unknown>;
    if (typeof node.Ref === 'string') {
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': REGION,
        'AWS::AccountId': ACCOUNT,
        'AWS::URLSuffix': 'amazonaws.com',
      };
      if (pseudo[node.Ref]) return pseudo[node.Ref] as string;
      if (node.Ref === names.secret) return secretArn;
      if (node.Ref === names.api) return API_ID;
      return `unresolved:${node.Ref}`;
    }
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [id, attribute] = node['Fn::GetAtt'] as [string, string];
      const table = names.tables[id];
      return table && attribute === 'Arn'
        ? `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}`
        : `arn:aws:unresolved:${REGION}:${ACCOUNT}:${id}`;
    }
    if (Array.isArray(node['Fn::Join'])) {
      const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    throw new Error(`unexpected intrinsic in a policy: ${JSON.stringify(value)}`);
  };
  return (statement: Statement): PolicyStatement => ({
    effect: statement.Effect === 'Deny' ? 'Deny' : 'Allow',
    actions: asArray(statement.Action),
    resources: asArray(statement.Resource as unknown).map(resolve),
  });
}

beforeAll(async () => {
  const synthesized = synthesize();
  const backend = synthesized.stack.backend;
  dynamo = await startDynalite();
  secretArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:jwt-AbCdEf`;
  const toPolicy = resolver({
    tables: Object.fromEntries(
      (Object.keys(dynamo.tables) as TableName[]).map((name) => [
        logicalId(backend.tables[name]),
        dynamo.tables[name],
      ]),
    ),
    secret: backend.jwtSecret ? logicalId(backend.jwtSecret) : '',
    api: logicalId(backend.webSocketApi),
  });
  for (const spec of SPECS) {
    const fn = backend.functions[spec.name];
    if (!fn) throw new Error(`no function ${spec.name} in the template`);
    policies[spec.name] = statementsOfFunction(synthesized.template, logicalId(fn)).map(toPolicy);
  }

  services = await startAwsServices({
    region: REGION,
    accountId: ACCOUNT,
    dynamodbEndpoint: dynamo.endpoint,
    functions: SPECS.map((spec) => ({
      id: spec.name,
      functionName: `backend-${spec.name}`,
      policy: policies[spec.name] ?? [],
    })),
    secrets: [{ name: 'jwt', secretString: SECRET, arn: secretArn }],
    onDecision: (decision) => decisions.push(decision),
  });

  // The management API as the local stack serves it: authorize the signer, then act.
  management = createServer((req, res) => {
    const connectionId = decodeURIComponent((req.url ?? '').split('/@connections/')[1] ?? '');
    const verdict = services.authorizeManagementRequest(req, { apiId: API_ID, stage: STAGE, connectionId });
    if (!verdict.allowed) {
      req.resume();
      sendDenial(res, verdict);
      return;
    }
    handleManagementRequest(req, res, pool, { stage: STAGE });
  });
  await new Promise<void>((resolve) => management.listen(0, '127.0.0.1', () => resolve()));
  callbackUrl = `http://127.0.0.1:${(management.address() as AddressInfo).port}/${STAGE}`;

  const config = loadConfig({
    CONNECTIONS_TABLE: dynamo.tables.connections,
    ASSESSMENTS_TABLE: dynamo.tables.assessments,
    TESTS_TABLE: dynamo.tables.tests,
    CALLBACK_URL: callbackUrl,
    JWT_SECRET: SECRET,
  });
  handlers = {};
  for (const spec of SPECS) {
    const credentials = services.identityFor(spec.name);
    const client = new DynamoDBClient({
      endpoint: services.endpoint,
      region: REGION,
      credentials,
      maxAttempts: 1,
    });
    const notifier = new ApiGatewayNotifier({
      callbackUrl,
      client: new ApiGatewayManagementApiClient({
        endpoint: callbackUrl,
        region: REGION,
        credentials,
        maxAttempts: 1,
      }),
    });
    // Only errors matter here; the other telemetry calls are accepted and dropped, whatever the
    // port grows to.
    const telemetry = new Proxy(
      {},
      {
        get: (_target, method) =>
          method === 'error'
            ? (message: string, error: unknown) => coreErrors.push({ fn: spec.name, message, error })
            : () => {},
      },
    ) as CoreDeps['telemetry'];
    const runtime = buildRuntime(config, {
      doc: createDocumentClient({ client }),
      overrides: { clock, notifier, telemetry },
    });
    handlers[spec.name] = routeHandlers(() => runtime);
  }
  await putTestDefinition(dynamo.doc, dynamo.tables.tests, QUIZ);
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => management?.close(() => resolve()));
  await services?.stop();
  await dynamo?.stop();
});

const run = (fn: string) => {
  const h = handlers[fn];
  if (!h) throw new Error(`no handlers for ${fn}`);
  return h;
};
let seq = 0;
const event = (connectionId: string, routeKey: string, body?: string) => ({
  requestContext: { connectionId, connectedAt: clock.now(), routeKey },
  ...(body === undefined ? {} : { body }),
});
async function connect(query: Record<string, string> = { test_id: QUIZ.test_id }): Promise<string> {
  const connectionId = `conn-${++seq}=`;
  const result = await run('connect').connect({
    ...event(connectionId, '$connect'),
    headers: { Host: 'localhost' },
    queryStringParameters: query,
  });
  expect(result).toMatchObject({ statusCode: 200 });
  pool.add(connectionId);
  return connectionId;
}
const token = (userId: string, claims: Record<string, unknown> = {}) => {
  const now = Math.floor(clock.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(SECRET));
};
const sent = new Map<string, number>();
/** Only the test that removes a grant expects refusals. */
let refusalsExpected = false;
/** The frames posted to a connection since the last call. */
function frames(connectionId: string): { type: string; error?: { code: string } }[] {
  // A refusal explains a missing frame better than the frame does.
  const refused = decisions.filter((d) => d.decision !== 'allow');
  if (!refusalsExpected && refused.length > 0) {
    throw new Error(
      `refused by IAM; add the action to the function's tables in lambdas/routes.ts:\n${refused
        .map((d) => `  ${d.functionId}: ${d.action} on ${d.resource}`)
        .join('\n')}`,
    );
  }
  const all = pool.framesFor(connectionId) as { type: string; error?: { code: string } }[];
  const fresh = all.slice(sent.get(connectionId) ?? 0);
  sent.set(connectionId, all.length);
  return fresh;
}
const types = (connectionId: string) => frames(connectionId).map((f) => f.type);
const auth = async (connectionId: string, userId: string, claims: Record<string, unknown> = {}) => {
  await run('auth').auth(
    event(connectionId, 'auth', JSON.stringify({ action: 'auth', token: await token(userId, claims) })),
  );
};
/** What API Gateway does with a two-way route's answer: sends its body to the caller. */
function deliver(connectionId: string, result: unknown): void {
  const message = routeResponseMessage(result);
  if (message !== undefined) pool.send(connectionId, Buffer.from(message));
}
const message = async (connectionId: string, fields: object) =>
  deliver(
    connectionId,
    await run('message').message(
      event(connectionId, 'message', JSON.stringify({ action: 'message', ...fields })),
    ),
  );
const unrouted = async (connectionId: string, body: string) =>
  deliver(connectionId, await run('default').unrouted(event(connectionId, '$default', body)));

test('every route and job runs a whole lifecycle with exactly its synthesized grants, and uses each grant', async () => {
  const start = decisions.length;

  const first = await connect();
  await auth(first, 'student-1');
  expect(types(first)).toContain('auth_success');
  await message(first, { type: 'start_assessment', request_id: 's1' });
  expect(types(first)).toContain('assessment_started');
  await message(first, {
    type: 'submit_answer',
    request_id: 'a1',
    data: { question_id: 'q1', selected_option: 'a' },
  });
  await message(first, { type: 'heartbeat' });
  expect(types(first)).toContain('pong');
  await message(first, { type: 'get_assessment_status', request_id: 'st1' });
  expect(types(first)).toEqual(['assessment_status']);
  // A proctor watches the test: the snapshot lists its students from the keys-by-test index, and
  // what the students do from here on is published to it.
  const proctor = await connect({});
  await auth(proctor, 'proctor-1', { role: 'proctor', proctor_tests: [QUIZ.test_id] });
  await message(proctor, { type: 'proctor_subscribe', data: { test_id: QUIZ.test_id } });
  expect(types(proctor)).toContain('proctor_snapshot');
  await unrouted(first, JSON.stringify({ action: 'nope' }));
  expect(frames(first).map((f) => f.error?.code)).toEqual(['unknown_action']);

  // The same student on a second device: the first connection is told, closed and forgotten.
  const second = await connect();
  await auth(second, 'student-1');
  expect(types(second)).toContain('auth_success');
  expect(types(first)).toContain('session_replaced');
  expect(pool.closed).toContain(first);

  // A connection that never authenticates is swept; an attempt past its deadline is finished,
  // and its holder, gone meanwhile (410), is forgotten.
  const idle = await connect({});
  clock.advance(31_000);
  await run('sweep').sweep({} as never);
  expect(pool.closed).toContain(idle);
  pool.remove(second);
  clock.advance(QUIZ.duration_seconds * 1000);
  await run('sweep').sweep({} as never);

  // Back after the deadline, before any sweep: auth finishes the attempt itself.
  const late = await connect();
  await auth(late, 'student-3');
  await message(late, { type: 'start_assessment', request_id: 's3' });
  expect(types(late)).toContain('assessment_started');
  clock.advance(QUIZ.duration_seconds * 1000 + 1000);
  const back = await connect();
  await auth(back, 'student-3');
  expect(types(back)).toEqual(expect.arrayContaining(['auth_success', 'assessment_completed']));

  // A later claim already holds the attempt (how a race between two auths of one key ends): the
  // holder bind is refused, and auth reads the attempt instead.
  const racer = await connect();
  await auth(racer, 'student-5');
  await message(racer, { type: 'start_assessment', request_id: 's5' });
  await dynamo.doc.send(
    new UpdateCommand({
      TableName: dynamo.tables.assessments,
      Key: { pk: connectionKey('student-5', QUIZ.test_id) },
      UpdateExpression: 'SET holderEpoch = :later',
      ExpressionAttributeValues: { ':later': Number.MAX_SAFE_INTEGER },
    }),
  );
  const loser = await connect();
  await auth(loser, 'student-5');
  expect(types(loser)).toContain('auth_success');

  // Posts to connections that are gone (410) clean up their records, on every route that posts
  // (message posts all but the last frame of a reply: assessment_started here; $default posts
  // nothing, its one frame is the route response).
  const quiet = await connect();
  await auth(quiet, 'student-4');
  pool.remove(quiet);
  await message(quiet, { type: 'start_assessment', request_id: 's4' });
  const gone = await connect({});
  pool.remove(gone);
  await unrouted(gone, 'not json');
  await run('disconnect').disconnect(event(back, '$disconnect'));

  const run_ = decisions.slice(start);
  // A call listed here needs its action in lambdas/routes.ts.
  const refused = run_.filter((d) => d.decision !== 'allow');
  expect(refused.map((d) => `${d.functionId}: ${d.action} on ${d.resource}`)).toEqual([]);
  expect(coreErrors.map((e) => `${e.fn}: ${e.message}: ${String(e.error)}`)).toEqual([]);

  // Least privilege both ways: each DynamoDB grant in the template was needed by some call.
  const unused: string[] = [];
  for (const spec of SPECS) {
    const used = run_.filter((d) => d.functionId === spec.name);
    for (const statement of policies[spec.name] ?? []) {
      for (const action of statement.actions ?? []) {
        if (!action.startsWith('dynamodb:')) continue;
        for (const resource of statement.resources ?? []) {
          const pattern = resourcePattern(resource);
          if (!used.some((d) => d.action === action && pattern.test(d.resource))) {
            unused.push(`${spec.name}: ${action} on ${resource}`);
          }
        }
      }
    }
  }
  // A grant listed here is never called: drop it from lambdas/routes.ts (or, if a path of the
  // code needs it, add that path to this lifecycle).
  expect(unused).toEqual([]);
});

test('without the PutItem grant on the assessments table, starting an attempt is refused by IAM', async () => {
  const full = policies.message ?? [];
  const assessmentsArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${dynamo.tables.assessments}`;
  const reduced = full.map((statement) =>
    statement.resources?.includes(assessmentsArn)
      ? {
          ...statement,
          ...(statement.actions && {
            actions: statement.actions.filter((action) => action !== 'dynamodb:PutItem'),
          }),
        }
      : statement,
  );
  expect(JSON.stringify(reduced)).not.toEqual(JSON.stringify(full));
  services.setPolicy('message', reduced);
  refusalsExpected = true;
  try {
    const connection = await connect();
    await auth(connection, 'student-2');
    expect(types(connection)).toContain('auth_success');
    await message(connection, { type: 'start_assessment', request_id: 's2' });
    expect(frames(connection).map((f) => f.error?.code)).toEqual(['internal_error']);
    const reported = coreErrors.splice(0);
    expect(reported).toHaveLength(1);
    const cause = (reported[0]?.error ?? {}) as { name?: string; message?: string };
    expect(cause.name).toBe('AccessDeniedException');
    expect(cause.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/backend-message-role/backend-message is not authorized to perform: ` +
        `dynamodb:PutItem on resource: ${assessmentsArn} because no identity-based policy allows the dynamodb:PutItem action`,
    );
  } finally {
    services.setPolicy('message', full);
    refusalsExpected = false;
    decisions.length = 0;
  }
});

test('grants routes.ts does not list are refused: no Scan for the sweep, no PutItem on tests, no secret for message', async () => {
  const client = (fn: string) =>
    new DynamoDBClient({
      endpoint: services.endpoint,
      region: REGION,
      credentials: services.identityFor(fn),
      maxAttempts: 1,
    });
  const scan = await client('sweep')
    .send(new ScanCommand({ TableName: dynamo.tables.connections }))
    .catch((error: Error) => error);
  expect(scan).toMatchObject({ name: 'AccessDeniedException' });
  const put = await client('message')
    .send(new PutItemCommand({ TableName: dynamo.tables.tests, Item: { testId: { S: 'x' } } }))
    .catch((error: Error) => error);
  expect(put).toMatchObject({ name: 'AccessDeniedException' });

  const secrets = (fn: string) =>
    new SecretsManagerClient({
      endpoint: services.endpoint,
      region: REGION,
      credentials: services.identityFor(fn),
      maxAttempts: 1,
    });
  const value = await secrets('auth').send(new GetSecretValueCommand({ SecretId: secretArn }));
  expect(value.SecretString).toBe(SECRET);
  const refused = await secrets('message')
    .send(new GetSecretValueCommand({ SecretId: secretArn }))
    .catch((error: Error) => error);
  expect(refused).toMatchObject({ name: 'AccessDeniedException' });
});
