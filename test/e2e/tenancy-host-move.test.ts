// A status record made at one host never holds an endpoint at another (docs/security.md, ownership). Tenant alice
// points her DatabricksWorkspace at a host she controls (a proxy in front of a second emulator that answers the
// real ID of bob's endpoint for her endpoint of the same name), lets her object record that ID, then points the
// workspace at the default workspace's host (token federation, which her namespace may use). Bob's endpoint
// there must never be changed or deleted on her object's behalf.
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { normaliseHost } from '../../src/databricks/host.js';
import { applyOk, ensureNamespace, eventually, kubectl, kubectlOk, uniqueNamespace } from '../support/cluster.js';
import { TEST_PAT, condition, endpointManifest, isReady, startE2E } from './harness.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
// What endpointManifest's spec asks for (chunks 2-3 of 980 tokens/s): adopting it changes nothing, so it stays untagged.
const served = { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] };

let e2e: Awaited<ReturnType<typeof startE2E>>;
let alice: string;
let hostile: RunningEmulator;
let proxy: { url: string; server: Server; forged: Map<string, string> };
let tokenDir: string;

/** An unsigned JWT shaped like a projected service-account token. */
function serviceAccountJwt(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { iss: 'https://kubernetes.default.svc', sub: 'system:serviceaccount:pt-operator-system:pt-operator', aud: ['databricks'], exp: Math.floor(Date.now() / 1000) + 3600 };
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature').toString('base64url')}`;
}

/** The tenant's host: forwards to `target`, and answers `forged` IDs for the endpoints it names, wherever they appear. */
async function startForgingProxy(target: string): Promise<typeof proxy> {
  const forged = new Map<string, string>();
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    const object = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
    const name = object['name'];
    if (typeof name === 'string' && forged.has(name) && 'id' in object) object['id'] = forged.get(name);
    return object;
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const upstream = new URL(req.url ?? '/', target);
    const forward = request(upstream, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        let body = Buffer.concat(chunks);
        if (String(answer.headers['content-type'] ?? '').includes('json') && body.length > 0) {
          try {
            body = Buffer.from(JSON.stringify(rewrite(JSON.parse(body.toString('utf8')))));
          } catch {
            // not JSON after all: passed on as is
          }
        }
        const headers = { ...answer.headers, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        res.writeHead(answer.statusCode ?? 502, headers);
        res.end(body);
      });
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, forged };
}

// Each test, and a retry of it, starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  alice = uniqueNamespace('e2e-hostmv-alice');
  await ensureNamespace(alice);
  tokenDir = await mkdtemp(join(tmpdir(), 'pt-hostmove-'));
  await writeFile(join(tokenDir, 'token'), `${serviceAccountJwt()}\n`);
  hostile = await startEmulator({ scenario: {}, speed: 120 });
  proxy = await startForgingProxy(hostile.url);
  // Bob is this file's namespace; both tenants may use the default workspace.
  e2e = await startE2E({
    prefix: 'e2e-hostmv-bob',
    startOperator: false,
    // Made outside the operator, never tagged.
    scenario: {
      endpoints: [
        { name: 'vic', config: served, tags: [{ key: 'team', value: 'bob' }] },
        // Left by a deleted object of another namespace: not adoptable from alice's (--allow-cross-namespace-adoption is off).
        { name: 'left', config: served, tags: [{ key: 'pt-operator-owner-uid', value: '3b0c1d5e-0000-4000-8000-000000000000' }, { key: 'pt-operator-owner', value: 'team-gone.left' }] },
      ],
    },
  });
  e2e.startOperator([`--namespaces=${e2e.namespace},${alice}`, `--default-workspace-namespaces=${e2e.namespace},${alice}`, `--federation-token-file=${join(tokenDir, 'token')}`]);
});

afterEach(async () => {
  await e2e?.stop();
  await hostile?.close();
  await new Promise((closed) => proxy?.server.close(closed));
  if (tokenDir) await rm(tokenDir, { recursive: true, force: true });
});

const inAlice = {
  apply: (manifest: object) => applyOk(manifest, { namespace: alice }),
  get: async (kind: string, name: string) => {
    const result = await kubectl(['-n', alice, 'get', kind, name, '-o', 'json']);
    return result.exitCode === 0 ? (JSON.parse(result.stdout) as Record<string, unknown>) : undefined;
  },
  kubectl: (args: string[]) => kubectlOk(['-n', alice, ...args]),
};
const waitInAlice = (kind: string, name: string, check: (o: Record<string, unknown> | undefined) => boolean) =>
  eventually(
    async () => {
      const obj = await inAlice.get(kind, name);
      if (!check(obj)) throw new Error(`${alice}/${kind}/${name} not there yet:\n${JSON.stringify(obj?.['status'], null, 1)}`);
      return obj;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );

const federatedTo = (host: string) => JSON.stringify({ spec: { host, auth: { token: null, tokenFederation: {} } } });
const aliceWorkspace = (name: string) => ({ apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name }, spec: { host: proxy.url, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } } });

type Status = { endpointId?: string; workspaceHost?: string; adoption?: { endpointId: string } };
const statusOf = (o: Record<string, unknown> | undefined) => (o?.['status'] ?? {}) as Status;
const tagsAtDefault = async (name: string) => {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: { name: string; tags?: { key: string; value?: string }[] }[] };
  const endpoint = state.endpoints.find((e) => e.name === name);
  return endpoint && Object.fromEntries((endpoint.tags ?? []).map((t) => [t.key, t.value]));
};

describe("an ID recorded at a tenant's own host", () => {
  it("never makes another host's endpoint the object's: no tag patch, no update, no delete; the move is reported", async () => {
    // 1. Bob adopts vic in the default workspace; it serves the spec, so nothing is written and it stays untagged.
    await e2e.apply(endpointManifest('vic', {}, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    const bob = await e2e.waitUntil('pte', 'vic', (o) => isReady(o) && statusOf(o).adoption !== undefined, 90_000);
    const realId = statusOf(bob).adoption?.endpointId as string;
    expect(realId).toBeTruthy();
    expect(await e2e.mutations('vic')).toEqual([]);

    // 2. Alice's object of the same name, at her own host, which answers bob's ID for it.
    proxy.forged.set('vic', realId);
    await inAlice.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dbx-pat' }, stringData: { token: TEST_PAT } });
    await inAlice.apply(aliceWorkspace('evil2'));
    // Another throughput than bob's: acting on his endpoint would mean a config update, and writing her owner tags.
    await inAlice.apply(endpointManifest('vic', { workspaceRef: { name: 'evil2' }, deletionPolicy: 'Delete', throughput: { chunks: { min: 2, max: 4 } } }));
    const recorded = await waitInAlice('pte', 'vic', (o) => o !== undefined && isReady(o) && statusOf(o).endpointId === realId);
    expect(statusOf(recorded).workspaceHost).toBe(normaliseHost(proxy.url));

    // 3. Her workspace now names the default workspace's host (federation: her namespace may use it).
    await inAlice.kubectl(['patch', 'dbws', 'evil2', '--type=merge', '-p', federatedTo(e2e.emulator.url)]);
    const moved = await waitInAlice('pte', 'vic', (o) => condition(o, 'Synced')?.reason === 'WorkspaceChanged' || condition(o, 'Synced')?.reason === 'NotOwned' || (o !== undefined && statusOf(o).workspaceHost === normaliseHost(e2e.emulator.url)));
    // Evidence that the operator acted on what it saw there (it reads before it writes): then nothing was sent.
    await e2e.reconciledAgain('vic');
    expect(await e2e.mutations('vic')).toEqual([]);
    expect(condition(moved, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(condition(moved, 'Synced')?.message).toContain(`was created in workspace ${normaliseHost(proxy.url)}`);
    expect(await tagsAtDefault('vic')).toEqual({ team: 'bob' });
    const stillBobs = await e2e.get<Record<string, unknown>>('pte', 'vic');
    expect(condition(stillBobs, 'Synced')).toMatchObject({ status: 'True' });
    expect(isReady(stillBobs as Record<string, unknown>)).toBe(true);

    // 4. Deleting her object (deletionPolicy Delete) deletes nothing there: it says where its endpoint lives and waits.
    await inAlice.kubectl(['delete', 'pte', 'vic', '--wait=false']);
    const deleting = await waitInAlice('pte', 'vic', (o) => o === undefined || /cannot delete/.test(condition(o, 'Synced')?.message ?? ''));
    expect(deleting).toBeDefined();
    expect(condition(deleting, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(await e2e.mutations('vic')).toEqual([]);
    // Orphan lets it go; bob's endpoint is untouched and still his.
    await inAlice.kubectl(['patch', 'pte', 'vic', '--type=merge', '-p', '{"spec":{"deletionPolicy":"Orphan"}}']);
    await waitInAlice('pte', 'vic', (o) => o === undefined);
    expect(await e2e.mutations('vic')).toEqual([]);
    expect(await tagsAtDefault('vic')).toEqual({ team: 'bob' });
    await e2e.reconciledAgain('vic');
    expect(condition(await e2e.get<Record<string, unknown>>('pte', 'vic'), 'Synced')).toMatchObject({ status: 'True' });
  });

  it('a status.adoption recorded at her host (adopt annotation there) holds nothing at the shared host either', async () => {
    const real = (await (await fetch(new URL('/api/2.0/serving-endpoints/left', e2e.emulator.url), { headers: { authorization: `Bearer ${TEST_PAT}` } })).json()) as { id: string; tags: unknown };
    // An untagged `left` at her host, which answers the real endpoint's ID for it; her object adopts it there.
    proxy.forged.set('left', real.id);
    const made = await fetch(new URL('/api/2.0/serving-endpoints', proxy.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_PAT}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'left', config: served }),
    });
    expect(made.status).toBe(200);
    await inAlice.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dbx-pat' }, stringData: { token: TEST_PAT } });
    await inAlice.apply(aliceWorkspace('evil3'));
    await inAlice.apply(endpointManifest('left', { workspaceRef: { name: 'evil3' }, throughput: { chunks: { min: 2, max: 4 } } }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    await waitInAlice('pte', 'left', (o) => o !== undefined && statusOf(o).adoption?.endpointId === real.id && statusOf(o).workspaceHost === normaliseHost(proxy.url));

    // At the shared host the record would take over an endpoint another namespace left, which adoption refuses.
    await inAlice.kubectl(['patch', 'dbws', 'evil3', '--type=merge', '-p', federatedTo(e2e.emulator.url)]);
    const moved = await waitInAlice('pte', 'left', (o) => condition(o, 'Synced')?.reason === 'WorkspaceChanged' || (o !== undefined && statusOf(o).workspaceHost === normaliseHost(e2e.emulator.url)));
    // Her object's own verdict is the evidence: the reconcile that reached it sent whatever it was going to.
    expect(await e2e.mutations('left')).toEqual([]);
    expect(condition(moved, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(await tagsAtDefault('left')).toEqual({ 'pt-operator-owner-uid': '3b0c1d5e-0000-4000-8000-000000000000', 'pt-operator-owner': 'team-gone.left' });
  });
});
