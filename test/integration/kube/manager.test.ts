import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { KubeClient } from '../../../src/kube/client.js';
import type { Lease } from '../../../src/kube/leader.js';
import { Manager } from '../../../src/kube/manager.js';
import { CoreResources } from '../../../src/kube/types.js';
import { MutationFencedError } from '../../../src/databricks/errors.js';
import { HttpTransport } from '../../../src/databricks/transport.js';
import { type CallRecord, MUTATING_OPERATIONS } from '../../../src/emulator/call-log.js';
import { testClient } from '../databricks/support.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import { freePort } from '../../support/ports.js';
import { adminClient, configMap, createNamespace, deleteNamespace, eventually, type ConfigMap } from './support.js';

let client: KubeClient;
let ns: string;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  ({ client } = await adminClient());
});
afterAll(async () => {
  await client.close();
});
// A namespace for each test, and for each attempt of it: the tests create objects of fixed names, which a retry
// (vitest re-runs only the body) would meet as AlreadyExists, and leaders on a Lease of a fixed name.
beforeEach(async () => {
  ns = await createNamespace(client, 'manager');
});
afterEach(async () => {
  await deleteNamespace(client, ns);
});


/**
 * The emulator in a process of its own: a pause of this process (Atomics.wait) must not pause the host it talks to,
 * which reads what was sent meanwhile, as Databricks would.
 */
async function emulatorProcess(): Promise<{ url: string; mutations(): Promise<string[]>; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'emulator', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  let url: string | undefined;
  for await (const line of lines) {
    url = (JSON.parse(line) as { url?: string }).url;
    if (url) break;
  }
  if (!url) throw new Error('the emulator did not say where it listens');
  lines.on('line', () => undefined); // keep reading its log
  const base = url;
  return {
    url: base,
    mutations: async () => {
      const { calls } = (await (await fetch(new URL('/__emulator/calls', base))).json()) as { calls: CallRecord[] };
      return calls.filter((c) => MUTATING_OPERATIONS.has(c.operation)).map((c) => `${c.method} ${c.path}`);
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function createMany(count: number, concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        await client.create(CoreResources.configMap, ns, configMap(ns, `obj-${String(i).padStart(4, '0')}`, { i: String(i) }, { bulk: 'yes' }));
      }
    }),
  );
}

describe('Manager', () => {
  it('a server that cannot bind fails run() and closes the servers already listening (no half-alive process)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as AddressInfo).port;
    const probePort = await freePort();
    const manager = new Manager({ client, log: silent, registry: createRegistry(), probes: { host: '127.0.0.1', port: probePort }, metrics: { host: '127.0.0.1', port: takenPort } });
    try {
      await expect(manager.run()).rejects.toThrow(/EADDRINUSE/);
      // The probe server bound first; its port is free again.
      expect(await freePort(probePort)).toBe(probePort);
    } finally {
      taken.close();
    }
  });

  it('lists, caches and queues 1,000 objects; serves probes and metrics; shuts down gracefully and releases the lease', async () => {
    await createMany(1_000);
    const registry = createRegistry();
    const manager = new Manager({
      client,
      log: silent,
      registry,
      probes: { port: 0 },
      metrics: { port: 0 },
      leaderElection: { namespace: ns, name: 'manager-test', leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 },
      shutdownTimeoutMs: 5_000,
    });
    // Stopped when the test ends, failed too: a failed attempt must not leave it leading, serving and reconciling.
    onTestFinished(() => manager.stop());
    const informer = manager.informer<ConfigMap>({ resource: CoreResources.configMap, namespaces: [ns], labelSelector: 'bulk=yes', pageSize: 250 });
    const reconciled = new Set<string>();
    let slowStarted = false;
    let slowFinished = false;
    manager.addController<ConfigMap>({
      name: 'bulk',
      primary: informer,
      maxConcurrentReconciles: 4,
      reconcile: async (key) => {
        if (key === `${ns}/slow`) {
          slowStarted = true;
          await new Promise((r) => setTimeout(r, 500));
          slowFinished = true;
          return;
        }
        const obj = informer.get(key);
        if (!obj) throw new Error(`${key} is not in the cache`);
        reconciled.add(key);
      },
    });
    // A step after the drain (the operator writes its trailing Events there) runs once the reconciles finished.
    let afterDrainSawSlowFinished: boolean | undefined;
    manager.afterDrain(async () => void (afterDrainSawSlowFinished = slowFinished));
    const running = manager.run();
    await eventually(() => manager.probeUrl, 5_000, 'the probe server');
    const probe = (path: string) => fetch(`${manager.probeUrl}${path}`);
    expect((await probe('/healthz')).status).toBe(200);

    await eventually(() => manager.ready(), 30_000, 'caches to sync');
    expect(informer.list()).toHaveLength(1_000);
    expect((await probe('/readyz')).status).toBe(200);
    await eventually(() => reconciled.size === 1_000, 60_000, 'all 1,000 keys to be reconciled');
    expect(manager.isLeader).toBe(true);

    // Probes and metrics on two ports (--health-probe-bind-address, --metrics-bind-address).
    expect((await probe('/metrics')).status).toBe(404);
    const metrics = await (await fetch(`${manager.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/controller_runtime_reconcile_total\{controller="bulk",result="success"\} 1000/);
    expect(metrics).toMatch(/workqueue_adds_total\{name="bulk",controller="bulk"\} 1000/);
    expect(metrics).toMatch(/leader_election_master_status\{name="manager-test"\} 1/);
    expect(metrics).toMatch(/process_resident_memory_bytes \d+/);
    expect(metrics).toMatch(/workqueue_queue_duration_seconds_bucket/);
    expect(metrics).toMatch(/informer_list_watch_total\{resource="configmaps",event="lists"\} 1/);

    // a reconcile in flight when shutdown is requested finishes; then the lease is released
    await client.create(CoreResources.configMap, ns, configMap(ns, 'slow', {}, { bulk: 'yes' }));
    await eventually(() => slowStarted, 10_000, 'the slow reconcile to start');
    manager.stop();
    expect(await running).toBe('shutdown');
    expect(slowFinished).toBe(true);
    expect(afterDrainSawSlowFinished).toBe(true);
    const lease = await client.get<Lease>(CoreResources.lease, ns, 'manager-test');
    expect(lease.spec?.holderIdentity ?? '').toBe('');
    await expect(probe('/healthz')).rejects.toThrow();
  }, 120_000);
  it('a leader that loses its lease while draining at shutdown aborts its reconciles before the new holder may act', async () => {
    const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
    const manager = new Manager({
      client,
      log: silent,
      registry: createRegistry(),
      leaderElection: { namespace: ns, name: 'drain-test', identity: 'draining', ...timings },
      shutdownTimeoutMs: 30_000,
    });
    onTestFinished(() => manager.stop());
    const informer = manager.informer<ConfigMap>({ resource: CoreResources.configMap, namespaces: [ns], labelSelector: 'drain=yes' });
    let started = false;
    let abortedAt: number | undefined;
    manager.addController<ConfigMap>({
      name: 'drain',
      primary: informer,
      // a reconcile that acts until told to stop (a long Databricks call), or 25 s
      reconcile: async (_key, { signal }) => {
        started = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 25_000);
          signal.addEventListener('abort', () => {
            abortedAt = performance.now();
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
      },
    });
    const running = manager.run();
    await eventually(() => manager.isLeader, 30_000, 'the manager to lead');
    await client.create(CoreResources.configMap, ns, configMap(ns, 'long', {}, { drain: 'yes' }));
    await eventually(() => started, 10_000, 'the reconcile to start');
    manager.stop();
    // meanwhile the lease goes to another replica (this one's renewals stopped reaching the API server)
    const lease = await client.get<Lease>(CoreResources.lease, ns, 'drain-test');
    const now = new Date().toISOString().replace(/Z$/, '000Z');
    await client.replace<Lease>(CoreResources.lease, ns, { ...lease, spec: { ...lease.spec, holderIdentity: 'successor', acquireTime: now, renewTime: now } });
    const takenAt = performance.now();
    await eventually(() => !manager.isLeader, 10_000, 'the manager to see it lost the lease');
    // it no longer leads: what it still runs must stop at once, not at the end of the 30 s drain
    await eventually(() => abortedAt !== undefined, 5_000, 'the in-flight reconcile to be aborted');
    expect((abortedAt as number) - takenAt).toBeLessThan(timings.leaseDurationMs);
    await running;
    const after = await client.get<Lease>(CoreResources.lease, ns, 'drain-test');
    expect(after.spec?.holderIdentity).toBe('successor');
  }, 60_000);
  it('a leader paused past its renew deadline (SIGSTOP, a frozen VM) starts no reconcile when it resumes', async () => {
    const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
    const manager = new Manager({
      client,
      log: silent,
      registry: createRegistry(),
      leaderElection: { namespace: ns, name: 'pause-test', ...timings },
    });
    const informer = manager.informer<ConfigMap>({ resource: CoreResources.configMap, namespaces: [ns], labelSelector: 'poll=yes' });
    // a manager that lost its lease leaves its watches to the process's exit: close this one's here
    onTestFinished(async () => {
      manager.stop();
      await informer.stop();
    });
    const starts: number[] = [];
    manager.addController<ConfigMap>({
      name: 'poll',
      primary: informer,
      maxConcurrentReconciles: 4,
      // objects looked at again every 50 ms (a rollout's next look): their timers come due while the process is paused
      reconcile: async () => {
        starts.push(performance.now());
        return { requeueAfterMs: 50 };
      },
    });
    for (let i = 0; i < 10; i++) await client.create(CoreResources.configMap, ns, configMap(ns, `poll-${i}`, {}, { poll: 'yes' }));
    const running = manager.run();
    await eventually(() => manager.isLeader && starts.length > 100, 30_000, 'the manager to lead and poll');
    // the whole process stops for longer than the lease lasts: another replica may hold it when this one resumes
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, timings.leaseDurationMs + 1_000);
    const resumedAt = performance.now();
    expect(await running).toBe('leadership-lost');
    const startedAfterResume = starts.filter((t) => t >= resumedAt).length;
    expect(startedAfterResume).toBe(0);
  }, 60_000);

  it('a reconcile running when its leader is paused past the lease sends no Databricks change on resume', async () => {
    const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
    const emulator = await emulatorProcess();
    const transport = new HttpTransport();
    onTestFinished(async () => {
      await transport.close();
      await emulator.stop();
    });
    const manager = new Manager({
      client,
      log: silent,
      registry: createRegistry(),
      leaderElection: { namespace: ns, name: 'fence-test', ...timings },
    });
    // as controllers/run.ts gives every Databricks client of the operator
    const databricks = testClient(emulator.url, transport, { mayMutate: () => manager.isLeader });
    const informer = manager.informer<ConfigMap>({ resource: CoreResources.configMap, namespaces: [ns], labelSelector: 'fence=yes' });
    onTestFinished(async () => {
      manager.stop();
      await informer.stop();
    });
    let outcome: unknown;
    let resumedAt = 0;
    manager.addController<ConfigMap>({
      name: 'fence',
      primary: informer,
      reconcile: async (_key, { signal }) => {
        if (outcome !== undefined) return;
        // a connection to the host is open already (keep-alive), as in an operator that has been reading
        await databricks.listEndpoints({ signal });
        // The process stops for longer than the lease lasts just before this reconcile acts. On resume its own
        // continuation runs before the renew loop's overdue timer, as a budget wait's or a retry's timer can.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, timings.leaseDurationMs + 1_000);
        resumedAt = Date.now();
        outcome = await databricks.patchTags('llama-chat', { add_tags: [{ key: 'team', value: 'genai' }] }, { signal }).then(
          () => 'sent',
          (err: unknown) => err,
        );
      },
    });
    const running = manager.run();
    await eventually(() => manager.isLeader, 30_000, 'the manager to lead');
    await client.create(CoreResources.configMap, ns, configMap(ns, 'act', {}, { fence: 'yes' }));
    expect(await running).toBe('leadership-lost');
    await eventually(() => outcome !== undefined, 5_000, 'the reconcile to end');
    expect(await emulator.mutations()).toEqual([]);
    expect(outcome).toBeInstanceOf(MutationFencedError);
    // nor does it take the Lease back on its way out (the record still names it), for as long as the process would
    // take to exit: a successor need not wait for it
    await new Promise((resolve) => setTimeout(resolve, 4 * timings.retryPeriodMs));
    const lease = await client.get<Lease>(CoreResources.lease, ns, 'fence-test');
    expect(Date.parse(lease.spec?.renewTime ?? '')).toBeLessThan(resumedAt);
  }, 60_000);
});
