// Informer benchmark: for 1,000 objects, the time from start() until hasSynced, and the process RSS with the
// objects cached and their keys through a controller's queue (no-op reconcile, 4 workers).
// The objects are created by this process; the measurement runs in a fresh child process, so its RSS is
// that of an operator-like process and not inflated by the set-up.
// Uses the running test control plane (<PT_CLUSTER_DIR>/env), or starts one with up.sh and stops it after.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { KubeClient } from '../src/kube/client.js';
import { Controller } from '../src/kube/controller.js';
import { Informer } from '../src/kube/informer.js';
import { CoreResources, type KubeObject } from '../src/kube/types.js';
import { clusterDirectory, readClusterEnv, repoRoot } from '../test/support/cluster.js';

const COUNT = 1_000;
const VALUE = 'x'.repeat(1_024); // about the size of a CR with a few conditions
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

interface Measurement {
  cached: number;
  syncedMs: number;
  handledMs: number;
  rssStart: number;
  rssSynced: number;
  heapUsed: number;
}

/** Runs in the child: start an informer + controller on `ns` and measure. */
async function measure(ns: string): Promise<Measurement> {
  gc();
  const rssStart = process.memoryUsage().rss;
  const client = await KubeClient.fromFile(readClusterEnv().kubeconfigAdmin);
  const informer = new Informer<KubeObject>(client, { resource: CoreResources.configMap, namespaces: [ns] });
  let handled = 0;
  let allHandled!: () => void;
  const done = new Promise<void>((resolve) => (allHandled = resolve));
  const controller = new Controller<KubeObject>({
    name: 'bench',
    primary: informer,
    maxConcurrentReconciles: 4,
    log: pino({ level: 'silent' }),
    reconcile: async (key) => {
      if (informer.get(key) && ++handled === COUNT) allHandled();
    },
  });
  const start = performance.now();
  informer.start();
  controller.start();
  await informer.waitForSync();
  const syncedMs = performance.now() - start;
  await done;
  const handledMs = performance.now() - start;
  gc();
  const result = {
    cached: informer.list().length,
    syncedMs,
    handledMs,
    rssStart,
    rssSynced: process.memoryUsage().rss,
    heapUsed: process.memoryUsage().heapUsed,
  };
  await controller.stop(5_000);
  await informer.stop();
  await client.close();
  return result;
}

async function main(): Promise<void> {
  let startedCluster = false;
  if (!existsSync(join(clusterDirectory(), 'env'))) {
    execFileSync('bash', [join(repoRoot, 'test/controlplane/up.sh')], { stdio: 'inherit' });
    startedCluster = true;
  }
  const client = await KubeClient.fromFile(readClusterEnv().kubeconfigAdmin);
  const ns = `bench-informer-${Date.now().toString(36)}`;
  try {
    await client.create(CoreResources.namespace, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < COUNT) {
          const i = next++;
          await client.create(CoreResources.configMap, ns, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `obj-${i}`, namespace: ns, labels: { bench: 'informer' } },
            data: { value: VALUE },
          } as KubeObject);
        }
      }),
    );
    console.log(`set-up: created ${COUNT} ConfigMaps (~1 KiB each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--expose-gc', fileURLToPath(import.meta.url), '--measure', ns], {
      encoding: 'utf8',
      env: process.env,
    });
    const m = JSON.parse(out.trim().split('\n').pop() as string) as Measurement;
    console.log(`objects cached:             ${m.cached}`);
    console.log(`start -> hasSynced:         ${m.syncedMs.toFixed(0)} ms (one paginated list, 500 per page)`);
    console.log(`start -> all keys handled:  ${m.handledMs.toFixed(0)} ms`);
    console.log(`RSS at start / when synced: ${mib(m.rssStart)} / ${mib(m.rssSynced)} (+${mib(m.rssSynced - m.rssStart)})`);
    console.log(`heap used when synced:      ${mib(m.heapUsed)}`);
  } finally {
    await client.delete(CoreResources.namespace, undefined, ns).catch(() => undefined);
    await client.close();
    if (startedCluster) execFileSync('bash', [join(repoRoot, 'test/controlplane/down.sh')], { stdio: 'inherit' });
  }
}

if (process.argv[2] === '--measure') {
  console.log(JSON.stringify(await measure(process.argv[3] as string)));
} else {
  await main();
}
