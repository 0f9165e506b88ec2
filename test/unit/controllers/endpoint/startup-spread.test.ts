import { describe, expect, it } from 'vitest';
import { StartupSpread, type SettledView } from '../../../../src/controllers/endpoint/startup-spread.js';

const POLL = 300_000;
const settled = (overrides: Partial<SettledView> = {}): SettledView => ({
  generation: 2,
  deleting: false,
  hasSchedule: false,
  status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Available', message: '', observedGeneration: 2, lastTransitionTime: '' }] },
  ...overrides,
});

describe('start-up spread', () => {
  it('a settled object is first looked at a random point of the poll interval, then as usual', () => {
    const spread = new StartupSpread();
    expect(spread.firstLookDelayMs('ns/a', settled(), POLL, 0.25)).toBe(75_000);
    expect(spread.firstLookDelayMs('ns/a', settled(), POLL, 0.25)).toBeUndefined();
  });

  it('10,000 settled objects: first looks spread evenly over the interval, not all at once', () => {
    const spread = new StartupSpread();
    const delays = Array.from({ length: 10_000 }, (_, i) => spread.firstLookDelayMs(`ns/e${i}`, settled(), POLL, i / 10_000) ?? 0);
    const perTenth = Array.from({ length: 10 }, (_, t) => delays.filter((d) => d >= (t * POLL) / 10 && d < ((t + 1) * POLL) / 10).length);
    expect(perTenth).toEqual(Array(10).fill(1_000));
  });

  it.each([
    ['a new generation (spec changed while the operator was down)', settled({ generation: 3 })],
    ['a deletion', settled({ deleting: true })],
    ['a rollout pending', settled({ status: { ...settled().status, pending: { startTime: 'x' } } })],
    ['a schedule (a boundary may have passed)', settled({ hasSchedule: true })],
    ['not Ready', settled({ status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Creating', message: '', observedGeneration: 2, lastTransitionTime: '' }] } })],
  ])('%s is looked at at once', (_, object) => {
    expect(new StartupSpread().firstLookDelayMs('ns/a', object, POLL, 0.5)).toBeUndefined();
  });
});
