// Namespaces sharing one Databricks host take turns for its create/update window (docs/security.md, "Budgets shared
// between tenants"). The finding: slots were first come, first served, so a namespace that queued hundreds of creates
// put another namespace's single change behind all of them (40 creates under a limit of 5 per 5 minutes: 35 minutes).
import { describe, expect, it } from 'vitest';
import { DatabricksError } from '../../../src/databricks/errors.js';
import { acquireAll, RateBudgetRegistry, WindowBudget, windowSpec, type Budget } from '../../../src/databricks/rate-budget.js';
import { seededRandom } from '../../../src/emulator/rng.js';
import { maxInRollingWindow } from '../../support/time.js';
import { FakeClock, flushMicrotasks } from './fake-clock.js';

const WINDOW = 300_000;

interface Caller {
  holder: string;
  tenant: string;
  /** when it comes back: the time its last refusal named (a requeue for its slot) */
  retryAt: number;
  grantedAt?: number;
  /** refusals that named a later time than the one before: its slot was given to another namespace's turn */
  moved: number;
  /** refusals that named an earlier time than the one before (must never happen: it would waste a slot) */
  earlier: number;
  refusals: number;
  lastSlot?: number;
}

/**
 * Every caller asks at `retryAt` (all at `arrival` first, in the order given), comes back when its refusal says, and
 * never waits in process (maxWaitMs 0, as the reconciler's requeue). Returns the callers with their grant times.
 */
async function drive(clock: FakeClock, budgets: (tenant: string) => Budget[], callers: Caller[]): Promise<Caller[]> {
  for (let rounds = 0; rounds < 10_000; rounds++) {
    const waiting = callers.filter((c) => c.grantedAt === undefined);
    if (waiting.length === 0) return callers;
    const next = Math.min(...waiting.map((c) => c.retryAt));
    if (next > clock.now()) await clock.advance(next - clock.now());
    for (const caller of waiting.filter((c) => c.retryAt <= clock.now())) {
      try {
        await acquireAll(budgets(caller.tenant), clock, { maxWaitMs: 0, holder: caller.holder, tenant: caller.tenant });
        caller.grantedAt = clock.now();
      } catch (error) {
        if (!(error instanceof DatabricksError) || error.retryAfterMs === undefined) throw error;
        const slot = clock.now() + error.retryAfterMs;
        caller.refusals++;
        if (caller.lastSlot !== undefined && slot > caller.lastSlot) caller.moved++;
        if (caller.lastSlot !== undefined && slot < caller.lastSlot) caller.earlier++;
        caller.lastSlot = slot;
        caller.retryAt = slot;
      }
    }
  }
  throw new Error('callers never all granted');
}

const callers = (tenant: string, count: number, at = 0): Caller[] =>
  Array.from({ length: count }, (_, i) => ({ holder: `${tenant}/e${i + 1}`, tenant, retryAt: at, moved: 0, earlier: 0, refusals: 0 }));

describe('namespaces take turns for a host window', () => {
  it("a namespace that queued 40 creates does not put another namespace's one create 7 windows out", async () => {
    const clock = new FakeClock(0);
    const host = new WindowBudget('h', windowSpec(5, WINDOW, 0), clock);
    const all = [...callers('a', 40), ...callers('b', 1)];
    await drive(clock, () => [host], all);
    const b = all.find((c) => c.tenant === 'b') as Caller;
    // its turn comes after one of a's: the first slot that frees, one window on (first come, first served: 7 windows)
    expect(b.grantedAt).toBe(WINDOW);
    // a loses one slot, no more: its last create goes out one slot later than it would have alone
    const aTimes = all.filter((c) => c.tenant === 'a').map((c) => c.grantedAt as number);
    expect(Math.max(...aTimes)).toBe(8 * WINDOW);
    expect(maxInRollingWindow([...aTimes, b.grantedAt as number], WINDOW)).toBeLessThanOrEqual(5);
  });

  it("turns alternate: another namespace's ten changes share each window with the first's", async () => {
    const clock = new FakeClock(0);
    const host = new WindowBudget('h', windowSpec(5, WINDOW, 0), clock);
    const all = [...callers('a', 25), ...callers('b', 10)];
    await drive(clock, () => [host], all);
    const granted = (tenant: string, at: number) => all.filter((c) => c.tenant === tenant && c.grantedAt === at).length;
    // the first five went out at once (a's, before b asked); then each window's five are shared 3:2 or 2:3 until b
    // has none left (first come, first served: b's ten in the fifth and sixth windows, after all of a's)
    expect(granted('a', 0)).toBe(5);
    for (let window = 1; window <= 4; window++) {
      expect(granted('b', window * WINDOW), `window ${window}`).toBeGreaterThanOrEqual(2);
      expect(granted('a', window * WINDOW), `window ${window}`).toBeGreaterThanOrEqual(2);
    }
    expect(Math.max(...all.filter((c) => c.tenant === 'b').map((c) => c.grantedAt as number))).toBe(4 * WINDOW);
    // a's own changes keep their order among themselves
    const aTimes = all.filter((c) => c.tenant === 'a').map((c) => c.grantedAt as number);
    expect(aTimes).toEqual([...aTimes].sort((x, y) => x - y));
    expect(maxInRollingWindow(all.map((c) => c.grantedAt as number), WINDOW)).toBeLessThanOrEqual(5);
    // no slot was lost: 35 changes under 5 per window still take 7 windows (the last at 6 windows after the first)
    expect(Math.max(...aTimes)).toBe(6 * WINDOW);
  });

  it('a turn only ever moves later, and a caller that comes back when it was told is granted or told a later time', async () => {
    const clock = new FakeClock(0);
    const host = new WindowBudget('h', windowSpec(3, 10_000, 0), clock);
    // three namespaces arriving one after the other, each with more than the window holds
    const all = [...callers('a', 12), ...callers('b', 6, 1_000), ...callers('c', 3, 2_000)];
    await drive(clock, () => [host], all);
    for (const caller of all) {
      expect(caller.earlier, caller.holder).toBe(0);
      // one refusal that gave it a turn, one more per time its turn moved
      expect(caller.refusals, caller.holder).toBe(caller.lastSlot === undefined ? 0 : 1 + caller.moved);
    }
    expect(maxInRollingWindow(all.map((c) => c.grantedAt as number), 10_000)).toBeLessThanOrEqual(3);
    // c (3 changes, last to arrive) is done before b (6), and b before a (12, first to arrive)
    const lastOf = (tenant: string) => Math.max(...all.filter((c) => c.tenant === tenant).map((c) => c.grantedAt as number));
    expect(lastOf('c')).toBe(30_000);
    expect(lastOf('b')).toBe(50_000);
    expect(lastOf('a')).toBe(60_000);
  });

  it('a caller sleeping in process for its slot keeps it: only callers requeued for theirs take another turn', async () => {
    const clock = new FakeClock(0);
    const host = new WindowBudget('h', windowSpec(1, 1_000, 0), clock);
    await acquireAll([host], clock, { maxWaitMs: 0, holder: 'a/e1', tenant: 'a' });
    let sleeperWaited: number | undefined;
    const sleeper = acquireAll([host], clock, { holder: 'a/e2', tenant: 'a' }).then((waited) => (sleeperWaited = waited));
    await flushMicrotasks();
    // b asks while a's second sleeps for the next slot: b's turn is after it, not instead of it
    const refused = await acquireAll([host], clock, { maxWaitMs: 0, holder: 'b/e1', tenant: 'b' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ retryAfterMs: 2_000 });
    await clock.advance(1_000);
    await sleeper;
    expect(sleeperWaited).toBe(1_000);
  });

  it("a workspace's share and the host agree on the turn: coming back when told, the call goes out", async () => {
    const clock = new FakeClock(0);
    const registry = new RateBudgetRegistry(clock, undefined, { mutationsPerWindow: 2, mutationWindowMs: 10_000 });
    // b's own share allows more than the host's turns give it: the host binds, and b's turn is kept in both windows
    const budgets = (tenant: string) => (tenant === 'b' ? registry.forHost('h', { key: 'b/ws', limits: { mutationsPerWindow: 2, mutationWindowMs: 20_000 } }) : registry.forHost('h')).mutation;
    const all = [...callers('a', 8), ...callers('b', 2)];
    await drive(clock, budgets, all);
    const bTimes = all.filter((c) => c.tenant === 'b').map((c) => c.grantedAt as number);
    // b's first turn is the first slot that frees (10 s and the host's 100 ms margin), its second one turn of a's later
    // (its share's 20 s window allows it); first come, first served, both would wait for all six of a's
    expect(bTimes[0]).toBe(10_100);
    expect(bTimes[1]).toBe(20_200);
    for (const caller of all.filter((c) => c.tenant === 'b')) expect(caller.grantedAt).toBe(caller.lastSlot);
    expect(maxInRollingWindow(all.map((c) => c.grantedAt as number), 10_000)).toBeLessThanOrEqual(2);
  });

  // A turn is a slot another caller held: taken where a stricter share makes the call go out later, the host counted
  // the call at a time that was not its slot, and one of its windows held more than the limit.
  it("a turn is taken only where the call goes out then: a workspace share that sends it later gets the host's next free slot", async () => {
    const clock = new FakeClock(0);
    const host = new WindowBudget('h', windowSpec(3, 10_000, 0), clock);
    const share = new WindowBudget('h', windowSpec(1, 15_000, 0), clock, undefined, false);
    const grants: number[] = [];
    const waiting = new Set<string>();
    const take = async (budgets: Budget[], holder: string, tenant: string, maxWaitMs: number) =>
      acquireAll(budgets, clock, { maxWaitMs, holder, tenant }).then(
        () => {
          grants.push(clock.now());
          waiting.delete(holder);
        },
        () => void waiting.add(holder),
      );
    await take([host], 'a/e1', 'a', 0);
    await take([host], 'a/e2', 'a', 0);
    await take([share, host], 'b/e1', 'b', 0);
    for (let i = 3; i <= 8; i++) await take([host], `a/e${i}`, 'a', 0);
    // b's second change may wait in process: its share allows it at 15 s, after the host's turn for it (10 s)
    const sleeper = take([share, host], 'b/e2', 'b', Number.POSITIVE_INFINITY);
    await flushMicrotasks();
    // a's waiting changes come back every second until served
    for (let t = 1_000; t <= 40_000 && grants.length < 10; t += 1_000) {
      await clock.advance(t - clock.now());
      for (const holder of [...waiting]) await take([host], holder, 'a', 0);
    }
    await sleeper;
    expect(grants).toHaveLength(10);
    expect(maxInRollingWindow(grants, 10_000)).toBeLessThanOrEqual(3);
  });

  it('callers that name no namespace are served in arrival order, as before', async () => {
    const clock = new FakeClock(0);
    const host = new WindowBudget('h', windowSpec(1, 1_000, 0), clock);
    const order: string[] = [];
    for (const holder of ['x', 'y', 'z']) {
      await acquireAll([host], clock, { maxWaitMs: 0, holder }).then(
        () => order.push(`${holder}:0`),
        (e: DatabricksError) => order.push(`${holder}:${e.retryAfterMs}`),
      );
    }
    expect(order).toEqual(['x:0', 'y:1000', 'z:2000']);
  });
});

describe('turns on random arrivals (seeded)', () => {
  interface RandomCaller extends Caller {
    arrival: number;
    sleeps: boolean;
    firstRefusedAt?: number;
  }

  /** Like drive(), with callers that may sleep in process for a short wait (maxWaitMs 2 s) instead of requeueing. */
  async function driveMixed(clock: FakeClock, budgets: (tenant: string) => Budget[], all: RandomCaller[]): Promise<void> {
    const asking = new Set<RandomCaller>();
    for (let rounds = 0; rounds < 100_000; rounds++) {
      const waiting = all.filter((c) => c.grantedAt === undefined && !asking.has(c));
      if (waiting.length === 0 && asking.size === 0) return;
      const next = Math.min(...waiting.map((c) => c.retryAt), clock.now() + 1_000);
      if (next > clock.now()) await clock.advance(next - clock.now());
      for (const caller of waiting.filter((c) => c.retryAt <= clock.now())) {
        asking.add(caller);
        const asked = clock.now();
        const outcome = acquireAll(budgets(caller.tenant), clock, { maxWaitMs: caller.sleeps ? 2_000 : 0, holder: caller.holder, tenant: caller.tenant }).then(
          () => {
            caller.grantedAt = clock.now();
          },
          (error: unknown) => {
            if (!(error instanceof DatabricksError) || error.retryAfterMs === undefined) throw error;
            const slot = asked + error.retryAfterMs;
            caller.refusals++;
            caller.firstRefusedAt ??= asked;
            if (caller.lastSlot !== undefined && slot > caller.lastSlot) caller.moved++;
            if (caller.lastSlot !== undefined && slot < caller.lastSlot) caller.earlier++;
            caller.lastSlot = slot;
            caller.retryAt = slot;
          },
        );
        void outcome.finally(() => asking.delete(caller));
        await flushMicrotasks();
      }
    }
    throw new Error('callers never all granted');
  }

  it.each(Array.from({ length: 60 }, (_, i) => i + 1))('seed %i: every caller is served, no window (the host\'s, a share\'s) holds more than its limit, a turn only moves later', async (seed) => {
    const random = seededRandom(seed);
    const int = (n: number) => Math.floor(random.next() * n);
    const limit = 1 + int(6);
    const windowMs = 10_000;
    const clock = new FakeClock(0);
    const host = new WindowBudget('h', windowSpec(limit, windowMs, 0), clock);
    // in half the cases, namespace b's workspace has a share of its own, stricter than the host's window
    const shareSpec = random.next() < 0.5 ? windowSpec(Math.max(1, limit - 1), windowMs + int(3) * 5_000, 0) : undefined;
    const share = shareSpec && new WindowBudget('h', shareSpec, clock, undefined, false);
    const budgets = (tenant: string): Budget[] => (share && tenant === 'b' ? [share, host] : [host]);
    const tenants = ['a', 'b', 'c', 'd'].slice(0, 1 + int(4));
    const all: RandomCaller[] = Array.from({ length: 5 + int(40) }, (_, i) => {
      const tenant = tenants[int(tenants.length)] as string;
      const arrival = int(40) * 1_000;
      return { holder: `${tenant}/e${i}`, tenant, arrival, retryAt: arrival, sleeps: random.next() < 0.2, moved: 0, earlier: 0, refusals: 0 };
    });
    await driveMixed(clock, budgets, all);
    expect(all.every((c) => c.grantedAt !== undefined)).toBe(true);
    expect(maxInRollingWindow(all.map((c) => c.grantedAt as number), windowMs)).toBeLessThanOrEqual(limit);
    if (shareSpec) expect(maxInRollingWindow(all.filter((c) => c.tenant === 'b').map((c) => c.grantedAt as number), shareSpec.windowMs)).toBeLessThanOrEqual(shareSpec.limit);
    for (const caller of all) expect(caller.earlier, caller.holder).toBe(0);
    // a namespace's requeued changes keep the order they were first refused in (a namespace whose workspace has a
    // stricter share of its own is served in the order its two windows agree on, which was never its arrival order)
    for (const tenant of tenants.filter((t) => !(share && t === 'b'))) {
      const queued = all.filter((c) => c.tenant === tenant && !c.sleeps && c.firstRefusedAt !== undefined).sort((x, y) => (x.firstRefusedAt as number) - (y.firstRefusedAt as number));
      const times = queued.map((c) => c.grantedAt as number);
      expect(times, tenant).toEqual([...times].sort((x, y) => x - y));
    }
    expect(host.stats.queueLength).toBe(0);
  });
});
