import { describe, expect, it } from 'vitest';
import { type BudgetHandover, MAX_HANDOVER_BYTES, MAX_HANDOVER_CALLS_PER_WINDOW, decodeHandover, encodeHandover } from '../../../src/databricks/budget-handover.js';
import { DatabricksClient } from '../../../src/databricks/client.js';
import { DatabricksError } from '../../../src/databricks/errors.js';
import { RateBudgetRegistry, WindowBudget, acquireAll, windowSpec } from '../../../src/databricks/rate-budget.js';
import { HttpTransport, type HttpRequest, type HttpResponse } from '../../../src/databricks/transport.js';
import { FakeClock } from './fake-clock.js';

const FIVE_MINUTES = 300_000;
const MARGIN = 2_000;

/** The wait a caller that may not wait is told (RateLimited), or 0 when it may call now. */
async function waitOf(call: Promise<number>): Promise<number> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof DatabricksError && err.kind === 'RateLimited') return err.retryAfterMs ?? NaN;
    throw err;
  }
}

/** What one process hands to the next, through the annotation's text, as the Lease carries it. */
function passOn(from: RateBudgetRegistry, to: RateBudgetRegistry, now: number): void {
  const text = encodeHandover(from.handover());
  const decoded = text === undefined ? undefined : decodeHandover(text, now, FIVE_MINUTES + MARGIN);
  if (decoded) to.seed(decoded);
}

describe('the budget handed over between operator processes', () => {
  it("a successor counts its predecessor's creates in the window: the next one waits until the first leaves it", async () => {
    const clock = new FakeClock(1_000_000);
    const before = new RateBudgetRegistry(clock, undefined, { mutationsPer5Minutes: 2 });
    const sent = before.forHost('h.example.com');
    await acquireAll(sent.mutation, clock, { maxWaitMs: 0, holder: 'ns/a' });
    await clock.advance(10_000);
    await acquireAll(sent.mutation, clock, { maxWaitMs: 0, holder: 'ns/b' });
    await clock.advance(5_000);

    const after = new RateBudgetRegistry(clock, undefined, { mutationsPer5Minutes: 2 });
    passOn(before, after, clock.now());
    const next = after.forHost('h.example.com');
    // the first call left 15 s ago: it leaves the window (5 min and its margin) 15 s before that ends
    expect(await waitOf(acquireAll(next.mutation, clock, { maxWaitMs: 0, holder: 'ns/c' }))).toBe(FIVE_MINUTES + MARGIN - 15_000);
    // without the handover the successor would have sent at once
    const fresh = new RateBudgetRegistry(clock, undefined, { mutationsPer5Minutes: 2 });
    expect(await waitOf(acquireAll(fresh.forHost('h.example.com').mutation, clock, { maxWaitMs: 0, holder: 'ns/c' }))).toBe(0);
  });

  it('hands over only calls sent: a slot reserved for a caller of the old process is not counted', async () => {
    const clock = new FakeClock(0);
    const budget = new WindowBudget('h', windowSpec(1, 10_000, 0), clock);
    await acquireAll([budget], clock, { maxWaitMs: 0, holder: 'a' });
    await waitOf(acquireAll([budget], clock, { maxWaitMs: 0, holder: 'b' }));
    expect(budget.handover(clock.now())).toEqual({ sent: [0] });
  });

  it("a 429's pause and the halved window go on in the successor", async () => {
    const clock = new FakeClock(0);
    const before = new RateBudgetRegistry(clock, undefined, { mutationsPer5Minutes: 8 });
    const [host] = before.forHost('h').mutation;
    host?.throttled(60_000, clock.now());
    await clock.advance(1_000);
    const after = new RateBudgetRegistry(clock, undefined, { mutationsPer5Minutes: 8 });
    passOn(before, after, clock.now());
    expect(await waitOf(acquireAll(after.forHost('h').mutation, clock, { maxWaitMs: 0, holder: 'x' }))).toBe(59_000);
    expect(after.currentLimits().find((l) => l.budget === 'mutation')?.limit).toBe(4);
  });

  it("a workspace's own share is seeded when a workspace first asks for it, and handed on until then", async () => {
    const clock = new FakeClock(0);
    const share = { key: 'ns/ws', limits: { mutationsPer5Minutes: 1 } };
    const before = new RateBudgetRegistry(clock);
    await acquireAll(before.forHost('h', share).mutation, clock, { maxWaitMs: 0, holder: 'ns/a' });
    const middle = new RateBudgetRegistry(clock);
    passOn(before, middle, clock.now());
    await clock.advance(1_000);
    // the middle process never used the share: it still hands it on
    const last = new RateBudgetRegistry(clock);
    passOn(middle, last, clock.now());
    expect(await waitOf(acquireAll(last.forHost('h', share).mutation, clock, { maxWaitMs: 0, holder: 'ns/b' }))).toBe(FIVE_MINUTES + MARGIN - 1_000);
    // another workspace on the host is not held by that share
    expect(await waitOf(acquireAll(last.forHost('h', { key: 'ns/other', limits: {} }).mutation, clock, { maxWaitMs: 0, holder: 'ns/c' }))).toBe(0);
  });

  it('tells its listeners when a create/update window counts a call, and not for reads', async () => {
    const clock = new FakeClock(0);
    const registry = new RateBudgetRegistry(clock);
    let counted = 0;
    const unsubscribe = registry.onMutationCounted(() => counted++);
    const budgets = registry.forHost('h', { key: 'ns/ws', limits: { mutationsPer5Minutes: 5 } });
    await acquireAll(budgets.read, clock);
    expect(counted).toBe(0);
    await acquireAll(budgets.mutation, clock);
    expect(counted).toBeGreaterThan(0);
    unsubscribe();
    const before = counted;
    await acquireAll(budgets.mutation, clock);
    expect(counted).toBe(before);
  });

  it('a seeded host no client uses is dropped once its window is empty', async () => {
    const clock = new FakeClock(0);
    const before = new RateBudgetRegistry(clock);
    await acquireAll(before.forHost('gone.example.com').mutation, clock, { maxWaitMs: 0 });
    const after = new RateBudgetRegistry(clock);
    passOn(before, after, clock.now());
    expect(after.hosts()).toEqual(['gone.example.com']);
    await clock.advance(FIVE_MINUTES + MARGIN + 1);
    after.currentLimits();
    expect(after.hosts()).toEqual([]);
    expect(encodeHandover(after.handover())).toBeUndefined();
  });
});

describe('the handover record', () => {
  const record: BudgetHandover = {
    at: 1_700_000_000_000,
    windows: {
      'a.example.com': { sent: [1_699_999_990_000.2, 1_699_999_999_999], pausedUntil: 1_700_000_030_000, shrink: { limit: 25, at: 1_700_000_030_000 } },
      'b.example.com#ns/ws': { sent: [1_699_999_900_000] },
    },
  };

  it('round-trips, each time rounded up to the millisecond (counted a little longer, never shorter)', () => {
    const text = encodeHandover(record) as string;
    expect(decodeHandover(text, record.at, FIVE_MINUTES)).toEqual({
      at: record.at,
      windows: {
        'a.example.com': { sent: [1_699_999_990_001, 1_699_999_999_999], pausedUntil: 1_700_000_030_000, shrink: { limit: 25, at: 1_700_000_030_000 } },
        'b.example.com#ns/ws': { sent: [1_699_999_900_000] },
      },
    });
  });

  it('keeps the busiest windows when they do not all fit', () => {
    const windows: BudgetHandover['windows'] = {};
    for (let i = 0; i < 200; i++) windows[`host-${i}.example.com`] = { sent: Array.from({ length: 1 + (i % 50) }, (_, k) => record.at - k * 1000) };
    const text = encodeHandover({ at: record.at, windows }, 8 * 1024) as string;
    expect(text.length).toBeLessThanOrEqual(8 * 1024);
    const kept = decodeHandover(text, record.at, FIVE_MINUTES)?.windows ?? {};
    const sizes = Object.values(kept).map((w) => w.sent.length);
    expect(sizes.length).toBeGreaterThan(0);
    // every window left out was no busier than the smallest kept
    const left = Object.entries(windows).filter(([key]) => !(key in kept));
    expect(Math.max(...left.map(([, w]) => w.sent.length))).toBeLessThanOrEqual(Math.min(...sizes));
  });

  it('a window with more calls than a record holds (a limit raised far past 50) hands over its latest calls, and the record still fits', () => {
    const at = record.at;
    const windows: BudgetHandover['windows'] = {};
    // 20 hosts, each with 10,000 calls in the last 5 minutes (33 a second)
    for (let h = 0; h < 20; h++) windows[`host-${h}.example.com`] = { sent: Array.from({ length: 10_000 }, (_, k) => at - FIVE_MINUTES + k * 30) };
    const text = encodeHandover({ at, windows }) as string;
    expect(text.length).toBeLessThanOrEqual(MAX_HANDOVER_BYTES);
    const kept = Object.values(decodeHandover(text, at, FIVE_MINUTES)?.windows ?? {});
    expect(kept.length).toBeGreaterThan(0);
    for (const w of kept) {
      expect(w.sent).toHaveLength(MAX_HANDOVER_CALLS_PER_WINDOW);
      expect(w.sent.at(-1)).toBe(at - FIVE_MINUTES + 9_999 * 30);
    }
  });

  it("round-trips each window's namespaces, and reads a record that names none (an older leader's)", () => {
    const withTenants: BudgetHandover = {
      at: record.at,
      windows: {
        'a.example.com': { sent: [record.at - 1_000], tenants: ['team-a', 'team-b'] },
        'b.example.com': { sent: [record.at - 2_000], tenants: ['team-b'] },
      },
    };
    expect(decodeHandover(encodeHandover(withTenants) as string, record.at, FIVE_MINUTES)).toEqual(withTenants);
    const older = JSON.stringify({ v: 1, at: record.at, w: { 'a.example.com': { s: [-1_000] } } });
    expect(decodeHandover(older, record.at, FIVE_MINUTES)).toEqual({ at: record.at, windows: { 'a.example.com': { sent: [record.at - 1_000] } } });
  });

  it('nothing to hand over writes nothing', () => {
    expect(encodeHandover({ at: 0, windows: {} })).toBeUndefined();
    expect(encodeHandover({ at: 0, windows: { h: { sent: [] } } })).toBeUndefined();
  });

  it.each([
    ['not JSON', '{'],
    ['another version', JSON.stringify({ v: 2, at: 1, w: {} })],
    ['a time that is not a number', JSON.stringify({ v: 1, at: 1, w: { h: { s: ['x'] } } })],
    ['too many entries', JSON.stringify({ v: 1, at: 1, w: { h: { s: Array.from({ length: MAX_HANDOVER_CALLS_PER_WINDOW + 1 }, () => 0) } } })],
  ])('an unreadable record (%s) is ignored', (_, text) => {
    expect(decodeHandover(text, 1, FIVE_MINUTES)).toBeUndefined();
  });

  it('a window that does not fit is left out, and the others are still read', () => {
    const text = JSON.stringify({
      v: 1,
      at: record.at,
      w: { 'a.example.com': { s: [-1_000] }, 'b.example.com': { s: [-2_000], p: 200_000_000 }, [`https://${'x'.repeat(600)}`]: { s: [-3_000] } },
    });
    expect(decodeHandover(text, record.at, FIVE_MINUTES)).toEqual({ at: record.at, windows: { 'a.example.com': { sent: [record.at - 1_000] } } });
  });

  it('a window no leader writes (whoever may write the Lease wrote it) is left out: calls dated after the record, a pause or a halved window past an hour', () => {
    const text = JSON.stringify({
      v: 1,
      at: record.at,
      w: {
        'a.example.com': { s: [-1_000, 1] },
        'future.example.com': { s: [-1_000, 80_000_000] },
        'paused.example.com': { s: [], p: 80_000_000 },
        'halved.example.com': { s: [], k: [1, 80_000_000] },
      },
    });
    expect(decodeHandover(text, record.at, FIVE_MINUTES)).toEqual({ at: record.at, windows: { 'a.example.com': { sent: [record.at - 1_000, record.at + 1] } } });
  });

  it('a record older than the window, or from a clock far ahead, says nothing about the window', () => {
    const text = encodeHandover(record) as string;
    expect(decodeHandover(text, record.at + FIVE_MINUTES + 1, FIVE_MINUTES)).toBeUndefined();
    expect(decodeHandover(text, record.at - FIVE_MINUTES - 1, FIVE_MINUTES)).toBeUndefined();
  });
});

describe("a tenant's host cannot cost other tenants the handover", () => {
  const SHARED = 'https://adb-1.azuredatabricks.net';
  const HOSTILE = 'https://workspace.tenant-a.example';

  /** The shared workspace accepts every update; the tenant's own host answers each with a 429 of its choosing. */
  class TwoHosts extends HttpTransport {
    constructor(private readonly refusal: string) {
      super();
    }
    override async send(origin: string, req: HttpRequest): Promise<HttpResponse> {
      if (origin === HOSTILE) return { status: 429, headers: {}, bodyText: this.refusal };
      const name = req.path.split('/')[4];
      return { status: 200, headers: {}, bodyText: JSON.stringify({ name, state: { ready: 'READY', config_update: 'IN_PROGRESS' } }) };
    }
  }

  const config = { served_entities: [{ entity_name: 'main.default.llama', entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 100 }] };

  it.each([
    ['a RetryInfo delay of 100,000 s (28 hours)', '100000s'],
    ['a RetryInfo delay of 400 digits', `1${'0'.repeat(400)}s`],
  ])("another tenant's calls on a shared host are still handed over after its own host answers 429 with %s", async (_, delay) => {
    const clock = new FakeClock(1_000_000);
    const transport = new TwoHosts(JSON.stringify({
      error_code: 'REQUEST_LIMIT_EXCEEDED',
      message: 'slow down',
      details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retry_delay: delay }],
    }));
    const budgets = new RateBudgetRegistry(clock, undefined, { mutationsPer5Minutes: 2 });
    const client = (host: string, token: string) => new DatabricksClient({ host, auth: { type: 'pat', token }, transport, clock, budgets, maxBudgetWaitMs: 0 });
    // tenant B fills the shared workspace's window
    const b = client(SHARED, 'dapi-b');
    await b.updateConfig('b-1', config, { budgetHolder: 'team-b/one', budgetTenant: 'team-b' });
    await b.updateConfig('b-2', config, { budgetHolder: 'team-b/two', budgetTenant: 'team-b' });
    // tenant A's own host answers its update with the delay it chose
    await client(HOSTILE, 'dapi-a').updateConfig('a-1', config, { budgetHolder: 'team-a/one', budgetTenant: 'team-a' }).catch(() => undefined);
    await clock.advance(5_000);

    const text = encodeHandover(budgets.handover()) as string;
    const decoded = decodeHandover(text, clock.now(), FIVE_MINUTES + MARGIN);
    expect(decoded?.windows[SHARED]?.sent).toHaveLength(2);
    const after = new RateBudgetRegistry(clock, undefined, { mutationsPer5Minutes: 2 });
    if (decoded) after.seed(decoded);
    // the successor counts B's two updates: its next one waits for the first to leave the window
    expect(await waitOf(acquireAll(after.forHost(SHARED).mutation, clock, { maxWaitMs: 0, holder: 'team-b/three' }))).toBe(FIVE_MINUTES + MARGIN - 5_000);
  });
});

describe('the record is shared between namespaces', () => {
  it("a namespace with more busy hosts than a record holds cannot push another namespace's host out of it", async () => {
    const clock = new FakeClock(1_000_000);
    const before = new RateBudgetRegistry(clock, undefined, { mutationsPer5Minutes: 10 });
    const shared = before.forHost('https://adb-1.azuredatabricks.net');
    // team-a's 1,000 hosts of its own (a wildcard name and certificate) each take 10 calls in the window; team-b's
    // workspace takes 5
    const own = Array.from({ length: 1_000 }, (_, i) => before.forHost(`https://ws-${i}.tenant-a.example`));
    for (let round = 0; round < 10; round++) {
      for (const budgets of own) await acquireAll(budgets.mutation, clock, { maxWaitMs: 0, tenant: 'team-a' });
      if (round < 5) await acquireAll(shared.mutation, clock, { maxWaitMs: 0, tenant: 'team-b' });
      await clock.advance(20_000);
    }
    const text = encodeHandover(before.handover()) as string;
    expect(text.length).toBeLessThanOrEqual(MAX_HANDOVER_BYTES);
    const after = new RateBudgetRegistry(clock, undefined, { mutationsPer5Minutes: 10 });
    const decoded = decodeHandover(text, clock.now(), FIVE_MINUTES + MARGIN);
    if (decoded) after.seed(decoded);
    // the successor counts team-b's 5 calls: 5 more go out, the sixth waits for the first to leave the window
    const next = after.forHost('https://adb-1.azuredatabricks.net');
    for (let i = 0; i < 5; i++) expect(await waitOf(acquireAll(next.mutation, clock, { maxWaitMs: 0, tenant: 'team-b' }))).toBe(0);
    expect(await waitOf(acquireAll(next.mutation, clock, { maxWaitMs: 0, tenant: 'team-b' }))).toBeGreaterThan(0);
  });
});
