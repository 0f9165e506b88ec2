import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../src/kube/client.js';
import { KubeApiError } from '../../../src/kube/errors.js';
import { LeaderElector, type Lease } from '../../../src/kube/leader.js';
import { CoreResources } from '../../../src/kube/types.js';

/**
 * One Lease held in memory with the API server's optimistic concurrency: a replace must carry the current
 * resourceVersion. A renew that is aborted on our side may still be applied by the server: `lateWrites` holds such
 * writes, applied right after the next read (the server answered that read before the write landed).
 */
class LeaseStore {
  lease: Lease | undefined;
  private version = 0;
  readonly lateWrites: Lease[] = [];
  holdRenews = false;
  private releaseHeld: (() => void) | undefined;
  renewInFlight: Promise<void> | undefined;
  /**
   * A create reaches the server and its answer never comes (our side gives up when the stop aborts it): the server
   * applied it at once ('applied'), or applies it right after the next read ('late', as `lateWrites`).
   */
  holdCreates: 'applied' | 'late' | undefined;
  private readonly lateCreates: Lease[] = [];
  createInFlight: Promise<void> | undefined;

  client(): KubeClient {
    const fake = {
      get: async (_resource: unknown, _ns: string, _name: string) => {
        const read = this.lease && structuredClone(this.lease);
        for (const create of this.lateCreates.splice(0)) {
          if (!this.lease) this.store(create); // else the server refused it: AlreadyExists
        }
        if (!read) throw new KubeApiError(404, 'NotFound', 'not found');
        for (const write of this.lateWrites.splice(0)) {
          try {
            this.apply(write);
          } catch {
            // the server refused the late write too (a conflict): nothing changed
          }
        }
        return read;
      },
      create: async (_resource: unknown, _ns: string, body: Lease, signal?: AbortSignal) => {
        if (this.lease) throw new KubeApiError(409, 'AlreadyExists', 'exists');
        const held = this.holdCreates;
        if (held === undefined) return this.store(body);
        if (held === 'applied') this.store(body);
        let reachedServer: () => void = () => undefined;
        this.createInFlight = new Promise<void>((resolve) => (reachedServer = resolve));
        return new Promise<Lease>((_, reject) => {
          signal?.addEventListener('abort', () => {
            if (held === 'late') this.lateCreates.push(structuredClone(body));
            reject(new Error('aborted'));
          }, { once: true });
          reachedServer();
        });
      },
      replace: async (_resource: unknown, _ns: string, body: Lease, signal?: AbortSignal) => {
        if (this.holdRenews && body.spec?.holderIdentity !== '') {
          // the request reached the server; our side gives up when the stop aborts it, the server applies it later
          this.renewInFlight = new Promise<void>((resolve) => (this.releaseHeld = resolve));
          await new Promise<void>((_, reject) => {
            signal?.addEventListener('abort', () => {
              this.lateWrites.push(structuredClone(body));
              reject(new Error('aborted'));
            }, { once: true });
            this.releaseHeld?.();
          });
        }
        return this.apply(body);
      },
    };
    return fake as unknown as KubeClient;
  }

  private apply(body: Lease): Lease {
    if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
      throw new KubeApiError(409, 'Conflict', 'the object has been modified');
    }
    return this.store(body);
  }

  private store(body: Lease): Lease {
    this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
    return structuredClone(this.lease);
  }
}

const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 10 };

/** A leader whose last renew reached the server and is still unanswered: the stop will abort it. */
async function leadingWithARenewInFlight() {
  const store = new LeaseStore();
  const elector = new LeaderElector(store.client(), { namespace: 'ns', name: 'l', identity: 'me', ...timings });
  elector.start();
  await expect.poll(() => elector.isLeader).toBe(true);
  store.holdRenews = true;
  await expect.poll(() => store.renewInFlight !== undefined).toBe(true);
  await store.renewInFlight;
  store.holdRenews = false;
  return { store, elector };
}

describe('LeaderElector release on stop', () => {
  it('releases the lease on stop', async () => {
    const store = new LeaseStore();
    const elector = new LeaderElector(store.client(), { namespace: 'ns', name: 'l', identity: 'me', ...timings });
    elector.start();
    await expect.poll(() => elector.isLeader).toBe(true);
    await elector.stop();
    expect(store.lease?.spec?.holderIdentity).toBe('');
    expect(elector.isLeader).toBe(false);
  });

  it('releases the lease even when the renew the stop aborted lands on the server after the release read it', async () => {
    const { store, elector } = await leadingWithARenewInFlight();
    await elector.stop();
    // the late renew was applied (it moved the resourceVersion on), and the lease is still handed back
    expect(store.lateWrites).toEqual([]);
    expect(store.lease?.spec?.holderIdentity).toBe('');
  });

  it('does not clear a lease someone else took meanwhile', async () => {
    const { store, elector } = await leadingWithARenewInFlight();
    // before our release reads it, another candidate has taken the lease
    const lease = store.lease as Lease;
    store.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: '999' }, spec: { ...lease.spec, holderIdentity: 'other' } };
    await elector.stop();
    expect(store.lease?.spec?.holderIdentity).toBe('other');
  });
});

describe('LeaderElector when the wall clock is set (NTP step, a VM resumed)', () => {
  it('a leader whose renewals fail stops leading within the renew deadline, though its clock was set back an hour', async () => {
    const store = new LeaseStore();
    let wallOffsetMs = 0;
    const client = store.client();
    let apiserverAnswers = true;
    const unreachable = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    const failing = {
      get: (...args: unknown[]) => (apiserverAnswers ? (client.get as (...a: unknown[]) => unknown)(...args) : unreachable()),
      create: (...args: unknown[]) => (apiserverAnswers ? (client.create as (...a: unknown[]) => unknown)(...args) : unreachable()),
      replace: (...args: unknown[]) => (apiserverAnswers ? (client.replace as (...a: unknown[]) => unknown)(...args) : unreachable()),
    } as unknown as KubeClient;
    const elector = new LeaderElector(failing, { namespace: 'ns', name: 'l', identity: 'me', ...timings, now: () => Date.now() + wallOffsetMs });
    elector.start();
    await expect.poll(() => elector.isLeader).toBe(true);
    apiserverAnswers = false;
    wallOffsetMs = -3_600_000;
    const lost = performance.now();
    // the others take the lease once leaseDuration has passed on their clocks: this one must have stopped by then
    await expect.poll(() => elector.isLeader, { timeout: timings.leaseDurationMs }).toBe(false);
    expect(performance.now() - lost).toBeLessThan(timings.leaseDurationMs);
    await elector.stop({ release: false });
  });

  it('a standby whose clock jumps an hour ahead does not take a lease its holder renewed just now', async () => {
    const store = new LeaseStore();
    let wallOffsetMs = 0;
    const heldAt = Date.now();
    const stamp = new Date(heldAt).toISOString();
    store.lease = {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' },
      spec: { holderIdentity: 'other', leaseDurationSeconds: timings.leaseDurationMs / 1000, acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 },
    };
    const client = store.client();
    let reads = 0;
    const counting = { ...client, get: (...args: unknown[]) => (reads++, (client.get as (...a: unknown[]) => unknown)(...args)) } as unknown as KubeClient;
    const elector = new LeaderElector(counting, { namespace: 'ns', name: 'l', identity: 'me', ...timings, now: () => Date.now() + wallOffsetMs });
    const seen = performance.now();
    elector.start();
    await expect.poll(() => reads).toBeGreaterThan(0);
    wallOffsetMs = 3_600_000;
    // the holder stopped renewing when we first read the lease: it is ours once leaseDuration has passed, not before
    await expect.poll(() => elector.isLeader, { timeout: 2 * timings.leaseDurationMs }).toBe(true);
    expect(performance.now() - seen).toBeGreaterThanOrEqual(timings.leaseDurationMs);
    await elector.stop();
  });
});

describe('LeaderElector stopped while it acquires', () => {
  it('a standby stopped with its acquire in flight does not leave the lease held by a process that is gone', async () => {
    const store = new LeaseStore();
    const client = store.client();
    const old = new Date(Date.now() - 60_000).toISOString();
    await client.create(CoreResources.lease, 'ns', {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'ns' },
      spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: old, renewTime: old, leaseTransitions: 1 },
    });
    // the acquire reaches the server; SIGTERM arrives before the answer, and the server applies it afterwards
    store.holdRenews = true;
    const elector = new LeaderElector(client, { namespace: 'ns', name: 'l', identity: 'me', ...timings });
    elector.start();
    await expect.poll(() => store.renewInFlight !== undefined).toBe(true);
    await store.renewInFlight;
    store.holdRenews = false;
    await elector.stop();
    expect(elector.isLeader).toBe(false);
    // what the next candidate finds once the late write has landed: free, not ours for another leaseDuration
    await client.get(CoreResources.lease, 'ns', 'l');
    expect(store.lateWrites).toEqual([]);
    expect(store.lease?.spec?.holderIdentity).toBe('');
  });
});

describe('LeaderElector handover annotation', () => {
  const annotation = 'example.io/handover';
  /** A handover whose value is `value()`; what it read, in order, lands in `read`. */
  const handover = (value: () => string | undefined) => {
    const read: string[] = [];
    return { read, handover: { annotation, write: value, read: (v: string) => void read.push(v) } };
  };
  const heldBy = (store: LeaseStore, holder: string, annotations: Record<string, string>) => {
    store.lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l', namespace: 'ns', resourceVersion: '1', annotations },
      spec: { holderIdentity: holder, leaseDurationSeconds: 1, renewTime: new Date(0).toISOString() },
    };
  };

  it("the leader's renews carry what it hands over, and a successor reads its predecessor's word before it starts leading", async () => {
    const store = new LeaseStore();
    let state = 'one';
    const first = handover(() => state);
    const leader = new LeaderElector(store.client(), { namespace: 'ns', name: 'l', identity: 'first', ...timings, handover: first.handover });
    leader.start();
    await expect.poll(() => leader.isLeader).toBe(true);
    state = 'two';
    await expect.poll(() => store.lease?.metadata.annotations?.[annotation]).toBe('two');
    // nothing to hand over: the annotation goes
    state = undefined as unknown as string;
    await expect.poll(() => store.lease?.metadata.annotations?.[annotation]).toBeUndefined();
    state = 'last word';
    await leader.stop();
    expect(store.lease?.metadata.annotations?.[annotation]).toBe('last word');
    expect(first.read).toEqual([]);

    const next = handover(() => 'successor');
    let readWhenLeading: string[] | undefined;
    const successor = new LeaderElector(store.client(), {
      namespace: 'ns',
      name: 'l',
      identity: 'second',
      ...timings,
      handover: next.handover,
      onStartedLeading: () => (readWhenLeading = [...next.read]),
    });
    successor.start();
    await expect.poll(() => successor.isLeader).toBe(true);
    expect(readWhenLeading).toEqual(['last word']);
    await expect.poll(() => store.lease?.metadata.annotations?.[annotation]).toBe('successor');
    await successor.stop();
  });

  it('a lease taken over from a holder that stopped renewing (a crash) hands over what its last renew wrote', async () => {
    const store = new LeaseStore();
    heldBy(store, 'crashed', { [annotation]: 'at the last renew', other: 'kept' });
    const next = handover(() => 'mine');
    const elector = new LeaderElector(store.client(), { namespace: 'ns', name: 'l', identity: 'second', ...timings, handover: next.handover });
    elector.start();
    await expect.poll(() => elector.isLeader, { timeout: 5_000 }).toBe(true);
    expect(next.read).toEqual(['at the last renew']);
    await expect.poll(() => store.lease?.metadata.annotations?.[annotation]).toBe('mine');
    expect(store.lease?.metadata.annotations?.['other']).toBe('kept');
    await elector.stop();
  });

  it('a process restarted under the same identity (a container restarted in its pod) reads what it wrote before', async () => {
    const store = new LeaseStore();
    heldBy(store, 'pod-0', { [annotation]: 'before the restart' });
    const restarted = handover(() => 'after');
    const elector = new LeaderElector(store.client(), { namespace: 'ns', name: 'l', identity: 'pod-0', ...timings, handover: restarted.handover });
    elector.start();
    await expect.poll(() => elector.isLeader).toBe(true);
    expect(restarted.read).toEqual(['before the restart']);
    await elector.stop();
  });

  it('a changed handover is written within a quarter of a second, not at the next renew; a burst of changes is a few writes', async () => {
    const store = new LeaseStore();
    let state = 'a';
    let changed: (() => void) | undefined;
    const writes: string[] = [];
    const client = store.client();
    const replace = client.replace.bind(client);
    client.replace = (async (...args: Parameters<KubeClient['replace']>) => {
      writes.push((args[2] as Lease).metadata.annotations?.[annotation] ?? '');
      return replace(...args);
    }) as KubeClient['replace'];
    // renews every 10 s: only an early write can carry a change within the test
    const elector = new LeaderElector(client, {
      namespace: 'ns',
      name: 'l',
      identity: 'me',
      leaseDurationMs: 30_000,
      renewDeadlineMs: 20_000,
      retryPeriodMs: 10_000,
      handover: { annotation, write: () => state, read: () => {}, subscribe: (notify) => void (changed = notify) },
    });
    elector.start();
    await expect.poll(() => elector.isLeader).toBe(true);
    const before = writes.length;
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      state = `b${i}`;
      changed?.();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await expect.poll(() => store.lease?.metadata.annotations?.[annotation], { timeout: 2_000 }).toBe('b19');
    expect(performance.now() - started).toBeLessThan(2_000);
    // 20 changes over half a second: written at most every 250 ms, not 20 times
    expect(writes.length - before).toBeLessThanOrEqual(4);
    await elector.stop();
  });

  it('a handover that throws costs neither the lease nor leadership', async () => {
    const store = new LeaseStore();
    heldBy(store, 'crashed', { [annotation]: 'unreadable' });
    const elector = new LeaderElector(store.client(), {
      namespace: 'ns',
      name: 'l',
      identity: 'second',
      ...timings,
      handover: { annotation, write: () => { throw new Error('broken'); }, read: () => { throw new Error('broken'); } },
    });
    elector.start();
    await expect.poll(() => elector.isLeader, { timeout: 5_000 }).toBe(true);
    const renewed = store.lease?.spec?.renewTime;
    await expect.poll(() => store.lease?.spec?.renewTime !== renewed).toBe(true);
    expect(elector.isLeader).toBe(true);
    await elector.stop();
    expect(store.lease?.spec?.holderIdentity).toBe('');
  });
});

describe('LeaderElector stopped while its create of the Lease is unanswered', () => {
  it.each(['applied', 'late'] as const)('a candidate stopped with the create of a new Lease unanswered (%s by the server) leaves it free', async (landing) => {
    const store = new LeaseStore();
    const client = store.client();
    // no Lease yet (a first install): the candidate creates it, and SIGTERM arrives before the answer
    store.holdCreates = landing;
    const elector = new LeaderElector(client, { namespace: 'ns', name: 'l', identity: 'me', ...timings });
    elector.start();
    await expect.poll(() => store.createInFlight !== undefined).toBe(true);
    await store.createInFlight;
    store.holdCreates = undefined;
    await elector.stop();
    expect(elector.isLeader).toBe(false);
    // what the next candidate finds once a late create has been answered: free, not ours for another leaseDuration
    const found = await client.get<Lease>(CoreResources.lease, 'ns', 'l').catch(() => undefined);
    expect(found?.spec?.holderIdentity ?? '').toBe('');
    expect(store.lease?.spec?.holderIdentity ?? '').toBe('');
  });
});

describe('LeaderElector after it lost the lease', () => {
  it('does not take the lease back once the API server answers again: the process that lost it is on its way out', async () => {
    const store = new LeaseStore();
    const client = store.client();
    let apiserverAnswers = true;
    const unreachable = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    const flaky = {
      get: (...args: unknown[]) => (apiserverAnswers ? (client.get as (...a: unknown[]) => unknown)(...args) : unreachable()),
      create: (...args: unknown[]) => (apiserverAnswers ? (client.create as (...a: unknown[]) => unknown)(...args) : unreachable()),
      replace: (...args: unknown[]) => (apiserverAnswers ? (client.replace as (...a: unknown[]) => unknown)(...args) : unreachable()),
    } as unknown as KubeClient;
    let startedLeading = 0;
    const elector = new LeaderElector(flaky, { namespace: 'ns', name: 'l', identity: 'me', ...timings, onStartedLeading: () => startedLeading++ });
    elector.start();
    await expect.poll(() => elector.isLeader).toBe(true);
    apiserverAnswers = false;
    await expect.poll(() => elector.isLeader, { timeout: timings.leaseDurationMs }).toBe(false);
    // back before the lease ran out on the others' clocks: the record still names us
    apiserverAnswers = true;
    const renewsBefore = store.lease?.metadata?.resourceVersion;
    // twenty retry periods: before, it took the lease back within the first
    await new Promise((resolve) => setTimeout(resolve, 20 * timings.retryPeriodMs));
    expect(startedLeading).toBe(1);
    expect(elector.isLeader).toBe(false);
    expect(store.lease?.metadata?.resourceVersion).toBe(renewsBefore);
    await elector.stop({ release: false });
  });
});
