import type {
  AiService,
  AssessmentStore,
  Clock,
  ConnectionNotifier,
  ConnectionRegistry,
  IdGenerator,
  ProctorSubscriptions,
  RateLimiter,
  Telemetry,
  TestCatalog,
  TokenVerifier,
} from './ports';

/** Everything the core needs, built once by the composition root (or by a test). */
export interface CoreDeps {
  connections: ConnectionRegistry;
  assessments: AssessmentStore;
  tests: TestCatalog;
  notifier: ConnectionNotifier;
  tokens: TokenVerifier;
  rateLimiter: RateLimiter;
  clock: Clock;
  ids: IdGenerator;
  telemetry: Telemetry;
  /** The AI service that keeps a thread per attempt; absent when none is configured. */
  ai?: AiService;
  /** Which connections watch which tests (the proctor view). */
  subscriptions: ProctorSubscriptions;
  settings: CoreSettings;
}

export interface CoreSettings {
  /** Empty: any Origin is allowed. Requests without Origin (non-browser clients) always are. */
  allowedOrigins: readonly string[];
  authDeadlineSeconds: number;
}
