// A workspace host chooses every answer, and its size is bounded (8 MiB), not its shape. JSON.parse takes about ten
// times longer on arrays nested millions deep than on a flat answer of the same size (1.5 s against 0.13 s here), on the
// operator's one thread: while it parses, no other tenant's object is reconciled, no probe is answered, no Lease renewed.
import { describe, expect, it } from 'vitest';
import { DatabricksClient } from '../../../src/databricks/client.js';
import { isDatabricksError } from '../../../src/databricks/errors.js';
import { RateBudgetRegistry } from '../../../src/databricks/rate-budget.js';
import { HttpTransport, type HttpRequest, type HttpResponse } from '../../../src/databricks/transport.js';

/** 8 MiB of arrays nested 4 million deep, the largest answer the transport reads. */
const DEEP = (() => {
  const depth = 4 * 1024 * 1024 - 64;
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
})();

class OneAnswer extends HttpTransport {
  constructor(private readonly answer: HttpResponse) {
    super();
  }
  override async send(_origin: string, _req: HttpRequest): Promise<HttpResponse> {
    return this.answer;
  }
}

const client = (answer: HttpResponse) =>
  new DatabricksClient({
    host: 'https://adb-1.azuredatabricks.net',
    auth: { type: 'pat', token: 'dapi0123456789abcdef0123456789abcdef' },
    transport: new OneAnswer(answer),
    budgets: new RateBudgetRegistry({ now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }),
    retryDeadlineMs: 1,
  });

async function failure(call: (c: DatabricksClient) => Promise<unknown>, answer: HttpResponse): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await call(client(answer)).then(
    () => new Error('the call succeeded'),
    (err: unknown) => err,
  );
  return { error, ms: performance.now() - started };
}

describe('an answer nested millions deep is refused before it is parsed', () => {
  it.each([
    ['a 2xx answer to getEndpoint', (c: DatabricksClient) => c.getEndpoint('ep1'), 200, 'InvalidResponse'],
    ['a 2xx answer to the endpoint list', (c: DatabricksClient) => c.listEndpoints(), 200, 'InvalidResponse'],
    ['a 400 answer (error body)', (c: DatabricksClient) => c.getEndpoint('ep1'), 400, 'InvalidRequest'],
  ])('%s takes the time of a flat answer, not ten times more', async (_, call, status, kind) => {
    const { error, ms } = await failure(call, { status, headers: {}, bodyText: `{"endpoints":${DEEP}}` });
    expect(isDatabricksError(error) && error.kind).toBe(kind);
    // Before: about 1,500 ms of one thread for each such answer (about 130 ms for a flat 8 MiB one).
    expect(ms).toBeLessThan(400);
  });
});

// Flat, but of millions of tiny objects: "{}" fits 2.8 million times in 8 MiB. Only the endpoint list bounded its
// elements; an endpoint's served entities (Databricks serves at most 15), its tags, an error's details were built and
// validated one by one: about 10 s of the operator's one thread for one getEndpoint answer, and the endpoint it
// answered held some 160 MiB of heap while its reconcile ran (Node gives the operator about 259 MiB under the chart's
// 512 MiB limit).
describe('an answer of millions of objects is refused before it is parsed', () => {
  const MANY = Array.from({ length: (8 * 1024 * 1024) / 3 - 64 }, () => '{}').join(',');
  const FIELDS = ['entity_name', 'entity_version', 'name', 'external_model', 'foundation_model', 'min_provisioned_throughput', 'max_provisioned_throughput', 'workload_size', 'workload_type', 'scale_to_zero_enabled', 'environment_vars', 'instance_profile_arn', 'creator', 'creation_timestamp', 'state', 'model_name', 'model_version', 'min_provisioned_concurrency', 'max_provisioned_concurrency'];
  const wrongTyped = `{${FIELDS.map((f) => `"${f}":true`).join(',')}}`;
  const WRONG_TYPED = Array.from({ length: Math.floor((8 * 1024 * 1024 - 200) / (wrongTyped.length + 1)) }, () => wrongTyped).join(',');
  it.each([
    ['served entities of getEndpoint', (c: DatabricksClient) => c.getEndpoint('ep1'), 200, `{"name":"ep1","state":{"ready":"READY"},"config":{"served_entities":[${MANY}]}}`, 'InvalidResponse'],
    ['tags of getEndpoint', (c: DatabricksClient) => c.getEndpoint('ep1'), 200, `{"name":"ep1","state":{"ready":"READY"},"tags":[${MANY}]}`, 'InvalidResponse'],
    ['details of an error body', (c: DatabricksClient) => c.getEndpoint('ep1'), 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"no","details":[${MANY}]}`, 'InvalidRequest'],
    // Fewer objects, but each of the fields Databricks names given a value of the wrong type: 19,000 entities under
    // the bound on objects, each 19 validation issues: 370,000 issues, about 3 s of the thread.
    ['served entities whose every field is of the wrong type', (c: DatabricksClient) => c.getEndpoint('ep1'), 200, `{"name":"ep1","state":{"ready":"READY"},"config":{"served_entities":[${WRONG_TYPED}]}}`, 'InvalidResponse'],
  ])('%s', async (_, call, status, bodyText, kind) => {
    const { error, ms } = await failure(call, { status, headers: {}, bodyText });
    expect(isDatabricksError(error) && error.kind).toBe(kind);
    expect(ms).toBeLessThan(1_000);
  });
});
