// Throughput schedules: which throughput spec.schedule asks for at a given time, and when that changes next, with the
// lead time's rule (more throughput early, less when due); and the schedules it refuses, whose lead time would keep
// a window from serving as written. Pure (the clock is an argument). When windows open and close: schedule-windows.ts.
import { kubeTime } from '../../kube/time.js';
import type { EndpointSpec, EndpointStatus, Schedule, Throughput } from '../../api/v1alpha1/index.js';
import type { ModelOptimizationInfo, ServingEndpointDetailed } from '../../databricks/api-types.js';
import { type Resolution, resolveDesired } from './desired.js';
import type { Observed, Plan, Requeue } from './plan-types.js';
import {
  boundariesWithin,
  boundary,
  type Compiled,
  compile,
  inEffectAt,
  OCCURRENCE_BUDGET,
  occurrences,
  openInterval,
  type ScheduledThroughput,
  budgetSpent,
  occurrencesUsed,
  withinOccurrenceBudget,
} from './schedule-windows.js';

export type { ScheduledThroughput } from './schedule-windows.js';

export interface ScheduleState extends ScheduledThroughput {
  /** The next moment something else applies (a window opens, lead time included, or closes). */
  next?: { at: Date } & ScheduledThroughput;
}

export type ScheduleResolution = { ok: true; state: ScheduleState } | { ok: false; message: string };

export const DEFAULT_WINDOW_LABEL = '(default)';
/** Change points examined when looking for the next change; windows that only repeat each other end the search. */
const MAX_CHANGE_POINTS = 64;
/** Occurrences of each window checked against the lead time: a week of daily windows. */
const OCCURRENCES_CHECKED = 8;

/** The throughput spec.schedule asks for at `now`, and the next change. */
export function resolveSchedule(schedule: Schedule, base: Throughput, now: Date): ScheduleResolution {
  const compiled = compile(schedule);
  if ('message' in compiled) return { ok: false, message: compiled.message };
  const key = `${JSON.stringify(schedule)}\u0000${JSON.stringify(base)}`;
  if (tooCostly.has(key)) return { ok: false, message: tooCostlyMessage(schedule) };
  const resolution = withinOccurrenceBudget(() => resolveCompiled(compiled, schedule, base, key, now));
  if (resolution) return resolution;
  if (tooCostly.size >= RESOLVED_MAX) tooCostly.delete(tooCostly.values().next().value as string);
  tooCostly.add(key);
  return { ok: false, message: tooCostlyMessage(schedule) };
}

/**
 * Look-ups a resolution that cannot be kept (its next change not found) may take, as it is made again at every reconcile:
 * usual schedules that are so (a window open all day, a yearly season beside daily windows) take some hundreds to
 * 1,500; one window every second under a lead time of 20m took seconds at every reconcile.
 */
const UNKEPT_BUDGET = 10_000;

/** Schedules (with spec.throughput) that needed more than OCCURRENCE_BUDGET: refused again without the work. */
const tooCostly = new Set<string>();

const tooCostlyMessage = (schedule: Schedule) =>
  `schedule windows open and close too often to be worked out with leadTime "${schedule.leadTime}": the operator gives up after ${OCCURRENCE_BUDGET} look-ups of their times, so that one schedule cannot hold up every other endpoint. Use fewer windows, windows that open less often (not every minute or second), or a shorter leadTime`;

function resolveCompiled(compiled: Compiled, schedule: Schedule, base: Throughput, key: string, now: Date): ScheduleResolution {
  const unserved = unservedWindowToday(compiled, schedule.leadTime, base, key, now);
  if (unserved) return { ok: false, message: unserved };
  const known = resolved.get(key);
  if (known && known.from <= now.getTime() && (!known.state.next || now < known.state.next.at)) return { ok: true, state: known.state };
  const unkeptFrom = occurrencesUsed();
  const current = applicableAt(compiled, base, now);
  const change = nextChange(compiled, base, now, current);
  const state = { ...current, ...change };
  // a search that gave up is no answer for later: worked out again, it may reach the change it did not. So it is
  // worked out at every reconcile, and refused when that costs more than UNKEPT_BUDGET
  if (change === undefined && occurrencesUsed() - unkeptFrom > UNKEPT_BUDGET) budgetSpent();
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

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Schedules checked for a window the lead time keeps from serving, by day and content (insertion order doubles as age). */
const unservedChecked = new Map<string, string | undefined>();
const UNSERVED_CHECKED_MAX = 10_000;

/**
 * unservedWindow looked for from the start of `now`'s day (UTC), so the answer is the same for every reconcile that
 * day and is worked out once per schedule, spec.throughput and day: walking each window's next occurrences costs
 * some tens of milliseconds (cron-parser takes about one per occurrence), on every reconcile otherwise.
 */
function unservedWindowToday(compiled: Compiled, leadTime: string, base: Throughput, content: string, now: Date): string | undefined {
  if (compiled.leadMs === 0) return undefined;
  const day = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const key = `${day}\u0000${content}`;
  if (unservedChecked.has(key)) return unservedChecked.get(key);
  const unserved = unservedWindow(compiled, leadTime, base, new Date(day));
  if (unservedChecked.size >= UNSERVED_CHECKED_MAX) unservedChecked.delete(unservedChecked.keys().next().value as string);
  unservedChecked.set(key, unserved);
  return unserved;
}

/**
 * A window the lead time keeps from serving as written, in the next occurrences of each (a week of daily ones), so a
 * schedule is refused when it is applied rather than on the day it happens. Two ways, both from a rise that is sent
 * a lead time early and so is already due when the lower throughput before it would be sent:
 * - a gap between a window's close and its next start that the lead time spans (20h typed for 20m), when the
 *   window's reopening raises throughput: the window never closes, its throughput paid around the clock. (A window
 *   below what serves in its gap closes, a lead time early, and is lowered again when it reopens.)
 * - a window no longer than the lead time, below the throughput after it: it never serves. So does a longer one that
 *   windows listed before it leave only runs this short.
 * Only windows this short or gaps this narrow are looked at closely (what applies through them), so a usual
 * schedule costs two cron walks per window and day, and a window listed after others also a walk of their times
 * within each of its occurrences. (cron-parser's own occurrences, one iterator each: a DST change moves them by an
 * hour at most.)
 */
function unservedWindow(compiled: Compiled, leadTime: string, base: Throughput, from: Date): string | undefined {
  const { leadMs } = compiled;
  for (const [index, window] of compiled.windows.entries()) {
    const nextStart = occurrences(window.start, compiled.timeZone, from);
    const nextEnd = occurrences(window.end, compiled.timeZone, from);
    let start = nextStart();
    let end = nextEnd();
    for (let i = 0; start && end && i < OCCURRENCES_CHECKED; i++) {
      while (end && end <= start) end = nextEnd();
      if (!end) return undefined;
      // A window listed before it wins where they overlap: a long window may be left only short runs.
      const runs = end.getTime() - start.getTime() > leadMs && index > 0 ? runsInEffect(compiled, index, start, end) : [{ from: start, to: end }];
      const longest = Math.max(0, ...runs.map((r) => r.to.getTime() - r.from.getTime()));
      const first = runs[0];
      if (first && longest <= leadMs && inEffectWithin(compiled, base, start, end, window.name) && !appliedWithin(compiled, base, new Date(start.getTime() - leadMs), end, window.name)) {
        const length = first.to.getTime() - first.from.getTime();
        const rise = describeWindow(applicableAt(compiled, base, first.from));
        const shortened = first.from.getTime() !== start.getTime() || first.to.getTime() !== end.getTime() ? ' (a window listed before it takes the rest of its time)' : '';
        return `schedule window "${window.name}" never applies: it serves ${duration(length)} from ${kubeTime(first.from)}${shortened}, and the rise back to ${rise} is sent leadTime "${leadTime}" early, before it. Make the lead time shorter than ${duration(length)} or the window longer than ${leadTime}`;
      }
      const next = nextStart();
      if (!next) return undefined;
      const gap = next.getTime() - end.getTime();
      if (gap > 0 && gap <= leadMs && heldThrough(compiled, base, end, next, window.name)) {
        return `schedule.leadTime "${leadTime}" is at least the ${duration(gap)} between window "${window.name}" closing at ${kubeTime(end)} and opening again at ${kubeTime(next)}: it would never close. Make the lead time shorter than that gap`;
      }
      start = next;
    }
  }
  return undefined;
}

const duration = (ms: number) => `${Math.floor(ms / HOUR_MS) > 0 ? `${Math.floor(ms / HOUR_MS)}h` : ''}${Math.floor((ms % HOUR_MS) / 60_000)}m`;
const describeWindow = (s: ScheduledThroughput) => (s.window === undefined ? 'spec.throughput' : `window "${s.window}"`);

/** The moments in [from, to) at which what applies may change: `from`, each start and end, and a lead time before each. */
function changePointsWithin(compiled: Compiled, from: Date, to: Date): Date[] {
  const lead = compiled.leadMs;
  const ahead = boundariesWithin(compiled, new Date(from.getTime() + lead), new Date(to.getTime() + lead)).map((p) => new Date(p.getTime() - lead));
  const points = [from, ...boundariesWithin(compiled, from, to), ...ahead].filter((p) => p < to);
  return points.sort((a, b) => a.getTime() - b.getTime());
}

/**
 * The runs of [from, to), an occurrence of window `index`, in which it is in effect: where no window listed before
 * it is open (the first open window in the list is in effect). Only those windows' times are walked.
 */
function runsInEffect(compiled: Compiled, index: number, from: Date, to: Date): { from: Date; to: Date }[] {
  const before: Compiled = { ...compiled, windows: compiled.windows.slice(0, index) };
  const points = [from, ...boundariesWithin(before, from, to).filter((p) => p > from && p < to), to];
  const runs: { from: Date; to: Date }[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [at, next] = [points[i] as Date, points[i + 1] as Date];
    if (next <= at || before.windows.some((w) => openInterval(before, w, at) !== undefined)) continue;
    const last = runs.at(-1);
    if (last && last.to.getTime() === at.getTime()) last.to = next;
    else runs.push({ from: at, to: next });
  }
  return runs;
}

/** Whether the windows' own times put `name` in effect at some moment of [from, to) (a window listed before it may shadow it). */
const inEffectWithin = (compiled: Compiled, base: Throughput, from: Date, to: Date, name: string): boolean =>
  [from, ...boundariesWithin(compiled, from, to).filter((p) => p < to)].some((p) => inEffectAt(compiled, base, p).window === name);

/** Whether window `name` applies (lead time included) at some moment of [from, to). */
const appliedWithin = (compiled: Compiled, base: Throughput, from: Date, to: Date, name: string): boolean =>
  changePointsWithin(compiled, from, to).some((p) => applicableAt(compiled, base, p).window === name);

/** Whether window `name` applies (lead time included) throughout [from, to). */
const heldThrough = (compiled: Compiled, base: Throughput, from: Date, to: Date, name: string): boolean =>
  changePointsWithin(compiled, from, to).every((p) => applicableAt(compiled, base, p).window === name);

/**
 * What the schedule asks for at `at`. The lead time is there so that more throughput serves when it is due: what is in
 * effect at `at` applies, unless a change within the lead time raises throughput (a window opening, or closing back
 * to more): then the highest of those applies already (of those that do not compare, the first), so each rise is sent
 * a lead time before it is due, also one that follows another within the lead time. A change that only lowers
 * throughput applies when due, so the throughput in effect is never cut short, whatever the order of the windows.
 */
function applicableAt(compiled: Compiled, base: Throughput, at: Date): ScheduledThroughput {
  const current = inEffectAt(compiled, base, at);
  if (compiled.leadMs === 0) return current;
  let highest: ScheduledThroughput | undefined;
  for (const point of boundariesWithin(compiled, at, new Date(at.getTime() + compiled.leadMs))) {
    const then = inEffectAt(compiled, base, point);
    if (!raises(then.throughput, current.throughput)) continue;
    if (!highest || (raises(then.throughput, highest.throughput) && !raises(highest.throughput, then.throughput))) highest = then;
  }
  return highest ?? current;
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
