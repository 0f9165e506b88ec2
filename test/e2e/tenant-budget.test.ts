// Issue 11 finding 6, "one tenant throttles all": two tenants' DatabricksWorkspaces point at one Databricks
// host. Tenant B asks for a tiny budget (rateLimits.mutationsPer5Minutes: 2). That lowers B's own share
// only: tenant A's endpoints are created at once under the host's budget, which is the operator's.
// And the host's budget is shared out in turns: a tenant that queued many creates does not put another
// tenant's one create behind all of them (src/databricks/turns.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyOk, ensureNamespace, eventually, kubectlOk, uniqueNamespace } from '../support/cluster.js';
import { TEST_PAT, condition, endpointManifest, isReady, startE2E } from './harness.js';

let tenantB: string;
let e2e: Awaited<ReturnType<typeof startE2E>>;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  tenantB = uniqueNamespace('e2e-budget-b');
  await ensureNamespace(tenantB);
  e2e = await startE2E({ prefix: 'e2e-budget-a', startOperator: false });
});

/** One operator for both tenants' namespaces, as one installed cluster-wide would be (the last --namespaces wins). */
function startOperator(...args: string[]): void {
  e2e.startOperator([`--namespaces=${e2e.namespace},${tenantB}`, ...args]);
}

afterEach(async () => {
  await e2e?.stop();
  await kubectlOk(['delete', 'namespace', tenantB, '--wait=false']).catch(() => undefined);
});

function workspace(name: string, rateLimits?: Record<string, number>): object {
  return {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { name },
    spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } }, ...(rateLimits ? { rateLimits } : {}) },
  };
}

async function setUpTenant(namespace: string, ws: object): Promise<void> {
  await kubectlOk(['--namespace', namespace, 'create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${TEST_PAT}`]);
  await applyOk(ws, { namespace });
}

async function getIn(namespace: string, name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await kubectlOk(['--namespace', namespace, 'get', 'pte', name, '-o', 'json'])) as Record<string, unknown>;
}

describe('rate budgets are owned by the operator', () => {
  it("a tenant's tiny rateLimits slow only its own workspace, never another tenant's endpoints on the same host", async () => {
    startOperator();
    // Tenant A works normally first: its workspace's client exists before B's.
    await setUpTenant(e2e.namespace, workspace('team-a'));
    await e2e.apply(endpointManifest('a-0', { workspaceRef: { name: 'team-a' } }));
    await e2e.waitUntil('pte', 'a-0', isReady, 60_000);

    // Tenant B, same host, asks for 2 creates/updates per 5 minutes and creates three endpoints.
    await setUpTenant(tenantB, workspace('team-b', { mutationsPer5Minutes: 2 }));
    await applyOk(['b-0', 'b-1', 'b-2'].map((name) => endpointManifest(name, { workspaceRef: { name: 'team-b' } })), { namespace: tenantB });
    // B's own window lets two creates through; the third waits for it: refused on our side, nothing sent.
    const bNames = ['b-0', 'b-1', 'b-2'];
    await eventually(async () => {
      const objs = await Promise.all(bNames.map((name) => getIn(tenantB, name)));
      const limited = objs.filter((o) => condition(o, 'Synced')?.reason === 'RateLimited');
      if (objs.filter(isReady).length < 1 || limited.length < 1) throw new Error('tenant B has not hit its budget yet');
      expect(condition(limited[0], 'Synced')?.message).toMatch(/nothing sent/);
    });

    // Tenant A now creates five more: they all go out at once under the host's 50, not B's 2.
    const started = Date.now();
    const names = ['a-1', 'a-2', 'a-3', 'a-4', 'a-5'];
    await e2e.apply(names.map((name) => endpointManifest(name, { workspaceRef: { name: 'team-a' } })));
    for (const name of names) await e2e.waitUntil('pte', name, isReady, 45_000);
    const tookMs = Date.now() - started;

    const calls = (await (await fetch(new URL('/__emulator/calls', e2e.emulator.url))).json()) as { calls: { operation: string; endpoint?: string; status: number }[] };
    const creates = calls.calls.filter((c) => c.operation === 'create');
    expect(creates.filter((c) => c.status !== 200)).toEqual([]);
    for (const name of names) expect(creates.filter((c) => c.endpoint === name)).toHaveLength(1);
    // B's share held: two creates in B's window, whatever A did.
    expect(creates.filter((c) => c.endpoint?.startsWith('b-'))).toHaveLength(2);
    // Within seconds, not minutes (the emulator's rollouts take ~5 s of real time).
    expect(tookMs).toBeLessThan(45_000);
  });

  it("tenants take turns for the host's budget: one tenant's six queued creates do not put another's one create behind all of them", async () => {
    // The host's budget: 2 creates/updates per 5 minutes (the cluster admin's flag), shared by both tenants.
    startOperator('--databricks-mutations-per-5-minutes=2');
    await setUpTenant(e2e.namespace, workspace('team-a'));
    await setUpTenant(tenantB, workspace('team-b'));
    const aNames = ['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'a-5'];
    await e2e.apply(aNames.map((name) => endpointManifest(name, { workspaceRef: { name: 'team-a' } })));
    // Two of A's go out at once; the other four wait for turns one and two windows later.
    const turnOf = (obj: Record<string, unknown>) => Date.parse(/this change is sent at (\S+)$/.exec(condition(obj, 'Synced')?.message ?? '')?.[1] ?? '');
    const aWaiting = await eventually(
      async () => {
        const objs = await Promise.all(aNames.map((name) => getIn(e2e.namespace, name)));
        const waiting = objs.filter((o) => condition(o, 'Synced')?.reason === 'RateLimited' && !Number.isNaN(turnOf(o)));
        if (waiting.length < 4) throw new Error(`${waiting.length} of tenant A's creates wait for a turn`);
        return waiting;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const firstSent = Math.min(...(await creates()).map((c) => c.realTime));
    const aTurns = aWaiting.map(turnOf).sort((x, y) => x - y);
    // first come, first served, B's create would wait for all four: three windows after A's first two
    expect(aTurns[3]! - firstSent).toBeGreaterThanOrEqual(590_000);

    // Tenant B creates one endpoint: it takes the next turn after A's next one, one window on, not three.
    await applyOk([endpointManifest('b-0', { workspaceRef: { name: 'team-b' } })], { namespace: tenantB });
    const bTurn = await eventually(
      async () => {
        const turn = turnOf(await getIn(tenantB, 'b-0'));
        if (Number.isNaN(turn)) throw new Error('tenant B has no turn yet');
        return turn;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(bTurn - firstSent).toBeGreaterThanOrEqual(295_000);
    expect(bTurn - firstSent).toBeLessThanOrEqual(330_000);
    // Nothing was sent for the waiting ones: two creates, both A's.
    const sent = await creates();
    expect(sent).toHaveLength(2);
    expect(sent.every((c) => c.endpoint?.startsWith('a-'))).toBe(true);
  });
});

async function creates(): Promise<{ operation: string; endpoint?: string; status: number; realTime: number }[]> {
  const calls = (await (await fetch(new URL('/__emulator/calls', e2e.emulator.url))).json()) as { calls: { operation: string; endpoint?: string; status: number; realTime: number }[] };
  return calls.calls.filter((c) => c.operation === 'create');
}
