// Drift and pause, driven with kubectl: an out-of-band edit in Databricks is put back with a
// Warning Event; the paused annotation stops every Databricks call until it is removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { eventually, kubectl } from '../support/cluster.js';
import { type E2E, condition, editOutOfBand, endpointManifest, isReady, startE2E } from './harness.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-drift', speed: 480 });
});

afterAll(async () => {
  await e2e?.stop();
});

interface Served {
  modelVersion?: string;
  minTokensPerSecond?: number;
  maxTokensPerSecond?: number;
}

const served = (obj: Record<string, unknown>) => (obj['status'] as { served?: Served } | undefined)?.served;

/** Someone changes the served entity in the Databricks UI: no API call is logged. */
const editEntityOutOfBand = (name: string, entity: Record<string, unknown>) => editOutOfBand(e2e.emulator.url, name, { entities: [entity], mode: 'instant' });

/** Every API call the emulator logged (reads too), by sequence number. */
async function allCalls(): Promise<{ seq: number; method: string; path: string }[]> {
  const body = (await (await fetch(new URL('/__emulator/calls', e2e.emulator.url))).json()) as { calls: { seq: number; method: string; path: string }[] };
  return body.calls;
}

async function emulatorServed(name: string): Promise<{ entity_version?: string; max_provisioned_throughput?: number }> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as {
    endpoints: { name: string; config?: { served_entities?: { entity_version?: string; max_provisioned_throughput?: number }[] } }[];
  };
  return state.endpoints.find((e) => e.name === name)?.config?.served_entities?.[0] ?? {};
}

/** The object under test: the seed's llama example with a user tag. */
const drifty = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}, name = 'drifty') =>
  endpointManifest(name, { tags: { team: 'genai' }, ...spec }, metadata);

async function emulatorTags(name: string): Promise<Record<string, string | undefined>> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: { name: string; tags?: { key: string; value?: string }[] }[] };
  return Object.fromEntries((state.endpoints.find((e) => e.name === name)?.tags ?? []).map((t) => [t.key, t.value]));
}

const updates = async (name: string) => (await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig');

describe('drift', () => {
  it('an out-of-band throughput change is corrected with a config update and a DriftDetected Warning', async () => {
    await e2e.apply(drifty());
    await e2e.kubectl(['wait', 'pte/drifty', '--for=condition=Ready', '--timeout=90s']);
    const before = (await updates('drifty')).length;

    await editEntityOutOfBand('drifty', { max_provisioned_throughput: 4900 });
    expect((await emulatorServed('drifty')).max_provisioned_throughput).toBe(4900);

    // The poll interval is 3 s: the operator notices, rolls the spec back out, and is Ready on it again.
    await e2e.waitUntil('pte', 'drifty', (o) => condition(o, 'Ready')?.reason === 'Updating', 30_000);
    const corrected = await e2e.waitUntil('pte', 'drifty', (o) => isReady(o) && served(o)?.maxTokensPerSecond === 2940, 60_000);
    expect(served(corrected)).toMatchObject({ modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 });
    expect((await emulatorServed('drifty')).max_provisioned_throughput).toBe(2940);
    expect((await updates('drifty')).length - before).toBe(1);

    const described = await e2e.kubectl(['describe', 'pte', 'drifty']);
    expect(described).toMatch(/Warning\s+DriftDetected\s+.*differs from the spec/);
  });

  it('an out-of-band version change is corrected too', async () => {
    const before = (await updates('drifty')).length;
    await editEntityOutOfBand('drifty', { entity_version: '2' });

    const during = await e2e.waitUntil('pte', 'drifty', (o) => condition(o, 'Ready')?.reason === 'Updating', 30_000);
    expect(served(during)?.modelVersion).toBe('2');
    expect((during['status'] as { pending?: Served }).pending?.modelVersion).toBe('3');
    await e2e.waitUntil('pte', 'drifty', (o) => isReady(o) && served(o)?.modelVersion === '3', 60_000);
    expect((await emulatorServed('drifty')).entity_version).toBe('3');
    expect((await updates('drifty')).length - before).toBe(1);
  });

  it('a user tag removed out of band is put back with a tag patch, not a config update', async () => {
    const before = await e2e.mutations('drifty');
    const response = await fetch(new URL('/__emulator/endpoints/drifty/edit', e2e.emulator.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tags: { delete: ['team'] } }),
    });
    expect(response.status).toBe(200);
    expect((await emulatorTags('drifty'))['team']).toBeUndefined();

    await eventually(
      async () => {
        if ((await emulatorTags('drifty'))['team'] !== 'genai') throw new Error('the tag is not back yet');
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const since = (await e2e.mutations('drifty')).slice(before.length).map((c) => c.operation);
    expect(since).toEqual(['patchTags']);
    const obj = await e2e.get('pte', 'drifty');
    expect(obj && isReady(obj)).toBe(true);
  });
});

describe('paused', () => {
  // The paused object: drifty, as the drift tests left it; a retry pauses one of its own, Ready on the first spec (the
  // failed attempt left drifty paused on a spec never rolled out, so its Ready no longer says True). Resuming takes
  // the one the pause test last used.
  let pausedName = 'drifty';

  it('ptoperator.io/paused=true: Synced=False ReconcilePaused, and no Databricks call at all, even after a spec change and a drift', async (context) => {
    const name = attemptName(context, 'drifty');
    pausedName = name;
    await e2e.apply(drifty({}, {}, name));
    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=90s']);
    await e2e.kubectl(['annotate', 'pte', name, 'ptoperator.io/paused=true']);
    const paused = await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'ReconcilePaused');
    expect(condition(paused, 'Synced')?.status).toBe('False');
    expect(condition(paused, 'Synced')?.message).toContain('ptoperator.io/paused');
    // Ready keeps what was last known.
    expect(condition(paused, 'Ready')?.status).toBe('True');
    const lastSeq = Math.max(0, ...(await allCalls()).map((c) => c.seq));

    await e2e.apply(
      drifty({ model: { name: MODEL, version: '2' }, throughput: { chunks: { min: 1, max: 4 } } }, { annotations: { 'ptoperator.io/paused': 'true' } }, name),
    );
    await editEntityOutOfBand(name, { max_provisioned_throughput: 4900 });
    // Evidence instead of a pause (which a slow machine may fill with nothing): two more reconciles of it.
    await e2e.reconciledAgain(name);

    expect((await allCalls()).filter((c) => c.seq > lastSeq)).toEqual([]);
    // The Ready it shows is of the older generation, so kubectl wait does not take it for the new spec.
    const wait = await kubectl(['--namespace', e2e.namespace, 'wait', `pte/${name}`, '--for=condition=Ready', '--timeout=2s']);
    expect(wait.exitCode).not.toBe(0);
    expect(wait.stderr).toMatch(/timed out/);
    expect((await emulatorServed(name)).max_provisioned_throughput).toBe(4900);
    const still = await e2e.get('pte', name);
    expect(condition(still, 'Synced')?.reason).toBe('ReconcilePaused');
  });

  it('removing the annotation resumes: the new spec is rolled out over the drift and the endpoint converges', async () => {
    await e2e.kubectl(['annotate', 'pte', pausedName, 'ptoperator.io/paused-']);
    const done = await e2e.waitUntil(
      'pte',
      pausedName,
      (o) => isReady(o) && served(o)?.modelVersion === '2' && served(o)?.maxTokensPerSecond === 3920,
      60_000,
    );
    expect(served(done)).toMatchObject({ modelVersion: '2', minTokensPerSecond: 980, maxTokensPerSecond: 3920 });
    expect(condition(done, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(await emulatorServed(pausedName)).toMatchObject({ entity_version: '2', max_provisioned_throughput: 3920 });
  });
});
