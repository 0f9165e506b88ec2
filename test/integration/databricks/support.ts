// Shared by the client's integration tests: a client with an isolated rate budget and quick
// backoff, and a helper that expects a classified DatabricksError.
import { expect } from 'vitest';
import { DatabricksClient, type DatabricksClientOptions } from '../../../src/databricks/client.js';
import { systemClock } from '../../../src/databricks/clock.js';
import { DatabricksError } from '../../../src/databricks/errors.js';
import { RateBudgetRegistry } from '../../../src/databricks/rate-budget.js';
import type { HttpTransport } from '../../../src/databricks/transport.js';

export const PAT = 'dapi0123456789abcdef0123456789abcdef';

/** A PAT client for `host` whose budget no other test shares. */
export function testClient(host: string, transport: HttpTransport, options: Partial<DatabricksClientOptions> = {}): DatabricksClient {
  return new DatabricksClient({
    host,
    auth: { type: 'pat', token: PAT },
    transport,
    budgets: new RateBudgetRegistry(systemClock),
    backoff: { initialDelayMs: 20, maxDelayMs: 200, multiplier: 2 },
    retryDeadlineMs: 10_000,
    ...options,
  });
}

/** The DatabricksError `promise` rejects with (fails the test if it resolves or throws anything else). */
export async function failure(promise: Promise<unknown>): Promise<DatabricksError> {
  const result = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(result).toBeInstanceOf(DatabricksError);
  return result as DatabricksError;
}
