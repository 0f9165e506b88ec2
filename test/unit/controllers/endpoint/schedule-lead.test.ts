// The lead time is there so that more throughput serves when it is due: a change that raises throughput (a window
// opening, or one closing back to more) is sent that much early; a change that only lowers it is sent when due, so
// the throughput in effect is never cut short. Windows that follow each other are judged so whatever their order.
import { describe, expect, it } from 'vitest';
import { Schedule, type Throughput } from '../../../../src/api/v1alpha1/index.js';
import { resolveSchedule, type ScheduleState } from '../../../../src/controllers/endpoint/schedule.js';

const LOW: Throughput = { chunks: { min: 1, max: 2 } };
const HIGH: Throughput = { chunks: { min: 4, max: 6 } };

const schedule = (input: Record<string, unknown>): Schedule => Schedule.parse(input);

function at(s: Schedule, base: Throughput, time: string): ScheduleState {
  const result = resolveSchedule(s, base, new Date(time));
  if (!result.ok) throw new Error(result.message);
  return result.state;
}

const iso = (d: Date | undefined) => d?.toISOString().replace('.000', '');

describe('lead time: early for more throughput, on time for less', () => {
  const day = { name: 'day', start: '08:00', end: '20:00', throughput: HIGH };
  const night = { name: 'night', start: '20:00', end: '08:00', throughput: LOW };
  const orders = { 'day first': [day, night], 'night first': [night, day] };

  describe.each(Object.entries(orders))('day 08:00-20:00 and night 20:00-08:00, 20m lead, %s', (_order, windows) => {
    const s = schedule({ leadTime: '20m', windows });
    const cases: { time: string; window: string; throughput: Throughput; nextAt: string; nextWindow: string }[] = [
      { time: '2026-03-02T07:00:00Z', window: 'night', throughput: LOW, nextAt: '2026-03-02T07:40:00Z', nextWindow: 'day' },
      { time: '2026-03-02T07:40:00Z', window: 'day', throughput: HIGH, nextAt: '2026-03-02T20:00:00Z', nextWindow: 'night' }, // day's lead time
      { time: '2026-03-02T19:40:00Z', window: 'day', throughput: HIGH, nextAt: '2026-03-02T20:00:00Z', nextWindow: 'night' }, // not cut short
      { time: '2026-03-02T20:00:00Z', window: 'night', throughput: LOW, nextAt: '2026-03-03T07:40:00Z', nextWindow: 'day' },
    ];
    it.each(cases)('at $time: $window', ({ time, window, throughput, nextAt, nextWindow }) => {
      const state = at(s, LOW, time);
      expect(state.window).toBe(window);
      expect(state.throughput).toEqual(throughput);
      expect(iso(state.next?.at)).toBe(nextAt);
      expect(state.next?.window).toBe(nextWindow);
    });
  });

  describe('a window with less than spec.throughput (nights at 1-2 chunks, 4-6 otherwise), 20m lead', () => {
    const s = schedule({ leadTime: '20m', windows: [night] });
    const cases: { time: string; window?: string; throughput: Throughput; nextAt: string; nextWindow?: string }[] = [
      { time: '2026-03-02T12:00:00Z', throughput: HIGH, nextAt: '2026-03-02T20:00:00Z', nextWindow: 'night' },
      { time: '2026-03-02T19:40:00Z', throughput: HIGH, nextAt: '2026-03-02T20:00:00Z', nextWindow: 'night' }, // not lowered early
      { time: '2026-03-02T20:00:00Z', window: 'night', throughput: LOW, nextAt: '2026-03-03T07:40:00Z', nextWindow: '(default)' },
      { time: '2026-03-03T07:40:00Z', throughput: HIGH, nextAt: '2026-03-03T20:00:00Z', nextWindow: 'night' }, // back in time for 08:00
    ];
    it.each(cases)('at $time: $throughput.chunks.min-$throughput.chunks.max chunks', ({ time, window, throughput, nextAt, nextWindow }) => {
      const state = at(s, HIGH, time);
      expect(state.window).toBe(window);
      expect(state.throughput).toEqual(throughput);
      expect(iso(state.next?.at)).toBe(nextAt);
      expect(state.next?.window ?? '(default)').toBe(nextWindow ?? '(default)');
    });
  });

  // Two rises within one lead time: the second was sent only when the first was due (08:00), 10 minutes before its
  // window opened instead of 20. Each rise is sent its lead time early; the higher one wins once both are ahead.
  describe('mid 08:00-12:00 and high 08:10-11:00 (listed first), 20m lead: each rise its lead time early', () => {
    const MID: Throughput = { chunks: { min: 2, max: 3 } };
    const s = schedule({
      leadTime: '20m',
      windows: [
        { name: 'high', start: '08:10', end: '11:00', throughput: HIGH },
        { name: 'mid', start: '08:00', end: '12:00', throughput: MID },
      ],
    });
    const cases: { time: string; window?: string; nextAt: string; nextWindow?: string }[] = [
      { time: '2026-03-02T07:30:00Z', nextAt: '2026-03-02T07:40:00Z', nextWindow: 'mid' },
      { time: '2026-03-02T07:40:00Z', window: 'mid', nextAt: '2026-03-02T07:50:00Z', nextWindow: 'high' }, // mid's lead time
      { time: '2026-03-02T07:50:00Z', window: 'high', nextAt: '2026-03-02T11:00:00Z', nextWindow: 'mid' }, // high's lead time
      { time: '2026-03-02T08:00:00Z', window: 'high', nextAt: '2026-03-02T11:00:00Z', nextWindow: 'mid' }, // not back to mid
      { time: '2026-03-02T11:00:00Z', window: 'mid', nextAt: '2026-03-02T12:00:00Z' }, // lowered when due
    ];
    it.each(cases)('at $time: $window', ({ time, window, nextAt, nextWindow }) => {
      const state = at(s, LOW, time);
      expect(state.window).toBe(window);
      expect(iso(state.next?.at)).toBe(nextAt);
      expect(state.next?.window).toBe(nextWindow);
    });
  });

  it('a change that raises one bound and lowers the other is sent early (more of something is due)', () => {
    const s = schedule({ leadTime: '20m', windows: [{ name: 'steady', start: '08:00', end: '20:00', throughput: { chunks: { min: 3, max: 3 } } }] });
    expect(at(s, { chunks: { min: 1, max: 6 } }, '2026-03-02T07:40:00Z').window).toBe('steady');
  });

  it('throughput given in chunks and in tokens/s cannot be compared without the model: the lead time applies', () => {
    const s = schedule({ leadTime: '20m', windows: [{ name: 'day', start: '08:00', end: '20:00', throughput: { tokensPerSecond: { min: 980, max: 1960 } } }] });
    expect(at(s, HIGH, '2026-03-02T07:40:00Z').window).toBe('day');
  });

  it('a window shorter than the lead time still opens a lead time before its start', () => {
    const s = schedule({ leadTime: '20m', windows: [{ name: 'burst', start: '08:00', end: '08:10', throughput: HIGH }] });
    const state = at(s, LOW, '2026-03-02T07:40:00Z');
    expect(state.window).toBe('burst');
    expect(iso(state.next?.at)).toBe('2026-03-02T08:10:00Z');
  });
});
