// Crash safety, driven with kubectl: an operator killed with SIGKILL while its create is in flight
// leaves exactly one endpoint behind once restarted; with leader election exactly one replica acts,
// and SIGTERM on the leader hands the Lease over at once. Annotations changed while the operator was down are
// acted on as soon as it is back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canI, cluster, eventually, kubectl } from '../support/cluster.js';
import { type E2E, type OperatorProcess, condition, endpointManifest, startE2E, startOperator } from './harness.js';

const ENDPOINT_FINALIZER = 'serving.ptoperator.io/endpoint';

let e2e: E2E & { startOperator(extraArgs?: string[]): OperatorProcess };
let extraOperators: OperatorProcess[];

// Each test, and a retry of it, starts from a namespace, emulator and operator of its own: vitest re-runs only the
// body, and a retry would find the operator its failed attempt killed and the endpoint it created or updated.
beforeEach(async () => {
  extraOperators = [];
  e2e = await startE2E({ prefix: 'e2e-crash', speed: 480 });
});

afterEach(async () => {
  await Promise.all(extraOperators.map((o) => o.stop('SIGTERM')));
  await e2e?.stop();
});

async function emulatorJson<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(new URL(path, e2e.emulator.url), init);
  expect(response.ok).toBe(true);
  return (await response.json()) as T;
}

const creates = async (name: string) => (await e2e.mutations(name)).filter((c) => c.operation === 'create');

describe('crash safety', () => {
  it('SIGKILL while the create is in flight, then a restart: the endpoint ends Ready with exactly one create', async () => {
    // The create request is held for 3 s before Databricks acts on it, so the kill lands while it is in flight.
    const { faults } = await emulatorJson<{ faults: { id: string }[] }>('/__emulator/faults', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'latency', ms: 3_000, times: 1, match: { method: 'POST', path: '/api/2.0/serving-endpoints', endpoint: 'crash-llama' } }),
    });
    const faultId = faults[0]?.id;

    await e2e.apply(endpointManifest('crash-llama'));
    await eventually(
      async () => {
        const list = await emulatorJson<{ faults: { id: string; fired: number }[] }>('/__emulator/faults');
        if (list.faults.find((f) => f.id === faultId)?.fired !== 1) throw new Error('the create has not been sent yet');
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    // The finalizer went on before the create was sent.
    const atKill = (await e2e.get('pte', 'crash-llama')) as { metadata: { finalizers?: string[] }; status?: { endpointId?: string } };
    expect(atKill.metadata.finalizers).toContain(ENDPOINT_FINALIZER);
    await e2e.operator.stop('SIGKILL');

    // Databricks carries out the create although nobody is left to hear the answer.
    await eventually(
      async () => {
        if ((await creates('crash-llama')).length !== 1) throw new Error('the create has not landed');
      },
      { timeoutMs: 10_000 },
    );
    const afterKill = (await e2e.get('pte', 'crash-llama')) as { status?: { endpointId?: string } };
    expect(afterKill.status?.endpointId).toBeUndefined();

    e2e.startOperator();
    await e2e.kubectl(['wait', 'pte/crash-llama', '--for=condition=Ready', '--timeout=90s']);

    const calls = await creates('crash-llama');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.status).toBe(200);
    const state = await emulatorJson<{ endpoints: { name: string; id: string }[] }>('/__emulator/state');
    const ready = (await e2e.get('pte', 'crash-llama')) as { status: { endpointId: string } };
    expect(ready.status.endpointId).toBe(state.endpoints.find((e) => e.name === 'crash-llama')?.id);
  });
});

describe('crash safety during an update', () => {
  it('SIGKILL while a config update is in flight, then a restart: one update, Ready on the new spec', async () => {
    await e2e.apply(endpointManifest('crash-update'));
    await e2e.kubectl(['wait', 'pte/crash-update', '--for=condition=Ready', '--timeout=90s']);
    const before = (await e2e.mutations('crash-update')).filter((c) => c.operation === 'updateConfig').length;
    const { faults } = await emulatorJson<{ faults: { id: string }[] }>('/__emulator/faults', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'latency', ms: 3_000, times: 1, match: { method: 'PUT', path: '/api/2.0/serving-endpoints/crash-update/config' } }),
    });
    const faultId = faults[0]?.id;

    await e2e.apply(endpointManifest('crash-update', { model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '2' } }));
    await eventually(
      async () => {
        const list = await emulatorJson<{ faults: { id: string; fired: number }[] }>('/__emulator/faults');
        if (list.faults.find((f) => f.id === faultId)?.fired !== 1) throw new Error('the update has not been sent yet');
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    await e2e.operator.stop('SIGKILL');
    const updates = async () => (await e2e.mutations('crash-update')).filter((c) => c.operation === 'updateConfig');
    await eventually(
      async () => {
        if ((await updates()).length !== before + 1) throw new Error('the update has not landed');
      },
      { timeoutMs: 10_000 },
    );

    e2e.startOperator();
    await e2e.waitUntil(
      'pte',
      'crash-update',
      (o) => {
        const status = o['status'] as { observedGeneration?: number; served?: { modelVersion?: string } };
        return status.observedGeneration === (o['metadata'] as { generation: number }).generation && status.served?.modelVersion === '2' && condition(o, 'Ready')?.status === 'True';
      },
      90_000,
    );
    expect(await updates()).toHaveLength(before + 1);
    expect(await creates('crash-update')).toHaveLength(1);
  });
});

describe('annotations changed while the operator was down', () => {
  it('a pause removed and a requested-at set during downtime are acted on right after the restart, not somewhere in the poll interval', async () => {
    await e2e.apply([endpointManifest('resume-me'), endpointManifest('request-me')]);
    await e2e.kubectl(['wait', 'pte/resume-me', 'pte/request-me', '--for=condition=Ready', '--timeout=90s']);
    await e2e.kubectl(['annotate', 'pte', 'resume-me', 'ptoperator.io/paused=true']);
    await e2e.waitUntil('pte', 'resume-me', (o) => condition(o, 'Synced')?.reason === 'ReconcilePaused');
    // request-me is settled (what the start-up spread would delay): Ready and Synced for its generation, no rollout
    const generation = (o: Record<string, unknown>) => (o['metadata'] as { generation: number }).generation;
    await e2e.waitUntil('pte', 'request-me', (o) =>
      (['Ready', 'Synced'] as const).every((type) => condition(o, type)?.status === 'True' && condition(o, type)?.observedGeneration === generation(o)) &&
      (o['status'] as { pending?: unknown }).pending === undefined,
    );
    await e2e.operator.stop('SIGKILL');

    await e2e.kubectl(['annotate', 'pte', 'resume-me', 'ptoperator.io/paused-']);
    await e2e.kubectl(['annotate', 'pte', 'request-me', 'ptoperator.io/requested-at=r1']);
    const { calls } = await emulatorJson<{ calls: { seq: number }[] }>('/__emulator/calls');
    const lastSeq = calls.at(-1)?.seq ?? 0;
    // Settled objects get their first look somewhere in these 20 minutes; these two must not wait for it.
    e2e.startOperator(['--poll-interval=20m']);

    const resumed = await e2e.waitUntil('pte', 'resume-me', (o) => condition(o, 'Synced')?.status === 'True', 60_000);
    expect(condition(resumed, 'Synced')?.reason).toBe('ReconcileSuccess');
    await e2e.waitUntil('pte', 'request-me', (o) => (o['status'] as { lastHandledRequestedAt?: string }).lastHandledRequestedAt === 'r1', 60_000);
    // The operator read both endpoints from Databricks again after the restart.
    for (const endpoint of ['resume-me', 'request-me']) {
      const reads = await emulatorJson<{ calls: unknown[] }>(`/__emulator/calls?operation=get&endpoint=${endpoint}&afterSeq=${lastSeq}`);
      expect(reads.calls.length, `GETs of ${endpoint} after the restart`).toBeGreaterThan(0);
    }
  });
});

describe('leader election', () => {
  const leaseNamespace = 'pt-operator-system';
  const identities = ['replica-a', 'replica-b'] as const;
  // A Lease and replicas of each test's own, so that each (and a retry of it) starts with no leader.
  let leaseId: string;
  let replicas: Map<string, OperatorProcess>;
  beforeEach(() => {
    leaseId = `pt-e2e-crash-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    replicas = new Map();
  });

  /** Replaces the test's operator by replicas with --leader-elect; resolves with the one that took the Lease. */
  async function electedAmong(...names: string[]): Promise<string> {
    await e2e.operator.stop('SIGTERM');
    for (const identity of names) {
      const replica = startOperator({
        namespace: e2e.namespace,
        emulatorUrl: e2e.emulator.url,
        name: `${e2e.namespace}-${identity}`,
        args: ['--leader-elect=true', `--leader-election-namespace=${leaseNamespace}`, `--leader-election-id=${leaseId}`],
        env: { POD_NAME: identity },
      });
      replicas.set(identity, replica);
      extraOperators.push(replica);
    }
    return eventually(
      async () => {
        const holder = await leaseHolder();
        if (!holder) throw new Error('no replica holds the lease yet');
        return holder;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }

  async function lease(): Promise<{ holderIdentity?: string; acquireTime?: string } | undefined> {
    const result = await kubectl(['get', 'lease', leaseId, '--namespace', leaseNamespace, '-o', 'json']);
    if (result.exitCode !== 0) return undefined;
    return (JSON.parse(result.stdout) as { spec?: { holderIdentity?: string; acquireTime?: string } }).spec;
  }
  const leaseHolder = async () => (await lease())?.holderIdentity || undefined;

  const acted = (replica: OperatorProcess) => replica.logs().includes('"msg":"acting on Databricks"');

  // The chart grants get and update on its release's Lease only (rbac.test.ts); this test's own Lease is granted by
  // the tests' Role (global-setup), so that a SIGKILLed leader's Lease never holds up another test.
  it("the chart's leader-election Role lets the operator use Leases in its namespace", async () => {
    expect(cluster().operatorNamespace).toBe(leaseNamespace);
    expect(await canI('create', 'leases', { namespace: leaseNamespace })).toBe(true);
    for (const verb of ['get', 'update']) expect(await canI(verb, 'leases/pt-operator-leader', { namespace: leaseNamespace })).toBe(true);
  });

  it('two replicas with --leader-elect: exactly one acts', async () => {
    const leader = await electedAmong(...identities);
    expect(identities).toContain(leader);
    const follower = identities.find((i) => i !== leader) as string;

    await e2e.apply(endpointManifest('elected-one'));
    await e2e.kubectl(['wait', 'pte/elected-one', '--for=condition=Ready', '--timeout=90s']);
    expect(await creates('elected-one')).toHaveLength(1);
    expect(acted(replicas.get(leader) as OperatorProcess)).toBe(true);
    const followerLog = (replicas.get(follower) as OperatorProcess).logs();
    expect(followerLog).toContain('"msg":"caches synced"');
    expect(followerLog).not.toContain('"msg":"controllers started"');
    expect(acted(replicas.get(follower) as OperatorProcess)).toBe(false);
    expect(await leaseHolder()).toBe(leader);
  });

  it('SIGTERM on the leader releases the Lease; the other replica takes over promptly and converges a new endpoint', async () => {
    const leader = await electedAmong(...identities);
    const follower = identities.find((i) => i !== leader) as string;
    const leaderProcess = replicas.get(leader) as OperatorProcess;
    const followerProcess = replicas.get(follower) as OperatorProcess;

    await leaderProcess.stop('SIGTERM');
    const releasedLine = leaderProcess.logs().split('\n').find((line) => line.includes('"msg":"released the lease"'));
    expect(releasedLine).toBeDefined();
    const takenOver = await eventually(
      async () => {
        const current = await lease();
        if (current?.holderIdentity !== follower) throw new Error('the follower has not taken over');
        return current;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // Without the release the follower would wait out the 15 s lease duration after the last renewal it saw. Timed
    // by the two replicas themselves (the release in the leader's log, the take-over in the Lease), so a slow
    // shutdown or a slow kubectl of the test does not count.
    const releasedAt = Date.parse((JSON.parse(releasedLine!) as { time: string }).time);
    expect(Date.parse(takenOver.acquireTime!) - releasedAt, 'from the release to the take-over (ms)').toBeLessThan(12_000);

    await e2e.apply(endpointManifest('elected-two'));
    await e2e.kubectl(['wait', 'pte/elected-two', '--for=condition=Ready', '--timeout=90s']);
    expect(await creates('elected-two')).toHaveLength(1);
    expect(acted(followerProcess)).toBe(true);
    expect(followerProcess.exited).toBe(false);
  });

  it('SIGKILL on the leader: the Lease is not released, and a standby takes over once it expires', async () => {
    const leader = await electedAmong('replica-a');
    const leaderProcess = replicas.get(leader) as OperatorProcess;
    const standby = startOperator({
      namespace: e2e.namespace,
      emulatorUrl: e2e.emulator.url,
      name: `${e2e.namespace}-replica-c`,
      args: ['--leader-elect=true', `--leader-election-namespace=${leaseNamespace}`, `--leader-election-id=${leaseId}`],
      env: { POD_NAME: 'replica-c' },
    });
    extraOperators.push(standby);
    await eventually(
      async () => {
        if (!standby.logs().includes('"msg":"caches synced"')) throw new Error('the standby is not up yet');
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    await leaderProcess.stop('SIGKILL');
    expect(await leaseHolder()).toBe(leader);
    await eventually(
      async () => {
        if ((await leaseHolder()) !== 'replica-c') throw new Error('the standby has not taken over');
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );

    await e2e.apply(endpointManifest('elected-three'));
    await e2e.kubectl(['wait', 'pte/elected-three', '--for=condition=Ready', '--timeout=90s']);
    expect(await creates('elected-three')).toHaveLength(1);
    expect(acted(standby)).toBe(true);
  });
});
