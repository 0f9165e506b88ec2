// Tenant boundaries (issue 11 findings 1-5, docs/security.md), driven with kubectl against one operator
// that watches three namespaces: A (this file's namespace) and B may use the default workspace, C may not.
// An attacker-controlled host is a second emulator whose call log must stay empty.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { applyOk, ensureNamespace, eventually, kubectlOk, uniqueNamespace } from '../support/cluster.js';
import { condition, emulatorCalls, endpointManifest, isReady, startE2E, TEST_PAT } from './harness.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
const served = { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] };

let e2e: Awaited<ReturnType<typeof startE2E>>;
let attacker: RunningEmulator;
let nsB: string;
let nsC: string;
let tokenDir: string;

/** An unsigned JWT shaped like a projected service-account token. */
function serviceAccountJwt(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { iss: 'https://kubernetes.default.svc', sub: 'system:serviceaccount:pt-operator-system:pt-operator', aud: ['databricks'], exp: Math.floor(Date.now() / 1000) + 3600 };
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature').toString('base64url')}`;
}

// Each test, and a retry of it, starts from namespaces, emulators and an operator of its own: vitest re-runs only the
// body, and a retry would find the Secrets its failed attempt created (kubectl create: AlreadyExists), the endpoints it
// adopted, claimed or re-tagged, and their calls in the log.
beforeEach(async () => {
  nsB = uniqueNamespace('e2e-ten-b');
  nsC = uniqueNamespace('e2e-ten-c');
  await Promise.all([ensureNamespace(nsB), ensureNamespace(nsC)]);
  tokenDir = await mkdtemp(join(tmpdir(), 'pt-tenancy-'));
  await writeFile(join(tokenDir, 'token'), `${serviceAccountJwt()}\n`);
  attacker = await startEmulator({ scenario: {}, speed: 120 });
  e2e = await startE2E({
    prefix: 'e2e-ten',
    speed: 480,
    startOperator: false,
    scenario: {
      endpoints: [
        // Made outside the operator, with tags its team and a Databricks policy rely on.
        { name: 'tagged-llama', config: served, tags: [{ key: 'owner', value: 'alice' }, { key: 'cost-center', value: '42' }] },
        // Made by an object of a namespace that is gone.
        { name: 'left-behind', config: served, tags: [{ key: 'pt-operator-owner-uid', value: '3b0c1d5e-0000-4000-8000-000000000000' }, { key: 'pt-operator-owner', value: 'team-gone.llama' }] },
      ],
    },
  });
  e2e.startOperator([`--namespaces=${e2e.namespace},${nsB},${nsC}`, `--default-workspace-namespaces=${e2e.namespace},${nsB}`, `--federation-token-file=${join(tokenDir, 'token')}`]);
});

afterEach(async () => {
  await e2e?.stop();
  await attacker?.close();
  if (tokenDir) await rm(tokenDir, { recursive: true, force: true });
});


const calls = (emulatorUrl: string, endpoint?: string) => emulatorCalls(emulatorUrl, endpoint === undefined ? {} : { endpoint });

async function endpointTags(name: string): Promise<Record<string, string | undefined>> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: { name: string; tags?: { key: string; value?: string }[] }[] };
  return Object.fromEntries((state.endpoints.find((e) => e.name === name)?.tags ?? []).map((t) => [t.key, t.value]));
}

/** Waits until the operator has read `endpoint` `reads` more times: evidence that it looked again. */
async function operatorLooksAgain(endpoint: string, reads = 2): Promise<void> {
  const seen = (await calls(e2e.emulator.url, endpoint)).filter((c) => c.operation === 'get').length;
  await eventually(
    async () => {
      const now = (await calls(e2e.emulator.url, endpoint)).filter((c) => c.operation === 'get').length;
      if (now < seen + reads) throw new Error(`the operator read ${endpoint} ${now - seen} more time(s), waiting for ${reads}`);
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

const inNamespace = (namespace: string) => ({
  apply: (manifest: object | object[]) => applyOk(manifest, { namespace }),
  get: async (kind: string, name: string) => JSON.parse(await kubectlOk(['-n', namespace, 'get', kind, name, '-o', 'json'])) as Record<string, unknown>,
  waitUntil: (kind: string, name: string, check: (o: Record<string, unknown>) => boolean) =>
    eventually(
      async () => {
        const obj = JSON.parse(await kubectlOk(['-n', namespace, 'get', kind, name, '-o', 'json'])) as Record<string, unknown>;
        if (!check(obj)) throw new Error(`${namespace}/${kind}/${name} not there yet:\n${JSON.stringify(obj['status'], null, 1)}`);
        return obj;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ),
});

const synced = (o: Record<string, unknown>) => condition(o, 'Synced');
const hasSynced = (o: Record<string, unknown>) => synced(o) !== undefined;

describe('finding 1: adoption never crosses a live owner or, by default, a namespace', () => {
  it("an object in namespace B with adopt=true cannot take over namespace A's live endpoint, and sends nothing", async () => {
    await e2e.apply(endpointManifest('owned-a', { endpointName: 'tenant-a-llama' }));
    await e2e.kubectl(['wait', 'pte/owned-a', '--for=condition=Ready', '--timeout=90s']);
    const before = await e2e.mutations('tenant-a-llama');

    const b = inNamespace(nsB);
    await b.apply(endpointManifest('thief', { endpointName: 'tenant-a-llama', deletionPolicy: 'Delete' }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    const thief = await b.waitUntil('pte', 'thief', hasSynced);
    expect(synced(thief)).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(synced(thief)?.message).toContain(`belongs to ${e2e.namespace}.owned-a, which still exists`);

    // Same namespace, adopt set too: a live owner is never displaced.
    await e2e.apply(endpointManifest('sibling', { endpointName: 'tenant-a-llama' }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    const sibling = await e2e.waitUntil('pte', 'sibling', hasSynced);
    expect(synced(sibling)).toMatchObject({ status: 'False', reason: 'NotOwned' });

    await operatorLooksAgain('tenant-a-llama');
    expect(await e2e.mutations('tenant-a-llama')).toEqual(before);
    const tags = await endpointTags('tenant-a-llama');
    expect(tags['pt-operator-owner']).toBe(`${e2e.namespace}.owned-a`);

    // Deleting the would-be thief (deletionPolicy Delete) leaves A's endpoint running.
    await kubectlOk(['-n', nsB, 'delete', 'pte', 'thief', '--timeout=30s']);
    expect(await e2e.mutations('tenant-a-llama')).toEqual(before);
    const owner = await e2e.get('pte', 'owned-a');
    expect(owner && isReady(owner)).toBe(true);
  });

  it('an endpoint left behind by a deleted object of another namespace is not adopted unless the operator allows it', async () => {
    const b = inNamespace(nsB);
    await b.apply(endpointManifest('left-behind', {}, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    const obj = await b.waitUntil('pte', 'left-behind', hasSynced);
    expect(synced(obj)).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(synced(obj)?.message).toContain('--allow-cross-namespace-adoption');
    expect(await e2e.mutations('left-behind')).toEqual([]);
  });
});

describe('finding 2: the operator changes and deletes only the tags it manages', () => {
  it("adoption keeps the endpoint's own tags; a tag added later is left alone; a key removed from the spec is removed", async () => {
    await e2e.apply(endpointManifest('tagged-llama', { tags: { team: 'genai' } }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    await e2e.kubectl(['wait', 'pte/tagged-llama', '--for=condition=Ready', '--timeout=90s']);
    await operatorLooksAgain('tagged-llama', 1);
    expect(await endpointTags('tagged-llama')).toMatchObject({ owner: 'alice', 'cost-center': '42', team: 'genai' });

    // A Databricks tag policy (here: a user with the API) adds a tag that is not in the spec.
    const patched = await fetch(new URL('/api/2.0/serving-endpoints/tagged-llama/tags', e2e.emulator.url), {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TEST_PAT}`, 'content-type': 'application/json' },
      body: JSON.stringify({ add_tags: [{ key: 'policy', value: 'enforced' }] }),
    });
    expect(patched.status).toBe(200);
    const patchesBefore = (await e2e.mutations('tagged-llama')).filter((c) => c.operation === 'patchTags').length;
    await operatorLooksAgain('tagged-llama');
    expect(await endpointTags('tagged-llama')).toMatchObject({ policy: 'enforced', owner: 'alice' });
    // The user's own PATCH is the only one since: the operator spent nothing on it.
    expect((await e2e.mutations('tagged-llama')).filter((c) => c.operation === 'patchTags').length).toBe(patchesBefore);

    // A key removed from the spec is removed from the endpoint; the others stay.
    await e2e.kubectl(['patch', 'pte', 'tagged-llama', '--type=merge', '-p', JSON.stringify({ spec: { tags: { team: null, env: 'prod' } } })]);
    await eventually(
      async () => {
        const tags = await endpointTags('tagged-llama');
        if ('team' in tags || tags['env'] !== 'prod') throw new Error(`tags not updated yet: ${JSON.stringify(tags)}`);
      },
      { timeoutMs: 30_000 },
    );
    expect(await endpointTags('tagged-llama')).toMatchObject({ owner: 'alice', 'cost-center': '42', policy: 'enforced', env: 'prod' });
  });
});

describe('finding 3: racing claims have one deterministic winner and the loser sends nothing', () => {
  it('five pairs applied in one kubectl apply: the older object (UID breaks ties) wins; no create is refused', async () => {
    const pairs = [1, 2, 3, 4, 5].map((i) => [`race${i}-a`, `race${i}-b`] as const);
    await e2e.apply(pairs.flatMap(([a, b], i) => [endpointManifest(a, { endpointName: `raced${i + 1}` }), endpointManifest(b, { endpointName: `raced${i + 1}` })]));
    for (const [i, pair] of pairs.entries()) {
      const endpoint = `raced${i + 1}`;
      const [first, second] = await eventually<Record<string, unknown>[]>(
        async () => {
          const objects = await Promise.all(pair.map((name) => e2e.get('pte', name)));
          const settled = objects.filter((o): o is Record<string, unknown> => o !== undefined && (isReady(o) || synced(o)?.reason === 'NotOwned'));
          if (settled.length !== 2) throw new Error(`${endpoint}: not settled`);
          return settled;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      const meta = (o: Record<string, unknown>) => o['metadata'] as { name: string; uid: string; creationTimestamp: string };
      const [expectedWinner, expectedLoser] = ([first, second] as Record<string, unknown>[]).sort(
        (x, y) => meta(x).creationTimestamp.localeCompare(meta(y).creationTimestamp) || (meta(x).uid < meta(y).uid ? -1 : 1),
      ) as [Record<string, unknown>, Record<string, unknown>];
      expect(isReady(expectedWinner), `${endpoint}: ${meta(expectedWinner).name} is older and must win`).toBe(true);
      expect(synced(expectedLoser)?.reason).toBe('NotOwned');
      expect((await endpointTags(endpoint))['pt-operator-owner-uid']).toBe(meta(expectedWinner).uid);
      const creates = (await e2e.mutations(endpoint)).filter((c) => c.operation === 'create');
      expect(creates.map((c) => c.status), `${endpoint}: the loser must not send a create`).toEqual([200]);
    }
  });

  it('the claim is per Databricks workspace: an object of namespace B on the same host loses to the older (paused) object of A and sends nothing', async () => {
    // A claims the name first but is paused, so it has not created the endpoint when B arrives.
    await e2e.apply(endpointManifest('host-claim-a', { endpointName: 'same-host-llama' }, { annotations: { 'ptoperator.io/paused': 'true' } }));
    const b = inNamespace(nsB);
    await kubectlOk(['-n', nsB, 'create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${TEST_PAT}`]);
    await b.apply({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { name: 'same-host' },
      // The default workspace's host, spelt with a trailing slash.
      spec: { host: `${e2e.emulator.url}/`, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
    });
    await b.waitUntil('dbws', 'same-host', (o) => condition(o, 'Ready')?.status === 'True');
    // B must be younger than A: created in a later second (within one second the UID would decide).
    const aCreated = Date.parse(((await e2e.get('pte', 'host-claim-a')) as { metadata: { creationTimestamp: string } }).metadata.creationTimestamp);
    await eventually(async () => {
      if (Date.now() < aCreated + 1_000) throw new Error('still within the creation second of host-claim-a');
    });
    await b.apply(endpointManifest('host-claim-b', { endpointName: 'same-host-llama', workspaceRef: { name: 'same-host' } }));
    const loser = await b.waitUntil('pte', 'host-claim-b', hasSynced);
    expect(synced(loser)).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(synced(loser)?.message).toContain('claimed in this workspace by an object of another namespace');
    // another tenant's objects are not named to this one (docs/security.md)
    expect(synced(loser)?.message).not.toMatch(new RegExp(`${e2e.namespace}|host-claim-a`));
    expect(await e2e.mutations('same-host-llama')).toEqual([]);

    // Once A resumes, it creates the endpoint; B still sends nothing.
    await e2e.kubectl(['annotate', 'pte', 'host-claim-a', 'ptoperator.io/paused-']);
    await e2e.kubectl(['wait', 'pte/host-claim-a', '--for=condition=Ready', '--timeout=90s']);
    const creates = (await e2e.mutations('same-host-llama')).filter((c) => c.operation === 'create');
    expect(creates.map((c) => c.status)).toEqual([200]);
    const a = await e2e.get<{ metadata: { uid: string } }>('pte', 'host-claim-a');
    expect((await endpointTags('same-host-llama'))['pt-operator-owner-uid']).toBe(a?.metadata.uid);
  });

  it("an older object whose workspace's credentials were refused claims nothing: another tenant's younger object creates the endpoint", async () => {
    // Namespace C, not allowed the default workspace, points a workspace at its host with a token that is refused.
    const c = inNamespace(nsC);
    await kubectlOk(['-n', nsC, 'create', 'secret', 'generic', 'squat-pat', '--from-literal=token=not-a-valid-token-at-all']);
    await c.apply([
      {
        apiVersion: 'serving.ptoperator.io/v1alpha1',
        kind: 'DatabricksWorkspace',
        metadata: { name: 'squat' },
        spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'squat-pat', key: 'token' } } } },
      },
      endpointManifest('squatter', { endpointName: 'squatted-llm', workspaceRef: { name: 'squat' } }),
    ]);
    await c.waitUntil('dbws', 'squat', (o) => condition(o, 'Ready')?.reason === 'AuthenticationFailed');
    const squatterCreated = Date.parse(((await c.get('pte', 'squatter')) as { metadata: { creationTimestamp: string } }).metadata.creationTimestamp);
    await eventually(async () => {
      if (Date.now() < squatterCreated + 1_000) throw new Error('still within the creation second of the squatter');
    });

    await e2e.apply(endpointManifest('squatted-llm'));
    const owner = await e2e.waitUntil('pte', 'squatted-llm', (o) => isReady(o) || synced(o)?.reason === 'NotOwned', 90_000);
    expect(synced(owner), 'the refused workspace\'s object must not hold the name').toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect((await e2e.mutations('squatted-llm')).filter((m) => m.operation === 'create').map((m) => m.status)).toEqual([200]);
    expect((await endpointTags('squatted-llm'))['pt-operator-owner-uid']).toBe((owner['metadata'] as { uid: string }).uid);
  });
});

describe('finding 4: the default workspace serves only the namespaces the operator allows', () => {
  it('an endpoint without workspaceRef in namespace C gets DefaultWorkspaceNotAllowed and causes no Databricks call', async () => {
    // A witness in namespace A, which the operator goes on reading while it refuses C's endpoint.
    await e2e.apply(endpointManifest('witness'));
    await e2e.kubectl(['wait', 'pte/witness', '--for=condition=Ready', '--timeout=90s']);
    const c = inNamespace(nsC);
    await c.apply(endpointManifest('freeloader', { model: { name: 'main.tenant_c.secret_model', version: '1' } }));
    const obj = await c.waitUntil('pte', 'freeloader', hasSynced);
    expect(synced(obj)).toMatchObject({ status: 'False', reason: 'DefaultWorkspaceNotAllowed' });
    expect(synced(obj)?.message).toContain('spec.workspaceRef');
    expect(synced(obj)?.message).toContain('--default-workspace-namespaces');
    // Evidence that the operator is running and reading other endpoints meanwhile.
    await operatorLooksAgain('witness', 1);
    const touched = (await calls(e2e.emulator.url)).filter((call) => call.path.includes('freeloader') || call.path.includes('tenant_c'));
    expect(touched).toEqual([]);
    expect(((obj['metadata'] as { finalizers?: string[] }).finalizers ?? [])).toEqual([]);
  });
});

describe("finding 5: the operator's service-account token goes only to trusted hosts", () => {
  const federated = (name: string, host: string) => ({
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { name },
    spec: { host, auth: { tokenFederation: {} } },
  });

  it("a tenant's workspace asking for federation to its own host gets FederationHostNotTrusted; the host never sees a call", async () => {
    const b = inNamespace(nsB);
    await b.apply(federated('stolen', attacker.url));
    const ws = await b.waitUntil('dbws', 'stolen', (o) => condition(o, 'Ready') !== undefined);
    expect(condition(ws, 'Ready')).toMatchObject({ status: 'False', reason: 'FederationHostNotTrusted' });
    expect(condition(ws, 'Ready')?.message).toContain('--federation-trusted-hosts');
    expect(await calls(attacker.url)).toEqual([]);
  });

  // Federation at the default host acts as the operator there, which is what the default workspace is (session 11:
  // a namespace the admin did not allow the default workspace got it this way).
  it("federation to the default workspace host from a namespace not allowed the default workspace: refused, no token exchange", async () => {
    const tokenCalls = async () => (await calls(e2e.emulator.url)).filter((c) => c.operation === 'token').length;
    const before = await tokenCalls();
    const c = inNamespace(nsC);
    await c.apply(federated('borrowed', e2e.emulator.url));
    const ws = await c.waitUntil('dbws', 'borrowed', (o) => condition(o, 'Ready') !== undefined);
    expect(condition(ws, 'Ready')).toMatchObject({ status: 'False', reason: 'FederationHostNotTrusted' });
    expect(condition(ws, 'Ready')?.message).toContain(`namespace ${nsC} may not use the default workspace`);
    expect(condition(ws, 'Ready')?.message).toContain('--default-workspace-namespaces');
    expect(await tokenCalls()).toBe(before);
  });

  it('federation to the default workspace host is trusted: the token exchange happens there', async () => {
    const b = inNamespace(nsB);
    await b.apply(federated('trusted', e2e.emulator.url));
    const ws = await b.waitUntil('dbws', 'trusted', (o) => condition(o, 'Ready') !== undefined);
    expect(condition(ws, 'Ready')).toMatchObject({ status: 'True', reason: 'Authenticated' });
    expect((await calls(e2e.emulator.url)).filter((c) => c.operation === 'token').length).toBeGreaterThan(0);
    // Still nothing at the untrusted host.
    expect(await calls(attacker.url)).toEqual([]);
  });
});
