// Throughput schedules: which throughput spec.schedule asks for at a given time, and when that
// changes next. Pure (the clock is an argument). Cron arithmetic and time zones come from cron-parser
// (IANA zones, DST); Intl checks the zone name first so a typo gets a clear message.
import { CronExpressionParser } from 'cron-parser';
import { firstPassOf, gapEnd, wallClock } from './wall-clock.js';
import { kubeTime } from '../../kube/time.js';
import {
  type EndpointSpec,
  type EndpointStatus,
  MAX_LEAD_TIME,
  parseDurationMs,
  type Schedule,
  type ScheduleWindow,
  type Throughput,
  TIME_OF_DAY_PATTERN,
} from '../../api/v1alpha1/index.js';
import type { ModelOptimizationInfo, ServingEndpointDetailed } from '../../databricks/api-types.js';
import { type Resolution, resolveDesired } from './desired.js';
import type { Observed, Plan, Requeue } from './plan-types.js';

/** What applies at one moment: a window, or spec.throughput (window undefined). */
export interface ScheduledThroughput {
  window?: string;
  throughput: Throughput;
}

export interface ScheduleState extends ScheduledThroughput {
  /** The next moment something else applies (a window opens, lead time included, or closes). */
  next?: { at: Date } & ScheduledThroughput;
}

export type ScheduleResolution = { ok: true; state: ScheduleState } | { ok: false; message: string };

export const DEFAULT_WINDOW_LABEL = '(default)';
/** Change points examined when looking for the next change; windows that only repeat each other end the search. */
const MAX_CHANGE_POINTS = 64;
const DAY_NUMBERS = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 } as const;
const MAX_LEAD_MS = parseDurationMs(MAX_LEAD_TIME);
/** Occurrences of each window whose gaps are checked against the lead time: a week of daily windows. */
const GAPS_CHECKED = 8;


interface CompiledWindow {
  name: string;
  start: string;
  end: string;
  throughput: Throughput;
}

interface Compiled {
  timeZone: string;
  leadMs: number;
  windows: CompiledWindow[];
}

/** The throughput spec.schedule asks for at `now`, and the next change. */
export function resolveSchedule(schedule: Schedule, base: Throughput, now: Date): ScheduleResolution {
  const compiled = compile(schedule);
  if ('message' in compiled) return { ok: false, message: compiled.message };
  const bridged = bridgedGapThisHour(compiled, schedule, now);
  if (bridged) return { ok: false, message: bridged };
  const key = `${JSON.stringify(schedule)}\u0000${JSON.stringify(base)}`;
  const known = resolved.get(key);
  if (known && known.from <= now.getTime() && (!known.state.next || now < known.state.next.at)) return { ok: true, state: known.state };
  const current = applicableAt(compiled, base, now);
  const change = nextChange(compiled, base, now, current);
  const state = { ...current, ...change };
  // a search that gave up is no answer for later: worked out again, it may reach the change it did not
  if (change !== undefined) {
    if (resolved.size >= RESOLVED_MAX) resolved.delete(resolved.keys().next().value as string);
    resolved.set(key, { from: now.getTime(), state });
  }
  return { ok: true, state };
}

/**
 * Resolutions by schedule and spec.throughput: one holds from the moment it was worked out until its next change (or
 * for ever when nothing changes again; one whose search gave up is not kept), so
 * every reconcile until then (of this endpoint, or another with the same schedule) reuses it. Working it out walks
 * each window's starts and ends (some milliseconds), on every reconcile of every scheduled endpoint otherwise.
 */
const resolved = new Map<string, { from: number; state: ScheduleState }>();
const RESOLVED_MAX = 10_000;

function compile(schedule: Schedule): Compiled | { message: string } {
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

const HOUR_MS = 3_600_000;
/** Schedules checked for a bridged gap, by hour and content (insertion order doubles as age). */
const bridgedChecked = new Map<string, string | undefined>();
const BRIDGED_CHECKED_MAX = 10_000;

/**
 * bridgedGap looked for from the start of `now`'s hour, so the answer is the same for every reconcile in that hour
 * and is worked out once per schedule and hour: walking each window's next occurrences costs some milliseconds
 * (4x the rest of resolveSchedule), on every reconcile of every scheduled endpoint otherwise.
 */
function bridgedGapThisHour(compiled: Compiled, schedule: Schedule, now: Date): string | undefined {
  if (compiled.leadMs === 0) return undefined;
  const hour = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  const key = `${hour}\u0000${JSON.stringify(schedule)}`;
  if (bridgedChecked.has(key)) return bridgedChecked.get(key);
  const bridged = bridgedGap(compiled, schedule.leadTime, new Date(hour));
  if (bridgedChecked.size >= BRIDGED_CHECKED_MAX) bridgedChecked.delete(bridgedChecked.keys().next().value as string);
  bridgedChecked.set(key, bridged);
  return bridged;
}

/**
 * A gap between a window's close and its next start that the lead time bridges (20h typed for 20m): the window would
 * never close, its throughput paid around the clock. The next occurrences of each window are looked at (a week of
 * daily ones), so a schedule is refused when it is applied rather than on the night the gap comes. (cron-parser's own
 * occurrences, one iterator each: a DST gap moves them by an hour at most, and this runs on every reconcile.)
 */
function bridgedGap(compiled: Compiled, leadTime: string, now: Date): string | undefined {
  const iterate = (expression: string) => {
    const iterator = CronExpressionParser.parse(expression, { currentDate: now, tz: compiled.timeZone, strict: false });
    return (): Date | undefined => {
      try {
        return iterator.next().toDate();
      } catch {
        return undefined; // no further occurrence
      }
    };
  };
  for (const window of compiled.windows) {
    const nextStart = iterate(window.start);
    const nextEnd = iterate(window.end);
    let start = nextStart();
    let end = nextEnd();
    for (let i = 0; start && end && i < GAPS_CHECKED; i++) {
      while (end && end <= start) end = nextEnd();
      const next = nextStart();
      if (!end || !next) return undefined;
      const gapMs = next.getTime() - end.getTime();
      if (gapMs > 0 && gapMs <= compiled.leadMs) {
        const gap = `${Math.floor(gapMs / 3_600_000)}h${Math.floor((gapMs % 3_600_000) / 60_000)}m`;
        return `schedule.leadTime "${leadTime}" is at least the ${gap} between window "${window.name}" closing at ${kubeTime(end)} and opening again at ${kubeTime(next)}: it would never close. Make the lead time shorter than that gap`;
      }
      start = next;
    }
  }
  return undefined;
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
 * The occurrence of `expression` next to `from`. cron-parser's next() runs a fixed-time expression once in the hour a
 * fall-back change repeats, as cron does (a wildcard hour runs in both passes), but its prev() also yields the second
 * pass: an occurrence that next() from the first pass skips is passed over, so a window opens once and as announced.
 */
function occurrence(expression: string, timeZone: string, from: Date, direction: 'next' | 'prev'): Date | undefined {
  try {
    const iterator = CronExpressionParser.parse(expression, { currentDate: from, tz: timeZone, strict: false });
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
function boundary(expression: string, timeZone: string, from: Date, direction: 'next' | 'prev'): Date | undefined {
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
function endAfter(window: CompiledWindow, timeZone: string, start: Date): Date | undefined {
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
function openInterval(compiled: Compiled, window: CompiledWindow, at: Date): { opens: Date; closes: Date } | undefined {
  // The latest start at or before `at` (prev() is strict, hence +1 ms).
  const start = boundary(window.start, compiled.timeZone, new Date(at.getTime() + 1), 'prev');
  if (!start) return undefined;
  const end = endAfter(window, compiled.timeZone, start);
  // closed as it opens (both in one DST gap): no time open, so its lead time opens nothing either
  if (!end || end.getTime() <= at.getTime() || end.getTime() <= start.getTime()) return undefined;
  return { opens: start, closes: end };
}

/** What the windows' own times put in effect at `at`: the first open window in the list, else spec.throughput. */
function inEffectAt(compiled: Compiled, base: Throughput, at: Date): ScheduledThroughput {
  const open = compiled.windows.find((w) => openInterval(compiled, w, at) !== undefined);
  return open ? { window: open.name, throughput: open.throughput } : { throughput: base };
}

/**
 * What the schedule asks for at `at`. The lead time is there so that more throughput serves when it is due: the first
 * change within the lead time that raises throughput (a window opening, or closing back to more) applies already; a
 * change that only lowers it applies when due, so the throughput in effect is never cut short, whatever the order of
 * windows that follow each other.
 */
function applicableAt(compiled: Compiled, base: Throughput, at: Date): ScheduledThroughput {
  const current = inEffectAt(compiled, base, at);
  if (compiled.leadMs === 0) return current;
  for (const point of boundariesWithin(compiled, at, new Date(at.getTime() + compiled.leadMs))) {
    const then = inEffectAt(compiled, base, point);
    if (then.window !== current.window && raises(then.throughput, current.throughput)) return then;
  }
  return current;
}

/** Boundaries to look at in one lead time, per window: more only for cron windows of a minute or so. */
const MAX_BOUNDARIES_PER_WINDOW = 32;

/** The windows' starts and ends after `from` and no later than `to`, in time order. */
function boundariesWithin(compiled: Compiled, from: Date, to: Date): Date[] {
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

/**
 * Whether `next` asks for more than `current` in some bound (so it is sent early, to serve when due). Only a change
 * that lowers or keeps every bound is not: chunks and tokens/s cannot be compared without the model's chunk size, so
 * a change between the two forms counts as raising.
 */
function raises(next: Throughput, current: Throughput): boolean {
  if (next.modelUnits !== undefined && current.modelUnits !== undefined) return next.modelUnits > current.modelUnits;
  const band = (t: Throughput) => t.chunks ?? t.tokensPerSecond;
  const [a, b] = [band(next), band(current)];
  if (!a || !b || (next.chunks === undefined) !== (current.chunks === undefined)) return true;
  return a.min > b.min || a.max > b.max;
}

/** Moments after `from` at which what applies may change: each start and end, and a lead time before each. */
function changePoints(compiled: Compiled, from: Date): Date[] {
  const points: Date[] = [];
  const lead = compiled.leadMs;
  for (const window of compiled.windows) {
    for (const expression of [window.start, window.end]) {
      const next = boundary(expression, compiled.timeZone, from, 'next');
      if (next) points.push(next);
      if (lead > 0) {
        const ahead = boundary(expression, compiled.timeZone, new Date(from.getTime() + lead), 'next');
        if (ahead) points.push(new Date(ahead.getTime() - lead));
      }
    }
  }
  return points.filter((p) => p.getTime() > from.getTime());
}

/** The next change after `now`: none when nothing changes again, undefined when the search gave up before finding it. */
function nextChange(compiled: Compiled, base: Throughput, now: Date, current: ScheduledThroughput): Pick<ScheduleState, 'next'> | undefined {
  let from = now;
  for (let i = 0; i < MAX_CHANGE_POINTS; i++) {
    const points = changePoints(compiled, from);
    if (points.length === 0) return {};
    const at = new Date(Math.min(...points.map((p) => p.getTime())));
    const then = applicableAt(compiled, base, at);
    if (then.window !== current.window) return { next: { at, ...then } };
    from = at;
  }
  return undefined;
}

/**
 * The first window whose throughput the model cannot take, as InvalidSpec naming the window and its field. Checked
 * whenever the spec is, so a bad window is refused when it is applied rather than when it opens, and the window open
 * now is not reported as spec.throughput. `unscheduled` is spec.throughput while a window replaces it in `spec`:
 * checked too, so a bad edit of it is refused now rather than when the window closes. A model that cannot be
 * provisioned at all is told by the planner's own check.
 */
export function invalidWindowThroughput(spec: EndpointSpec, info: ModelOptimizationInfo, unscheduled?: Throughput): Extract<Resolution, { ok: false }> | undefined {
  const base = unscheduled && resolveDesired({ ...spec, throughput: unscheduled }, info);
  if (base && !base.ok && base.reason === 'InvalidSpec') return { ...base, message: `${base.message} (spec.throughput serves whenever no schedule window is open)` };
  for (const [index, window] of (spec.schedule?.windows ?? []).entries()) {
    const resolution = resolveDesired({ ...spec, throughput: window.throughput }, info, `schedule.windows[${index}].throughput`);
    if (!resolution.ok && resolution.reason === 'InvalidSpec') return { ...resolution, message: `schedule window "${window.name}": ${resolution.message}` };
  }
  return undefined;
}

// ---- composition with the endpoint planner -------------------------------------------------------

/** The spec the planner resolves: spec.throughput replaced by what the schedule asks for now. */
export const scheduledSpec = (spec: EndpointSpec, state: ScheduleState | undefined): EndpointSpec =>
  state ? { ...spec, throughput: state.throughput } : spec;

/** A different window applies than the one status last recorded: the desired config changed. */
export const scheduleChanged = (status: EndpointStatus, state: ScheduleState | undefined): boolean =>
  state !== undefined && (status.schedule?.activeWindow ?? undefined) !== state.window;

export const describeThroughput = (t: Throughput): string =>
  t.modelUnits !== undefined
    ? `${t.modelUnits} model units`
    : t.chunks
      ? `chunks ${t.chunks.min}-${t.chunks.max}`
      : `${t.tokensPerSecond?.min}-${t.tokensPerSecond?.max} tokens/s`;

export function scheduleStatus(state: ScheduleState): NonNullable<EndpointStatus['schedule']> {
  return {
    ...(state.window !== undefined && { activeWindow: state.window }),
    throughput: describeThroughput(state.throughput),
    ...(state.next && {
      nextChangeTime: kubeTime(state.next.at),
      nextWindow: state.next.window ?? DEFAULT_WINDOW_LABEL,
    }),
  };
}

/** Look again no later than the next change, so it happens on time and not at the next poll. */
export const requeueForSchedule = (requeue: Requeue, state: ScheduleState | undefined, now: Date): Requeue => requeueBy(requeue, state?.next?.at, now);

/** A requeue no later than `at` (kept when sooner; the workqueue's backoff is bounded by it). */
export function requeueBy(requeue: Requeue, at: Date | undefined, now: Date): Requeue {
  if (!at) return requeue;
  const until = Math.max(0, at.getTime() - now.getTime());
  if (requeue === undefined) return { after: until };
  if ('backoff' in requeue) return { backoff: true, maxMs: Math.min(requeue.maxMs ?? Infinity, until) };
  return { after: Math.min(requeue.after, until) };
}

/**
 * The change the schedule asks for now was not sent by this reconcile: the planned action failed or was deferred
 * (`notSent`), or nothing could be planned for it: the endpoint was not read (paused, the workspace not ready, a
 * failed read) or the spec not resolved. Status then keeps the old window, so the change is sent as such later, not
 * found as drift.
 */
export const scheduleNotSent = (notSent: boolean, endpoint: Observed<ServingEndpointDetailed>, plan: Plan): boolean =>
  notSent || (endpoint.kind !== 'found' && endpoint.kind !== 'notFound') || plan.specUnresolved === true;

/**
 * The plan with status.schedule and a requeue no later than the next change. When the change was not sent (the
 * planned action failed, or nothing could be planned for it), status keeps the window it had, so the next reconcile
 * still sees the change and sends it.
 */
export function withSchedule(plan: Plan, previous: EndpointStatus, state: ScheduleState | undefined, notSent: boolean, now: Date): Plan {
  const status = { ...plan.status };
  if (!state) {
    delete status.schedule;
  } else {
    status.schedule = scheduleStatus(state);
    if (notSent) {
      const kept = previous.schedule?.activeWindow;
      if (kept === undefined) delete status.schedule.activeWindow;
      else status.schedule.activeWindow = kept;
    }
  }
  return { ...plan, status, requeue: requeueForSchedule(plan.requeue, state, now) };
}
