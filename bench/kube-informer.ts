// Informer benchmark: how long from start() until hasSynced for 1,000 objects, and the process RSS that
// the cache adds. Also times the 1,000 keys through a controller's queue with a no-op reconcile.
// Uses the running test control plane (<PT_CLUSTER_DIR>/env), or starts one with up.sh and stops it after.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { KubeClient } from '../src/kube/client.js';
import { Controller } from '../src/kube/controller.js';
import { Informer } from '../src/kube/informer.js';
import { CoreResources, type KubeObject } from '../src/kube/types.js';
import { clusterDirectory, readClusterEnv, repoRoot } from '../test/support/cluster.js';

const COUNT = 1_000;
const VALUE = 'x'.repeat(1_024); // about the size of a CR with a few conditions

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

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
    console.log(`created ${COUNT} ConfigMaps (~1 KiB each) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    gc();
    const rssBefore = process.memoryUsage().rss;
    const informer = new Informer<KubeObject>(client, { resource: CoreResources.configMap, namespaces: [ns], labelSelector: 'bench=informer' });
    let reconciled = 0;
    let allQueued!: () => void;
    const done = new Promise<void>((resolve) => (allQueued = resolve));
    const controller = new Controller<KubeObject>({
      name: 'bench',
      primary: informer,
      maxConcurrentReconciles: 4,
      log: pino({ level: 'silent' }),
      reconcile: async () => {
        if (++reconciled === COUNT) allQueued();
      },
    });
    const start = performance.now();
    informer.start();
    controller.start();
    await informer.waitForSync();
    const syncedMs = performance.now() - start;
    await done;
    const reconciledMs = performance.now() - start;
    gc();
    const rssAfter = process.memoryUsage().rss;
    console.log(`objects cached:            ${informer.list().length}`);
    console.log(`start -> hasSynced:        ${syncedMs.toFixed(0)} ms (${informer.stats.lists} list, page size 500)`);
    console.log(`start -> all keys handled: ${reconciledMs.toFixed(0)} ms (4 workers, no-op reconcile)`);
    console.log(`RSS before / after:        ${mb(rssBefore)} / ${mb(rssAfter)} (cache and queue add ${mb(rssAfter - rssBefore)})`);
    console.log(`heap used after:           ${mb(process.memoryUsage().heapUsed)}`);
    await controller.stop(5_000);
    await informer.stop();
  } finally {
    await client.delete(CoreResources.namespace, undefined, ns).catch(() => undefined);
    await client.close();
    if (startedCluster) execFileSync('bash', [join(repoRoot, 'test/controlplane/down.sh')], { stdio: 'inherit' });
  }
}

await main();
