/** The core on in-memory twins: no network, no DynamoDB, milliseconds per test. */
import {
  FakeTokenVerifier,
  FixedWindowRateLimiter,
  InMemoryAssessmentStore,
  InMemoryConnectionRegistry,
  InMemoryTestCatalog,
  ManualClock,
  RecordingNotifier,
  SequentialIds,
  SilentTelemetry,
} from '../../lambdas/adapters/memory';
import { InMemoryProctorSubscriptions } from '../../lambdas/adapters/memory/proctor-subscriptions';
import { createCore } from '../../lambdas/core';
import type { CoreDeps } from '../../lambdas/core/deps';
import type { ServerFrame } from '../../protocol';
import { QUIZ } from './backend';

export interface TwinDeps extends CoreDeps {
  connections: InMemoryConnectionRegistry;
  assessments: InMemoryAssessmentStore;
  tests: InMemoryTestCatalog;
  notifier: RecordingNotifier;
  clock: ManualClock;
  subscriptions: InMemoryProctorSubscriptions;
}

export function twinCore(overrides: Partial<TwinDeps> = {}) {
  const clock = overrides.clock ?? new ManualClock();
  // One budget for every route, as on DynamoDB (where the count lives on the connection record).
  const rateLimiter = overrides.rateLimiter ?? new FixedWindowRateLimiter(50, 10_000);
  const deps: TwinDeps = {
    connections: new InMemoryConnectionRegistry(undefined, rateLimiter),
    assessments: new InMemoryAssessmentStore(),
    tests: new InMemoryTestCatalog([QUIZ]),
    notifier: new RecordingNotifier(),
    tokens: new FakeTokenVerifier(clock),
    rateLimiter,
    clock,
    ids: new SequentialIds(),
    telemetry: new SilentTelemetry(),
    subscriptions: new InMemoryProctorSubscriptions(),
    settings: { allowedOrigins: [], authDeadlineSeconds: 30 },
    ...overrides,
  };
  const core = createCore(deps);
  let seq = 0;
  const open = async (testId?: string) => {
    const id = `conn-${++seq}`;
    await core.connect({ connectionId: id, testId, origin: undefined, connectedAtMs: clock.now() });
    const send = async (frame: object): Promise<ServerFrame[]> => {
      const before = deps.notifier.framesFor(id).length;
      const body = JSON.stringify(frame);
      const action = (frame as { action?: string }).action;
      // Delivered as the deployed routes deliver: message and $default answer with their last frame.
      let answer: ServerFrame | undefined;
      if (action === 'auth') await core.auth(id, body);
      else if (action === 'message') answer = await core.message(id, body, 'return');
      else answer = await core.unrouted(id, body, 'return');
      const posted = deps.notifier.framesFor(id).slice(before);
      return answer ? [...posted, answer] : posted;
    };
    return { id, send };
  };
  return { core, deps, clock, open };
}
