// When schedule windows open and close: cron arithmetic and time zones from cron-parser (IANA zones, DST), with the
// wall-clock rules of cron (wall-clock.ts) where a daylight-saving change skips or repeats a window's time; and which
// window is in effect at an instant. Pure (the clock is an argument). The lead time's rules are in schedule.ts.
import { type CronExpression, CronExpressionParser } from 'cron-parser';
import { firstPassOf, gapEnd, wallClock } from './wall-clock.js';
import { MAX_LEAD_TIME, parseDurationMs, type Schedule, type ScheduleWindow, type Throughput, TIME_OF_DAY_PATTERN } from '../../api/v1alpha1/index.js';

/** What applies at one moment: a window, or spec.throughput (window undefined). */
export interface ScheduledThroughput {
  window?: string;
  throughput: Throughput;
}

export interface CompiledWindow {
  name: string;
  start: string;
  end: string;
  throughput: Throughput;
}

export interface Compiled {
  timeZone: string;
  leadMs: number;
  windows: CompiledWindow[];
}

const DAY_NUMBERS = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 } as const;
const MAX_LEAD_MS = parseDurationMs(MAX_LEAD_TIME);

/**
 * Schedules compiled, by content: parsing each window's cron expressions takes about a millisecond each, on every
 * reconcile of every scheduled endpoint otherwise (most of them answered from resolveSchedule's cache after it).
 */
const compiledByContent = new Map<string, Compiled | { message: string }>();
const COMPILED_MAX = 10_000;

/** The schedule with its windows as cron expressions, or why it cannot be read (what to fix). */
export function compile(schedule: Schedule): Compiled | { message: string } {
  const key = JSON.stringify(schedule);
  const known = compiledByContent.get(key);
  if (known) return known;
  const compiled = compileUncached(schedule);
  if (compiledByContent.size >= COMPILED_MAX) compiledByContent.delete(compiledByContent.keys().next().value as string);
  compiledByContent.set(key, compiled);
  return compiled;
}

function compileUncached(schedule: Schedule): Compiled | { message: string } {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: schedule.timeZone });
  } catch {
    return { message: `schedule.timeZone "${schedule.timeZone}" is not an IANA time zone such as Europe/Berlin or America/New_York` };
  }
  const windows: CompiledWindow[] = [];
  for (const [index, window] of schedule.windows.entries()) {
    const compiled = compileWindow(window);
    for (const field of ['start', 'end'] as const) {
      try {
        CronExpressionParser.parse(compiled[field], { tz: schedule.timeZone, strict: false });
      } catch (err) {
        return { message: `schedule.windows[${index}].${field} "${window[field]}" is not a valid cron expression: ${(err as Error).message}` };
      }
    }
    windows.push(compiled);
  }
  const leadMs = parseDurationMs(schedule.leadTime);
  if (leadMs > MAX_LEAD_MS) return { message: `schedule.leadTime "${schedule.leadTime}" is longer than a day: give it the time a rollout needs, such as 20m` };
  return { timeZone: schedule.timeZone, leadMs, windows };
}

/** HH:MM windows become cron: the start on the given days, the end on any day (so 22:00-02:00 ends next morning). */
function compileWindow(window: ScheduleWindow): CompiledWindow {
  if (!new RegExp(TIME_OF_DAY_PATTERN).test(window.start)) return { name: window.name, start: window.start, end: window.end, throughput: window.throughput };
  const cron = (time: string, days: string) => {
    const [hours, minutes] = time.split(':').map(Number);
    return `${minutes} ${hours} * * ${days}`;
  };
  const days = window.days ? window.days.map((d) => DAY_NUMBERS[d]).join(',') : '*';
  return { name: window.name, start: cron(window.start, days), end: cron(window.end, '*'), throughput: window.throughput };
}


/**
 * Occurrences one resolution of a schedule may look up. Reconciles of every tenant share the operator's one event loop,
 * and windows that open and close every minute (or second) under a long lead time took seconds to minutes to work out
 * (the lead-time rules look at every change within a lead time of every change), while nothing else ran. A look-up
 * takes some tens of microseconds; before boundaries were kept (boundary) a usual schedule needed some thousands (16 hour-long windows on weekdays with a lead
 * time of 30m: about 9,000 once a day, far fewer after that), and 16 overlapping windows under a lead time of 2h about
 * 40,000, so the budget stops a resolution after about a second (parsed expressions are kept, parsedAt).
 */
export const OCCURRENCE_BUDGET = 50_000;
let occurrencesLeft = Number.POSITIVE_INFINITY;

/** Thrown inside withinOccurrenceBudget when the budget is spent. */
class OccurrenceBudgetSpent extends Error {}

/** Counts one occurrence looked up; outside the try blocks that read a cron error as "no occurrence". */
function lookUp(): void {
  occurrencesLeft--;
  if (occurrencesLeft < 0) budgetSpent();
}

/** Look-ups taken so far by the work withinOccurrenceBudget runs. */
export const occurrencesUsed = (): number => OCCURRENCE_BUDGET - occurrencesLeft;

/** Makes the work withinOccurrenceBudget runs end as if it had used up its budget. */
export function budgetSpent(): never {
  throw new OccurrenceBudgetSpent('schedule occurrence budget spent');
}

/** `work()`, allowed `budget` occurrence look-ups; undefined when it needed more (or called budgetSpent). */
export function withinOccurrenceBudget<T>(work: () => T, budget = OCCURRENCE_BUDGET): T | undefined {
  const outer = occurrencesLeft;
  occurrencesLeft = budget;
  try {
    return work();
  } catch (err) {
    if (err instanceof OccurrenceBudgetSpent) return undefined;
    throw err;
  } finally {
    occurrencesLeft = outer;
  }
}

/** cron-parser's occurrences of `expression` after `from`, one at a time (undefined when there are no more). */
export function occurrences(expression: string, timeZone: string, from: Date): () => Date | undefined {
  lookUp();
  const iterator = CronExpressionParser.parse(expression, { currentDate: from, tz: timeZone, strict: false });
  return () => {
    lookUp();
    try {
      return iterator.next().toDate();
    } catch {
      return undefined; // no further occurrence
    }
  };
}

/**
 * Parsed expressions, by time zone and expression, for the one-shot look-ups below (reset to each `from`): parsing took
 * about four times as long as the look-up itself, and a resolution makes thousands. Bounded: emptied past PARSED_KEPT.
 */
const parsed = new Map<string, CronExpression>();
const PARSED_KEPT = 1_000;

function parsedAt(expression: string, timeZone: string, from: Date): CronExpression {
  const key = `${timeZone}\u0000${expression}`;
  let cron = parsed.get(key);
  if (!cron) {
    if (parsed.size >= PARSED_KEPT) parsed.clear();
    cron = CronExpressionParser.parse(expression, { currentDate: from, tz: timeZone, strict: false });
    parsed.set(key, cron);
  } else cron.reset(from);
  return cron;
}

/**
 * The occurrence of `expression` next to `from`. cron-parser's next() runs a fixed-time expression once in the hour a
 * fall-back change repeats, as cron does (a wildcard hour runs in both passes), but its prev() also yields the second
 * pass: an occurrence that next() from the first pass skips is passed over, so a window opens once and as announced.
 */
function occurrence(expression: string, timeZone: string, from: Date, direction: 'next' | 'prev'): Date | undefined {
  lookUp();
  try {
    const iterator = parsedAt(expression, timeZone, from);
    if (direction === 'next') return iterator.next().toDate();
    for (;;) {
      const candidate = iterator.prev().toDate();
      const firstPass = firstPassOf(candidate.getTime(), timeZone);
      if (firstPass === undefined) return candidate;
      const afterFirstPass = CronExpressionParser.parse(expression, { currentDate: new Date(firstPass), tz: timeZone, strict: false });
      if (afterFirstPass.next().toDate().getTime() === candidate.getTime()) return candidate;
    }
  } catch {
    return undefined; // no occurrence (e.g. 30 February)
  }
}

/**
 * A window's start or end next to `from`, also when its wall-clock time is one a spring-forward change skips: then it
 * happens as that gap ends (wall-clock.ts), where cron-parser would skip the day (a start) or move it an hour on.
 */
export function boundary(expression: string, timeZone: string, from: Date, direction: 'next' | 'prev'): Date | undefined {
  const key = `${direction}\u0000${from.getTime()}\u0000${timeZone}\u0000${expression}`;
  const known = boundaries.get(key);
  if (known !== undefined) {
    lookUp(); // cheaper than a look-up made, but a walk over them is bounded too
    return Number.isNaN(known) ? undefined : new Date(known);
  }
  const result = boundaryLookedUp(expression, timeZone, from, direction);
  if (boundaries.size >= BOUNDARIES_KEPT) boundaries.clear();
  boundaries.set(key, result?.getTime() ?? Number.NaN);
  return result;
}

/**
 * Boundaries already worked out, by direction, moment, zone and expression (a pure function of them; NaN: none): the
 * lead-time rules walk the times after each change point, and walks from different points meet on the same
 * boundaries, so most repeat. Bounded: emptied past BOUNDARIES_KEPT. One kept counts as one look-up against the budget.
 */
const boundaries = new Map<string, number>();
const BOUNDARIES_KEPT = 50_000;

function boundaryLookedUp(expression: string, timeZone: string, from: Date, direction: 'next' | 'prev'): Date | undefined {
  const usual = occurrence(expression, timeZone, from, direction);
  const wall = occurrence(expression, 'UTC', new Date(wallClock(from.getTime(), timeZone)), direction);
  const end = wall && gapEnd(wall.getTime(), timeZone);
  const skipped = end === undefined ? undefined : new Date(end);
  if (!skipped || (direction === 'prev' ? skipped >= from : skipped <= from)) return usual; // strict, as cron-parser's
  if (!usual) return skipped;
  return direction === 'prev' ? (skipped > usual ? skipped : usual) : skipped < usual ? skipped : usual;
}

/**
 * A window's end: the first after its start. A start that a spring-forward gap moved to the instant the clock jumps
 * counts at the wall-clock time it stands for, so an end in the same gap closes the window there too (cron runs both
 * as the gap ends) rather than the next night.
 */
export function endAfter(window: CompiledWindow, timeZone: string, start: Date): Date | undefined {
  const usual = boundary(window.end, timeZone, start, 'next');
  const at = start.getTime();
  const startWall = wallClock(at, timeZone);
  if (startWall - wallClock(at - 1, timeZone) === 1) return usual; // the clock does not jump at the start
  const nominalStart = occurrence(window.start, 'UTC', new Date(startWall), 'prev');
  const wallEnd = nominalStart && occurrence(window.end, 'UTC', nominalStart, 'next');
  const inGap = wallEnd && gapEnd(wallEnd.getTime(), timeZone);
  return inGap !== undefined && inGap >= at && (!usual || inGap < usual.getTime()) ? new Date(inGap) : usual;
}

/** The open interval of `window` that contains `at` (its own start and end, no lead time). */
export function openInterval(compiled: Compiled, window: CompiledWindow, at: Date): { opens: Date; closes: Date } | undefined {
  // The latest start at or before `at` (prev() is strict, hence +1 ms).
  const start = boundary(window.start, compiled.timeZone, new Date(at.getTime() + 1), 'prev');
  if (!start) return undefined;
  const end = endAfter(window, compiled.timeZone, start);
  // closed as it opens (both in one DST gap): no time open, so its lead time opens nothing either
  if (!end || end.getTime() <= at.getTime() || end.getTime() <= start.getTime()) return undefined;
  return { opens: start, closes: end };
}

/** What the windows' own times put in effect at `at`: the first open window in the list, else spec.throughput. */
export function inEffectAt(compiled: Compiled, base: Throughput, at: Date): ScheduledThroughput {
  const open = compiled.windows.find((w) => openInterval(compiled, w, at) !== undefined);
  return open ? { window: open.name, throughput: open.throughput } : { throughput: base };
}


/** Boundaries to look at in one lead time, per window: more only for cron windows of a minute or so. */
const MAX_BOUNDARIES_PER_WINDOW = 32;

/** The windows' starts and ends after `from` and no later than `to`, in time order. */
export function boundariesWithin(compiled: Compiled, from: Date, to: Date): Date[] {
  const points: Date[] = [];
  for (const window of compiled.windows) {
    for (const expression of [window.start, window.end]) {
      let next = boundary(expression, compiled.timeZone, from, 'next');
      for (let i = 0; next && next <= to && i < MAX_BOUNDARIES_PER_WINDOW; i++) {
        points.push(next);
        next = boundary(expression, compiled.timeZone, next, 'next');
      }
    }
  }
  return points.sort((a, b) => a.getTime() - b.getTime());
}

