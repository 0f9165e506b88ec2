import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { KubeClient } from '../../../src/kube/client.js';
import type { Lease } from '../../../src/kube/leader.js';
import { CoreResources } from '../../../src/kube/types.js';
import { cluster, repoRoot } from '../../support/cluster.js';
import { adminClient, configMap, createNamespace, deleteNamespace, eventually } from './support.js';

let client: KubeClient;
let ns: string;

beforeAll(async () => {
  ({ client } = await adminClient());
});
afterAll(async () => {
  await client.close();
});
// A namespace for each test, and for each attempt of it: the tests create objects of fixed names, which a retry
// (vitest re-runs only the body) would meet as AlreadyExists, and leaders on a Lease of a fixed name.
beforeEach(async () => {
  ns = await createNamespace(client, 'sigterm');
});
afterEach(async () => {
  await deleteNamespace(client, ns);
});

describe('graceful shutdown of a real process', () => {
  it('on SIGTERM lets the in-flight reconcile finish, releases the lease and exits 0', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/integration/kube/fixtures/manager-process.ts'), cluster().kubeconfigAdmin, ns, 'sigterm'],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const events: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        events.push((JSON.parse(line) as { event: string; reason?: string }).event);
      } catch {
        // not one of our lines
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Killed when the test ends, failed too: a failed attempt must not leave the process running (and leading).
    onTestFinished(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });

    await eventually(() => events.includes('leading'), 30_000, 'the process to lead');
    await client.create(CoreResources.configMap, ns, configMap(ns, 'slow'));
    await eventually(() => events.includes('reconcile-started'), 10_000, 'the slow reconcile to start');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(events).toEqual(['leading', 'reconcile-started', 'reconcile-finished', 'stopped']);
    const lease = await client.get<Lease>(CoreResources.lease, ns, 'sigterm');
    expect(lease.spec?.holderIdentity ?? '').toBe('');
  }, 60_000);
});
