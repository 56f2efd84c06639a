/** Shared by the route handlers: build the runtime once, and flush metrics after each call. */
import { type Runtime, runtimeFromEnvironment } from '../composition';

export async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = runtimeFromEnvironment();
  try {
    return await work(runtime);
  } finally {
    runtime.telemetry.flush();
  }
}

export const OK = { statusCode: 200 } as const;
