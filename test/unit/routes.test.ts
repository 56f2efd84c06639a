/** The function list is what CDK grants from, so its access must cover what each route does. */
import { ROUTES, SCHEDULED_JOBS } from '../../lambdas/routes';

const functions = [...ROUTES, ...SCHEDULED_JOBS];

it('lists the five WebSocket routes once each', () => {
  expect(ROUTES.map((r) => r.routeKey).sort()).toEqual([
    '$connect',
    '$default',
    '$disconnect',
    'auth',
    'message',
  ]);
});

it.each(functions.filter((f) => f.manageConnections).map((f) => [f.name, f] as const))(
  '%s posts to @connections, so it can delete the records of a connection that answers 410',
  (_name, spec) => {
    expect(spec.tables.connections).toContain('DeleteItem');
  },
);

it('gives $connect no @connections rights and no secret', () => {
  const connect = ROUTES.find((r) => r.routeKey === '$connect');
  expect(connect).toMatchObject({
    manageConnections: false,
    readsJwtSecret: false,
    tables: { connections: ['PutItem'] },
  });
});

it('lets only auth read the JWT secret', () => {
  expect(functions.filter((f) => f.readsJwtSecret).map((f) => f.name)).toEqual(['auth']);
});
