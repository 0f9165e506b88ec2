import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../../src/kube/client.js';
import { LeaderElector, type Lease } from '../../../src/kube/leader.js';
import { CoreResources } from '../../../src/kube/types.js';
import { cluster } from '../../support/cluster.js';
import { eventually } from './support.js';

// Campaigns run as the operator's own identity, in its namespace, so the chart's Role is what is exercised.
let client: KubeClient;
let ns: string;
const leases: string[] = [];

beforeAll(async () => {
  client = await KubeClient.fromFile(cluster().kubeconfigOperator);
  ns = cluster().operatorNamespace;
});
afterAll(async () => {
  const admin = await KubeClient.fromFile(cluster().kubeconfigAdmin);
  await Promise.all(leases.map((name) => admin.delete(CoreResources.lease, ns, name).catch(() => undefined)));
  await admin.close();
  await client.close();
});

const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

/** Two candidates on one lease; samples who leads every 50 ms to catch any moment with two leaders. */
function candidates(prefix: string) {
  const lease = `${prefix}-${randomBytes(3).toString('hex')}`;
  leases.push(lease);
  const log: string[] = [];
  const make = (identity: string) =>
    new LeaderElector(client, {
      namespace: ns,
      name: lease,
      identity,
      ...timings,
      onStartedLeading: () => log.push(`${identity} leads`),
      onStoppedLeading: () => log.push(`${identity} stopped`),
    });
  const a = make('a');
  const b = make('b');
  let both = 0;
  const sampler = setInterval(() => {
    if (a.isLeader && b.isLeader) both++;
  }, 50);
  return { a, b, lease, log, bothLed: () => both, stopSampling: () => clearInterval(sampler) };
}

describe('LeaderElector on a real Lease', () => {
  it('exactly one of two candidates leads, and killing it hands over within the lease duration', async () => {
    const { a, b, lease: name, bothLed, stopSampling } = candidates('kill');
    a.start();
    b.start();
    const leader = (await eventually(() => (a.isLeader ? a : b.isLeader ? b : undefined), 10_000, 'a leader')) as LeaderElector;
    const follower = leader === a ? b : a;
    await new Promise((r) => setTimeout(r, 2_000)); // several renew periods
    expect(leader.isLeader).toBe(true);
    expect(follower.isLeader).toBe(false);

    await leader.stop({ release: false }); // a crash: the lease is left to expire
    const killedAt = Date.now();
    await eventually(() => follower.isLeader, 10_000, 'the follower to take over');
    const handover = Date.now() - killedAt;
    expect(handover).toBeLessThanOrEqual(timings.leaseDurationMs + 2.2 * timings.retryPeriodMs + 500);
    const lease = await client.get<Lease>(CoreResources.lease, ns, name);
    expect(lease.spec?.holderIdentity).toBe(follower === a ? 'a' : 'b');
    expect(lease.spec?.leaseTransitions).toBe(1);
    await follower.stop();
    stopSampling();
    expect(bothLed()).toBe(0);
  });

  it('releasing the lease on shutdown lets the successor take over at once', async () => {
    const { a, b, lease: name, bothLed, stopSampling } = candidates('release');
    a.start();
    await eventually(() => a.isLeader, 10_000, 'a to lead');
    b.start();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(b.isLeader).toBe(false);
    await a.stop(); // graceful: releases
    const releasedAt = Date.now();
    await eventually(() => b.isLeader, 10_000, 'b to take over');
    // b only has to notice on its next retry (at most 2.2 retry periods), not wait out the 3 s lease
    expect(Date.now() - releasedAt).toBeLessThan(2.2 * timings.retryPeriodMs + 500);
    await b.stop();
    const lease = await client.get<Lease>(CoreResources.lease, ns, name);
    expect(lease.spec?.holderIdentity ?? '').toBe('');
    stopSampling();
    expect(bothLed()).toBe(0);
  });
});
