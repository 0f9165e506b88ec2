// A create whose outcome is unknown (the operator died while it was in flight, or gave up waiting for its answer)
// and a deletion of the object meanwhile: Databricks carries the create out late, and the endpoint must not outlive
// the object (docs/concepts.md: "never created twice and never leaked"). Driven with kubectl; the emulator holds
// the create's answer (a latency fault) and acts on it after the delay, whoever is left to hear it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { eventually } from '../support/cluster.js';
import { addFaults, databricksRequest, type E2E, emulatorCalls, endpointManifest, isReady, type OperatorProcess, startE2E, watchKubectl } from './harness.js';

const ENDPOINT_FINALIZER = 'serving.ptoperator.io/endpoint';
/** --databricks-timeout, short so the test is: the create's answer is held longer than it. */
const CALL_TIMEOUT_S = 4;

let e2e: E2E & { startOperator(): OperatorProcess };

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-unconfirmed', operatorArgs: [`--databricks-timeout=${CALL_TIMEOUT_S}s`] });
});

afterAll(async () => {
  await e2e?.stop();
});


const calls = (endpoint: string) => emulatorCalls(e2e.emulator.url, { endpoint });
const creates = async (endpoint: string) => (await calls(endpoint)).filter((c) => c.operation === 'create');
const inDatabricks = async (): Promise<string[]> =>
  ((await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: { name: string }[] }).endpoints.map((e) => e.name);

/** The create held by the latency fault has been carried out (the call log records it once answered). */
async function heldCreateLanded(endpoint: string): Promise<void> {
  await eventually(
    async () => {
      if (!(await creates(endpoint)).some((c) => c.fault === 'latency')) throw new Error(`the held create of ${endpoint} has not landed yet`);
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

async function gone(name: string): Promise<void> {
  await eventually(
    async () => {
      const obj = await e2e.get('pte', name);
      if (obj) throw new Error(`pte/${name} still exists: ${JSON.stringify(obj['status'])}`);
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

describe('a deletion while a create is unconfirmed', () => {
  it('SIGKILL with the create in flight, the object deleted, a restart: the late create is deleted before the object goes', async (context) => {
    // An endpoint of this attempt's own: a retry would find the first attempt's create (and its fault) in the call log.
    const name = attemptName(context, 'orph1');
    const [faultId] = await addFaults(e2e.emulator.url, { type: 'latency', ms: 8_000, times: 1, match: { method: 'POST', path: '/api/2.0/serving-endpoints', endpoint: name } });
    await e2e.apply(endpointManifest(name));
    await eventually(
      async () => {
        const { faults } = (await (await fetch(new URL('/__emulator/faults', e2e.emulator.url))).json()) as { faults: { id: string; fired: number }[] };
        if (faults.find((f) => f.id === faultId)?.fired !== 1) throw new Error('the create has not been sent yet');
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    const atKill = await e2e.get<{ metadata: { finalizers?: string[] } }>('pte', name);
    expect(atKill?.metadata.finalizers).toContain(ENDPOINT_FINALIZER);
    await e2e.operator.stop('SIGKILL');
    await e2e.kubectl(['delete', 'pte', name, '--wait=false']);
    e2e.startOperator();

    await gone(name);
    await heldCreateLanded(name);
    expect(await inDatabricks()).not.toContain(name);
    expect((await creates(name)).map((c) => c.status)).toEqual([200]);
  });

  it('an endpoint deleted out of band is created again; SIGKILL with that create in flight, the object deleted, a restart: the late create is deleted before the object goes', async (context) => {
    // status.endpointId still names the first endpoint: the restarted operator must not take it as proof that no
    // create of its predecessor may still land.
    const name = attemptName(context, 'recr3');
    await e2e.apply(endpointManifest(name));
    await e2e.waitUntil('pte', name, isReady, 60_000);
    const [faultId] = await addFaults(e2e.emulator.url, { type: 'latency', ms: 8_000, times: 1, match: { method: 'POST', path: '/api/2.0/serving-endpoints', endpoint: name } });
    await databricksRequest(e2e.emulator.url, 'DELETE', `/api/2.0/serving-endpoints/${name}`);
    await e2e.kubectl(['annotate', 'pte', name, `ptoperator.io/requested-at=${Date.now()}`]);
    await eventually(
      async () => {
        const { faults } = (await (await fetch(new URL('/__emulator/faults', e2e.emulator.url))).json()) as { faults: { id: string; fired: number }[] };
        if (faults.find((f) => f.id === faultId)?.fired !== 1) throw new Error('the second create has not been sent yet');
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    await e2e.operator.stop('SIGKILL');
    const atKill = await e2e.get<{ status?: { endpointId?: string } }>('pte', name);
    expect(atKill?.status?.endpointId).toBeDefined();
    await e2e.kubectl(['delete', 'pte', name, '--wait=false']);
    e2e.startOperator();

    await gone(name);
    await heldCreateLanded(name);
    expect(await inDatabricks()).not.toContain(name);
    expect((await creates(name)).map((c) => c.status)).toEqual([200, 200]);
  });

  it('a create that outlives --databricks-timeout, the object deleted meanwhile: never sent twice, the endpoint deleted', async (context) => {
    // An endpoint of this attempt's own: a retry would find the first attempt's create in the call log and its
    // "create outcome unknown" in the operator's log.
    const name = attemptName(context, 'race2');
    await addFaults(e2e.emulator.url, { type: 'latency', ms: 10_000, times: 1, match: { method: 'POST', path: '/api/2.0/serving-endpoints', endpoint: name } });
    await e2e.apply(endpointManifest(name));
    const readyMessages = watchKubectl(e2e.namespace, ['get', 'pte', name, '--watch', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}{"\\n"}']);
    // The client gave up waiting for the create's answer (its log says so), and the object is deleted then.
    await eventually(
      async () => {
        const timedOut = e2e.operator.logs().split('\n').some((line) => line.includes('create outcome unknown') && line.includes(`"endpoint":"${name}"`));
        if (!timedOut) throw new Error('the create has not timed out yet');
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await e2e.kubectl(['delete', 'pte', name, '--wait=false']);

    await gone(name);
    await heldCreateLanded(name);
    expect(await inDatabricks()).not.toContain(name);
    const race2 = await calls(name);
    expect(race2.filter((c) => c.operation === 'create').map((c) => c.status)).toEqual([200]);
    expect(race2.filter((c) => c.operation === 'delete').map((c) => c.status)).toEqual([200]);
    // While it waited for the create's outcome, the object said so.
    expect(await readyMessages.stop()).toMatch(new RegExp(`Deleting: .*create of endpoint ${name}`));
  });
});
