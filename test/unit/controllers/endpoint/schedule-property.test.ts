// The schedule planner against a brute-force reference, minute by minute, on random schedules: overlapping windows,
// rises and falls, windows that wrap midnight, the night of a DST change in Berlin or New York, lead times up to 3 hours.
// The reference knows nothing of cron or of the planner's search: it plays the wall clock minute by minute (Intl),
// opens and closes each window as its times pass, and applies the rule of the lead time as stated:
//   at t, apply what is in effect at t, unless a higher value takes effect within (t, t + leadTime]: then the
//   highest such (the earliest of equals); the next change is the first instant at which that answer changes.
import { describe, expect, it } from 'vitest';
import { Schedule, type Throughput } from '../../../../src/api/v1alpha1/index.js';
import { resolveSchedule } from '../../../../src/controllers/endpoint/schedule.js';
import { seededRandom } from '../../../../src/emulator/rng.js';

const MINUTE = 60_000;
const DAY = 1440;
const DAY_NUMBERS = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 } as const;
type Day = keyof typeof DAY_NUMBERS;

interface Window {
  name: string;
  days?: Day[];
  start: string;
  end: string;
  level: number;
}
interface Case {
  seed: number;
  timeZone: string;
  leadMinutes: number;
  baseLevel: number;
  windows: Window[];
  /** The first minute compared. */
  from: number;
}

const throughput = (level: number): Throughput => ({ chunks: { min: level, max: level } });

// Days around a DST change (and one without), as the first instant compared.
const PERIODS: [string, string][] = [
  ['Europe/Berlin', '2027-03-27T12:00:00Z'], // spring forward on the 28th, 02:00 -> 03:00
  ['Europe/Berlin', '2026-10-24T12:00:00Z'], // fall back on the 25th, 03:00 -> 02:00
  ['America/New_York', '2027-03-13T12:00:00Z'], // spring forward on the 14th
  ['America/New_York', '2026-10-31T12:00:00Z'], // fall back on 1 November
  ['UTC', '2026-03-02T00:00:00Z'],
];
const LEADS = [0, 5, 10, 20, 30, 45, 60, 90, 120, 180];

function randomCase(seed: number): Case {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random.next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  // Hours around the DST changes (01:00-03:59) half the time; minutes on a 5-minute grid or any minute.
  const time = () => {
    const hour = random.next() < 0.5 ? 1 + int(3) : int(24);
    const minute = random.next() < 0.7 ? 5 * int(12) : int(60);
    return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
  };
  const [timeZone, from] = pick(PERIODS);
  const windows: Window[] = [];
  for (let i = 0, n = 1 + int(4); i < n; i++) {
    const start = time();
    // short windows (minutes), a few hours, or most of a day: ends wrap midnight when before the start
    const end = random.next() < 0.4 ? addMinutes(start, 5 + int(40)) : time();
    const days = random.next() < 0.2 ? (Object.keys(DAY_NUMBERS) as Day[]).filter(() => random.next() < 0.6) : [];
    windows.push({ name: `w${i}`, start, end, level: 1 + int(5), ...(days.length > 0 && { days }) });
  }
  return { seed, timeZone, leadMinutes: pick(LEADS), baseLevel: 1 + int(5), windows, from: Date.parse(from) / MINUTE };
}

function addMinutes(time: string, minutes: number): string {
  const [h, m] = time.split(':').map(Number) as [number, number];
  const total = (h * 60 + m + minutes) % DAY;
  return `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
}

/** The wall-clock reading of a minute in a time zone: minutes since the epoch of a UTC clock that reads the same. */
function wallMinutes(minute: number, timeZone: string, format: Intl.DateTimeFormat): number {
  const part: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(minute * MINUTE))) if (p.type !== 'literal') part[p.type] = Number(p.value);
  return Date.UTC(part['year'] as number, (part['month'] as number) - 1, part['day'], part['hour'], part['minute']) / MINUTE;
}

/**
 * What is in effect each minute from `first` for `count` minutes: the index of the first open window, or -1 for
 * spec.throughput. A window's time happens in the minute the wall clock first reaches it: once in the hour a
 * fall-back change repeats (the first pass), and as the hour a spring-forward change skips ends. Times that happen in
 * the same minute happen in their wall-clock order, an end before a start of the same time (a window 08:00-08:00 is
 * open all day). Played from two days before, when every window is closed.
 */
function inEffect(c: Case, first: number, count: number): Int8Array {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: c.timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
  const minutesOf = (time: string) => {
    const [h, m] = time.split(':').map(Number) as [number, number];
    return h * 60 + m;
  };
  const open = c.windows.map(() => false);
  const result = new Int8Array(count);
  const warmUp = 2 * DAY;
  let reached = wallMinutes(first - warmUp - 1, c.timeZone, format);
  for (let minute = first - warmUp; minute < first + count; minute++) {
    const wall = wallMinutes(minute, c.timeZone, format);
    const events: { at: number; kind: 0 | 1; index: number }[] = []; // kind 0: end, 1: start
    for (const [index, w] of c.windows.entries()) {
      for (const dayStart of [Math.floor(wall / DAY) * DAY, Math.floor(wall / DAY) * DAY - DAY]) {
        const weekday = new Date(dayStart * MINUTE).getUTCDay();
        const start = dayStart + minutesOf(w.start);
        const end = dayStart + minutesOf(w.end);
        if (start > reached && start <= wall && (!w.days || w.days.some((d) => DAY_NUMBERS[d] === weekday))) events.push({ at: start, kind: 1, index });
        if (end > reached && end <= wall) events.push({ at: end, kind: 0, index });
      }
    }
    events.sort((a, b) => a.at - b.at || a.kind - b.kind);
    for (const e of events) open[e.index] = e.kind === 1;
    reached = Math.max(reached, wall);
    if (minute >= first) result[minute - first] = open.indexOf(true);
  }
  return result;
}

/** The reference: what applies each minute (window index or -1), by the rule of the lead time. */
function applicable(c: Case, effect: Int8Array): Int8Array {
  const level = (w: number) => (w < 0 ? c.baseLevel : (c.windows[w] as Window).level);
  const result = new Int8Array(effect.length - c.leadMinutes);
  for (let t = 0; t < result.length; t++) {
    const now = effect[t] as number;
    let best = now;
    for (let k = 1; k <= c.leadMinutes; k++) {
      const then = effect[t + k] as number;
      if (level(then) > level(now) && level(then) > level(best)) best = then;
    }
    result[t] = best;
  }
  return result;
}

const COMPARED = DAY; // from noon (UTC) the day before the DST change, through its night
const AHEAD = 9 * DAY; // to find the next change (a window on some days only)
const CASES = 16;

describe('the schedule planner against a minute-by-minute reference', () => {
  // the example of two rises within one lead time, then random ones
  const example: Case = {
    seed: 0,
    timeZone: 'Europe/Berlin',
    leadMinutes: 20,
    baseLevel: 1,
    windows: [
      { name: 'high', start: '08:10', end: '11:00', level: 3 },
      { name: 'mid', start: '08:00', end: '12:00', level: 2 },
    ],
    from: Date.parse('2027-03-27T12:00:00Z') / MINUTE,
  };
  const cases = [example, ...Array.from({ length: CASES }, (_, i) => randomCase(1000 + i))];
  let compared = 0;
  let refused = 0;
  let checkedRefusals = 0;

  it.each(cases.map((c) => [c === example ? 'mid 08:00-12:00 and high 08:10-11:00, 20m lead' : `random schedule ${c.seed}`, c] as const))('%s', (_name, c) => {
    const schedule = Schedule.parse({
      timeZone: c.timeZone,
      leadTime: `${c.leadMinutes}m`,
      windows: c.windows.map(({ level, ...w }) => ({ ...w, throughput: throughput(level) })),
    });
    const base = throughput(c.baseLevel);
    const expected = applicable(c, inEffect(c, c.from, COMPARED + AHEAD + c.leadMinutes));
    const name = (w: number) => (w < 0 ? undefined : c.windows[w]?.name);
    // A schedule refused for a window that never applies: through the time the message says it would serve, the
    // reference does not apply it either (on another day, a DST night, it may: one such day is enough to refuse).
    const refusal = resolveSchedule(schedule, base, new Date(c.from * MINUTE));
    const never = !refusal.ok ? /^schedule window "([^"]+)" never applies: it serves (?:(\d+)h)?(\d+)m from (\S+?)[ ,]/.exec(refusal.message) : null;
    if (never) {
      const [, window, hours, minutes, from] = never;
      const first = Date.parse(from as string) / MINUTE - c.from;
      const served = Array.from(expected.slice(Math.max(0, first), Math.max(0, first + Number(hours ?? 0) * 60 + Number(minutes))), (w) => name(w));
      expect(served, refusal.ok ? '' : refusal.message).not.toContain(window);
      checkedRefusals += served.length > 0 ? 1 : 0;
    }
    const mismatches: string[] = [];
    for (let t = 0; t < COMPARED && mismatches.length < 5; t++) {
      const now = new Date((c.from + t) * MINUTE);
      const result = resolveSchedule(schedule, base, now);
      if (!result.ok) {
        refused++;
        continue;
      }
      compared++;
      const want = expected[t] as number;
      let change = t + 1;
      while (change < expected.length && expected[change] === want) change++;
      const got = result.state;
      const wantNext = change < expected.length ? { at: new Date((c.from + change) * MINUTE).toISOString(), window: name(expected[change] as number) } : undefined;
      const gotNext = got.next && { at: got.next.at.toISOString(), window: got.next.window };
      // the planner's search may give up on a change days away (a window on some days only): it looks again then
      const gaveUp = !got.next && wantNext !== undefined && change - t > 3 * DAY;
      if (got.window !== name(want) || (!gaveUp && JSON.stringify(gotNext) !== JSON.stringify(wantNext))) {
        mismatches.push(`at ${now.toISOString()}: planner ${got.window ?? '-'} next ${JSON.stringify(gotNext)}, reference ${name(want) ?? '-'} next ${JSON.stringify(wantNext)}`);
      }
    }
    expect(mismatches, JSON.stringify(c)).toEqual([]);
  }, 60_000);

  // Random windows overlap and lead times reach 3 hours, so some never apply (6 of 17: no longer than the lead time
  // before a rise, themselves or in what the windows listed before them leave): refusals whose time falls in the
  // days the reference plays are checked against it above.
  it('compared most minutes (few schedules refused: a window no longer than the lead time before a rise)', () => {
    expect(compared).toBeGreaterThan(refused * 1.5);
    expect(checkedRefusals).toBeGreaterThan(0);
  });
});
