// resolveSchedule keeps a resolution until its next change. A resolution that names no next change because the search
// gave up (MAX_CHANGE_POINTS passed without a change: a window shadowed by one listed before it) is not "for ever":
// worked out again later, it finds the change. Kept, it would hold the window in effect after it closed.
import { describe, expect, it } from 'vitest';
import { Schedule, type Throughput } from '../../../../src/api/v1alpha1/index.js';
import { resolveSchedule } from '../../../../src/controllers/endpoint/schedule.js';

const BASE: Throughput = { chunks: { min: 1, max: 1 } };
const SEASON: Throughput = { chunks: { min: 6, max: 8 } };
const DAY: Throughput = { chunks: { min: 2, max: 4 } };

// 'season' is open January to November; 'day' (listed after it) opens and closes every day inside it, so from June
// the next change (season closing on 1 December) lies beyond the change points the search looks at.
const schedule = Schedule.parse({
  timeZone: 'UTC',
  windows: [
    { name: 'season', start: '0 0 1 1 *', end: '0 0 1 12 *', throughput: SEASON },
    { name: 'day', start: '08:00', end: '20:00', throughput: DAY },
  ],
});

const windowAt = (time: string) => {
  const result = resolveSchedule(schedule, BASE, new Date(time));
  if (!result.ok) throw new Error(result.message);
  return result.state.window;
};

describe('the schedule resolution cache', () => {
  it('does not keep the season window after it closed, when the earlier resolution found no next change', () => {
    expect(windowAt('2026-06-01T12:00:00Z')).toBe('season');
    // what a fresh resolution says on 2 December at noon: the season closed, the day window is open
    expect(windowAt('2026-12-02T12:00:00Z')).toBe('day');
  });
});
