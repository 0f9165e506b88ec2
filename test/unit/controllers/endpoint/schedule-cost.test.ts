// A schedule is worked out inside a reconcile, on the operator's one event loop, which every tenant's objects share:
// one whose windows open and close so often that working out its lead time takes seconds would stall every other
// endpoint (and the leader Lease) meanwhile. Such a schedule is refused (InvalidSpec) after a bounded amount of work,
// with what to change, and a usual schedule is not.
import { describe, expect, it } from 'vitest';
import { Schedule, type Throughput } from '../../../../src/api/v1alpha1/index.js';
import { resolveSchedule } from '../../../../src/controllers/endpoint/schedule.js';

const LOW: Throughput = { chunks: { min: 1, max: 1 } };
const BASE: Throughput = { chunks: { min: 1, max: 2 } };
const HIGH: Throughput = { chunks: { min: 3, max: 4 } };

/** `n` windows, alternately below and above spec.throughput, each opening at the `at(i)` and closing at `until(i)`. */
const windows = (n: number, at: (i: number) => string, until: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => ({ name: `w${i}`, start: at(i), end: until(i), throughput: i % 2 ? HIGH : LOW }));

/** Above what a resolution stopped by its budget takes (some seconds on a busy machine), below the 20 s to minutes these took unbounded. */
const QUICK_MS = 10_000;

describe('a schedule too costly to work out is refused quickly', () => {
  const costly = {
    'two windows every second, leadTime 24h': { leadTime: '24h', windows: windows(2, (i) => `${2 * i} * * * * *`, (i) => `${2 * i + 1} * * * * *`) },
    'four windows every minute, leadTime 24h': { leadTime: '24h', windows: windows(4, (i) => `${2 * i} * * * *`, (i) => `${2 * i + 1} * * * *`) },
    'sixteen windows every hour, leadTime 2h': { leadTime: '2h', windows: windows(16, (i) => `${3 * i} * * * *`, (i) => `${3 * i + 2} * * * *`) },
  };

  it.each(Object.entries(costly))('%s', (_name, input) => {
    const schedule = Schedule.parse(input);
    const started = performance.now();
    const result = resolveSchedule(schedule, BASE, new Date('2026-03-02T07:00:00Z'));
    const again = resolveSchedule(schedule, BASE, new Date('2026-03-02T07:05:00Z'));
    expect(performance.now() - started).toBeLessThan(QUICK_MS);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.message).toMatch(/^schedule windows open and close too often to be worked out with leadTime "(24h|2h)": .*shorter leadTime/);
    expect(again).toEqual(result);
  });
});

// Within the budget, but its next change is never found (every change point keeps the same window), so nothing could be
// kept for the next reconcile: each one worked it out again, for seconds.
describe('a schedule whose next change is not found, at a cost, is refused too', () => {
  it('one window opening and closing every second, leadTime 20m', () => {
    const schedule = Schedule.parse({ leadTime: '20m', windows: windows(1, () => '* * * * * *', () => '* * * * * *') });
    const started = performance.now();
    const results = [0, 1, 2].map((s) => resolveSchedule(schedule, BASE, new Date(Date.parse('2026-03-02T07:00:00Z') + s * 1000)));
    expect(performance.now() - started).toBeLessThan(QUICK_MS);
    for (const result of results) expect(result.ok ? '' : result.message).toMatch(/^schedule windows open and close too often to be worked out with leadTime "20m"/);
  });
});

describe('a usual schedule is worked out as before', () => {
  it('sixteen windows of an hour each on weekdays, leadTime 30m', () => {
    const schedule = Schedule.parse({
      leadTime: '30m',
      windows: windows(16, (i) => `${String(i + 4).padStart(2, '0')}:00`, (i) => `${String(i + 4).padStart(2, '0')}:59`).map((w) => ({ ...w, days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] })),
    });
    const result = resolveSchedule(schedule, BASE, new Date('2026-03-02T07:10:00Z'));
    expect(result).toMatchObject({ ok: true, state: { window: 'w3', throughput: HIGH, next: { at: new Date('2026-03-02T07:59:00Z') } } });
  });
});

// The lead-time rules walk the times after every change point, and those walks meet on the same window times: looked up
// again each time, a schedule of two windows, one every ten minutes, under a lead time of 2h was worked out at midnight
// and refused as too costly four hours later (refused for good, since a refusal is kept): an endpoint serving it turned
// InvalidSpec in the middle of the day. Whether a schedule is worked out must not depend on the hour it is looked at.
describe('a schedule worked out once is worked out at every hour of the week', () => {
  it('a nightly window and one every ten minutes, leadTime 2h', () => {
    const schedule = Schedule.parse({
      leadTime: '2h',
      timeZone: 'UTC',
      windows: [
        { name: 'nightly', start: '0 0 * * *', end: '30 5 * * *', throughput: HIGH },
        { name: 'bursts', start: '*/10 * * * *', end: '5-59/10 * * * *', throughput: { chunks: { min: 5, max: 6 } } },
      ],
    });
    const at = ['2026-03-02T00:00:00Z', '2026-03-02T04:00:00Z', '2026-03-02T05:29:00Z', '2026-03-05T13:07:00Z', '2026-03-08T23:59:00Z'];
    const results = at.map((moment) => resolveSchedule(schedule, BASE, new Date(moment)));
    expect(results.map((r) => (r.ok ? 'ok' : r.message))).toEqual(at.map(() => 'ok'));
    // From 03:30 the bursts' rise (at 05:30, when the nightly window no longer shadows them) is within the lead time;
    // at 23:59 the nightly window's, and the bursts it shadows until 05:30 are not.
    expect(results.map((r) => r.ok && r.state.window)).toEqual(['nightly', 'bursts', 'bursts', 'bursts', 'nightly']);
  });
});

