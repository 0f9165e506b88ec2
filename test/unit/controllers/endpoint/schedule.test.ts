// The schedule planner as tables: which throughput applies at a moment, the next change (lead time
// included), time zones and DST, overlaps, invalid input; and how it composes with the endpoint plan.
import { describe, expect, it } from 'vitest';
import { Schedule, type Throughput } from '../../../../src/api/v1alpha1/index.js';
import { planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import {
  requeueForSchedule,
  resolveSchedule,
  type ScheduleState,
  scheduleChanged,
  scheduledSpec,
  scheduleStatus,
  withSchedule,
} from '../../../../src/controllers/endpoint/schedule.js';
import { endpointObject, MODEL_UNIT_MODEL, NOT_OPTIMIZABLE_MODEL, planInput, readyEndpoint, TOKEN_BAND_MODEL } from '../fixtures.js';

const BASE: Throughput = { chunks: { min: 1, max: 2 } };
const PEAK: Throughput = { chunks: { min: 4, max: 6 } };
const BATCH: Throughput = { chunks: { min: 3, max: 3 } };

const schedule = (input: Record<string, unknown>): Schedule => Schedule.parse(input);

/** Mon-Fri 08:00-18:00 Berlin office hours, a nightly batch 22:00-02:00 every day, 15 minutes lead. */
const OFFICE_AND_NIGHTLY = schedule({
  timeZone: 'Europe/Berlin',
  leadTime: '15m',
  windows: [
    { name: 'office-hours', days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: '08:00', end: '18:00', throughput: PEAK },
    { name: 'nightly', start: '22:00', end: '02:00', throughput: BATCH },
  ],
});

function state(s: Schedule, at: string): ScheduleState {
  const result = resolveSchedule(s, BASE, new Date(at));
  if (!result.ok) throw new Error(result.message);
  return result.state;
}

describe('resolveSchedule: what applies and what comes next', () => {
  // 2026-03-02 is a Monday; Berlin is UTC+1 until 2026-03-29 (then UTC+2).
  const cases: { at: string; window?: string; throughput: Throughput; nextAt?: string; nextWindow?: string }[] = [
    { at: '2026-03-02T06:00:00Z', throughput: BASE, nextAt: '2026-03-02T06:45:00Z', nextWindow: 'office-hours' }, // 07:00 local, opens 07:45 (lead)
    { at: '2026-03-02T06:44:59Z', throughput: BASE, nextAt: '2026-03-02T06:45:00Z', nextWindow: 'office-hours' },
    { at: '2026-03-02T06:45:00Z', window: 'office-hours', throughput: PEAK, nextAt: '2026-03-02T17:00:00Z' }, // lead time begun
    { at: '2026-03-02T12:00:00Z', window: 'office-hours', throughput: PEAK, nextAt: '2026-03-02T17:00:00Z' }, // closes on time at 18:00 local
    { at: '2026-03-02T17:00:00Z', throughput: BASE, nextAt: '2026-03-02T20:45:00Z', nextWindow: 'nightly' },
    { at: '2026-03-02T23:30:00Z', window: 'nightly', throughput: BATCH, nextAt: '2026-03-03T01:00:00Z' }, // past midnight local
    { at: '2026-03-07T12:00:00Z', throughput: BASE, nextAt: '2026-03-07T20:45:00Z', nextWindow: 'nightly' }, // Saturday: no office hours
    { at: '2026-03-30T06:00:00Z', window: 'office-hours', throughput: PEAK, nextAt: '2026-03-30T16:00:00Z' }, // after DST: 08:00 local = 06:00Z
  ];
  it.each(cases)('at $at: $window', ({ at, window, throughput, nextAt, nextWindow }) => {
    const s = state(OFFICE_AND_NIGHTLY, at);
    expect(s.window).toBe(window);
    expect(s.throughput).toEqual(throughput);
    expect(s.next?.at.toISOString().replace('.000', '')).toBe(nextAt);
    expect(s.next?.window).toBe(nextWindow);
  });

  it('cron windows, seconds included, and the first listed window wins an overlap', () => {
    const s = schedule({
      windows: [
        { name: 'burst', start: '0 0 12 * * *', end: '0 30 12 * * *', throughput: PEAK },
        { name: 'day', start: '0 9 * * *', end: '0 17 * * *', throughput: BATCH },
      ],
    });
    expect(state(s, '2026-03-02T10:00:00Z')).toMatchObject({ window: 'day', next: { window: 'burst' } });
    expect(state(s, '2026-03-02T12:10:00Z')).toMatchObject({ window: 'burst', next: { window: 'day' } });
    expect(state(s, '2026-03-02T12:10:00Z').next?.at.toISOString()).toBe('2026-03-02T12:30:00.000Z');
  });

  it('two windows back to back are one change, not a detour through the default', () => {
    const s = schedule({
      windows: [
        { name: 'morning', start: '08:00', end: '12:00', throughput: PEAK },
        { name: 'afternoon', start: '12:00', end: '18:00', throughput: BATCH },
      ],
    });
    expect(state(s, '2026-03-02T11:00:00Z')).toMatchObject({ window: 'morning', next: { window: 'afternoon' } });
    expect(state(s, '2026-03-02T11:00:00Z').next?.at.toISOString()).toBe('2026-03-02T12:00:00.000Z');
  });

  it.each([
    [{ timeZone: 'Mars/Olympus', windows: [{ name: 'a', start: '08:00', end: '09:00', throughput: PEAK }] }, /timeZone "Mars\/Olympus" is not an IANA time zone/],
    [{ windows: [{ name: 'a', start: '0 25 * * *', end: '0 9 * * *', throughput: PEAK }] }, /windows\[0\]\.start "0 25 \* \* \*" is not a valid cron expression/],
  ])('invalid input is refused with a message that says what to fix', (input, message) => {
    const result = resolveSchedule(schedule(input), BASE, new Date('2026-03-02T06:00:00Z'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(message);
  });
});

// A lead time that bridges the gap between a window's close and its next start (20h typed for 20m, with office
// hours 08:00-18:00: a 14-hour gap) kept the window open all the time: the window's throughput around the clock,
// with nothing to say so but a missing nextChangeTime.
describe('resolveSchedule: a lead time that would keep a window open', () => {
  const office = (leadTime: string) => schedule({ timeZone: 'Europe/Berlin', leadTime, windows: [{ name: 'office-hours', days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: '08:00', end: '18:00', throughput: PEAK }] });
  it.each([
    ['20h, on a Saturday (the next gap that is too short is Monday night)', office('20h'), '2026-03-07T12:00:00Z', /schedule\.leadTime "20h" is at least the 14h0m between window "office-hours" closing at 2026-03-09T17:00:00Z and opening again at 2026-03-10T07:00:00Z: it would never close/],
    ['14h, the gap exactly', office('14h'), '2026-03-02T12:00:00Z', /schedule\.leadTime "14h" is at least the 14h0m between window "office-hours"/],
    ['more than a day', office('25h'), '2026-03-02T12:00:00Z', /schedule\.leadTime "25h" is longer than a day/],
    ['the longest duration admitted (2562047h, some 292 years)', office('2562047h'), '2026-03-02T12:00:00Z', /schedule\.leadTime "2562047h" is longer than a day/],
  ])('%s: refused with a message that says what to fix', (_, s, at, message) => {
    const result = resolveSchedule(s, BASE, new Date(at));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(message);
  });

  it('a lead time shorter than every gap is fine, as is a window that is open all day by itself', () => {
    expect(resolveSchedule(office('13h59m'), BASE, new Date('2026-03-07T12:00:00Z')).ok).toBe(true);
    const allDay = schedule({ leadTime: '15m', windows: [{ name: 'all-day', start: '08:00', end: '08:00', throughput: PEAK }] });
    expect(resolveSchedule(allDay, BASE, new Date('2026-03-02T12:00:00Z')).ok).toBe(true);
  });
});

// The gap check refused any window whose gap the lead time spans, also one below spec.throughput: its reopening
// lowers throughput, sent when due, so it closes (a lead time early, for the rise back) and the gap serves as asked.
describe('resolveSchedule: a short gap in a window below spec.throughput', () => {
  // spec.throughput 4-6 chunks; 'quiet' (1-2 chunks) from 10:00 to 09:00 the next day: one hour of peak a day.
  const quiet = (leadTime: string) => schedule({ leadTime, windows: [{ name: 'quiet', start: '10:00', end: '09:00', throughput: BASE }] });
  it.each([
    { leadTime: '1h', time: '2026-03-02T07:59:00Z', window: 'quiet', nextAt: '2026-03-02T08:00:00Z' },
    { leadTime: '1h', time: '2026-03-02T08:00:00Z', window: undefined, nextAt: '2026-03-02T10:00:00Z' }, // the gap exactly
    { leadTime: '90m', time: '2026-03-02T07:30:00Z', window: undefined, nextAt: '2026-03-02T10:00:00Z' }, // longer than the gap
    { leadTime: '90m', time: '2026-03-02T10:00:00Z', window: 'quiet', nextAt: '2026-03-03T07:30:00Z' },
  ])('leadTime $leadTime, at $time: $window until $nextAt', ({ leadTime, time, window, nextAt }) => {
    const result = resolveSchedule(quiet(leadTime), PEAK, new Date(time));
    if (!result.ok) throw new Error(result.message);
    expect(result.state.window).toBe(window);
    expect(result.state.next?.at.toISOString().replace('.000', '')).toBe(nextAt);
  });
});

// A window below what follows it that lasts no longer than the lead time never served: the rise after it is sent a
// lead time early, so at its start the rise was already due and the window's throughput was never sent.
describe('resolveSchedule: a window the lead time of the rise after it swallows', () => {
  const dip = (leadTime: string, end: string, windows: Record<string, unknown>[] = []) =>
    schedule({ leadTime, windows: [{ name: 'dip', start: '12:00', end, throughput: BASE }, ...windows] });
  const DAY = { name: 'day', start: '08:00', end: '20:00', throughput: PEAK };
  it.each([
    ['10 minutes below spec.throughput, 20m lead', dip('20m', '12:10'), PEAK, /^schedule window "dip" never applies: .*10m.*leadTime "20m".*Make the lead time shorter than 10m or the window longer than 20m$/],
    ['exactly the lead time', dip('20m', '12:20'), PEAK, /^schedule window "dip" never applies: .*20m.*leadTime "20m"/],
    ['inside a higher window (listed after it), back to that window', dip('20m', '12:10', [DAY]), BASE, /^schedule window "dip" never applies: .*back to window "day"/],
  ])('%s: refused, naming the window and how to fix it', (_, s, base, message) => {
    const result = resolveSchedule(s, base, new Date('2026-03-02T06:00:00Z'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(message);
  });

  // The window's own times (08:00-13:00) are long; a window listed before it takes all but its last 10 minutes, which
  // the rise back to spec.throughput, sent 20m early, swallows: it was accepted and never served.
  it('a long window that an earlier-listed window leaves no longer than the lead time: refused, naming what it serves', () => {
    const s = schedule({
      leadTime: '20m',
      windows: [
        { name: 'morning', start: '08:00', end: '12:50', throughput: BATCH },
        { name: 'dip', start: '08:00', end: '13:00', throughput: BASE },
      ],
    });
    const result = resolveSchedule(s, PEAK, new Date('2026-03-02T06:00:00Z'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/^schedule window "dip" never applies: it serves 10m from 2026-03-02T12:50:00Z \(a window listed before it takes the rest of its time\), and the rise back to spec.throughput is sent leadTime "20m" early/);
  });

  it('a long window an earlier-listed window shortens, still longer than the lead time, serves', () => {
    const s = schedule({
      leadTime: '20m',
      windows: [
        { name: 'morning', start: '08:00', end: '12:30', throughput: BATCH },
        { name: 'dip', start: '08:00', end: '13:00', throughput: BASE },
      ],
    });
    const during = resolveSchedule(s, PEAK, new Date('2026-03-02T12:30:00Z'));
    if (!during.ok) throw new Error(during.message);
    expect(during.state).toMatchObject({ window: 'dip', throughput: BASE, next: { at: new Date('2026-03-02T12:40:00Z') } });
  });

  it('a dip longer than the lead time serves until the rise after it is due', () => {
    const s = dip('20m', '12:30');
    const during = resolveSchedule(s, PEAK, new Date('2026-03-02T12:00:00Z'));
    if (!during.ok) throw new Error(during.message);
    expect(during.state).toMatchObject({ window: 'dip', throughput: BASE, next: { at: new Date('2026-03-02T12:10:00Z') } });
    expect(during.state.next?.window).toBeUndefined(); // back to spec.throughput
  });
});

// A window whose start falls in the hour a spring-forward change skips opens when that hour ends, as cron (Vixie)
// runs such jobs at once; it did not open at all that day (session 11: 02:30 Berlin, 02:00 New York).
describe('resolveSchedule: a start the DST change skips', () => {
  const nightly = (timeZone: string, start: string, end: string, leadTime = '0s') =>
    schedule({ timeZone, leadTime, windows: [{ name: 'nightly-batch', start, end, throughput: BATCH }] });
  it.each([
    ['Berlin, 02:30-06:00, at 04:00 CEST', nightly('Europe/Berlin', '02:30', '06:00'), '2027-03-28T02:00:00Z', 'nightly-batch'],
    ['Berlin, 02:30-06:00, as the gap ends (03:00 CEST)', nightly('Europe/Berlin', '02:30', '06:00'), '2027-03-28T01:00:00Z', 'nightly-batch'],
    ['Berlin, 02:30-06:00, before the gap (01:59 CET)', nightly('Europe/Berlin', '02:30', '06:00'), '2027-03-28T00:59:00Z', undefined],
    ['Berlin, the day after, at 02:00 CEST', nightly('Europe/Berlin', '02:30', '06:00'), '2027-03-29T00:00:00Z', undefined],
    ['New York, 02:00-05:00, at 04:00 EDT', nightly('America/New_York', '02:00', '05:00'), '2027-03-14T08:00:00Z', 'nightly-batch'],
    // an end the change skips closes the window as the gap ends, not a day later
    ['Berlin, 22:00-02:30, at 03:30 CEST', nightly('Europe/Berlin', '22:00', '02:30'), '2027-03-28T01:30:00Z', undefined],
    ['Berlin, 22:00-02:30, at 01:30 CET', nightly('Europe/Berlin', '22:00', '02:30'), '2027-03-28T00:30:00Z', 'nightly-batch'],
    ['Berlin, 22:00-02:30, at 03:15 CEST (the gap ended at 03:00)', nightly('Europe/Berlin', '22:00', '02:30'), '2027-03-28T01:15:00Z', undefined],
    // start and end both in the gap: cron runs both as it ends, so the window does not stay open until the next night
    ['Berlin, 02:10-02:40, at 03:30 CEST', nightly('Europe/Berlin', '02:10', '02:40'), '2027-03-28T01:30:00Z', undefined],
    ['Berlin, 02:10-02:40, at noon', nightly('Europe/Berlin', '02:10', '02:40'), '2027-03-28T10:00:00Z', undefined],
    ['Berlin, 02:10-02:40, the night after (02:20 CEST)', nightly('Europe/Berlin', '02:10', '02:40'), '2027-03-29T00:20:00Z', 'nightly-batch'],
    // nor does its lead time open it: there is no window to be ready for that night (an update up and one down)
    ['Berlin, 02:10-02:40 with 20m lead, at 01:50 CET', nightly('Europe/Berlin', '02:10', '02:40', '20m'), '2027-03-28T00:50:00Z', undefined],
    ['New York, cron 30 2 * * *, at 03:30 EDT', schedule({ timeZone: 'America/New_York', leadTime: '0s', windows: [{ name: 'nightly-batch', start: '30 2 * * *', end: '0 5 * * *', throughput: BATCH }] }), '2027-03-14T07:30:00Z', 'nightly-batch'],
  ])('%s → %s', (_, s, at, window) => {
    const resolved = resolveSchedule(s, BASE, new Date(at));
    expect(resolved.ok && resolved.state.window).toBe(window);
  });

  it('an end the change skips is announced for the end of the gap', () => {
    const resolved = resolveSchedule(nightly('Europe/Berlin', '22:00', '02:30'), BASE, new Date('2027-03-28T00:30:00Z'));
    expect(resolved.ok && resolved.state.next?.at).toEqual(new Date('2027-03-28T01:00:00Z'));
    expect(resolved.ok && resolved.state.next?.window).toBeUndefined();
  });

  it('the change before it is announced for the end of the gap', () => {
    const resolved = resolveSchedule(nightly('Europe/Berlin', '02:30', '06:00'), BASE, new Date('2027-03-28T00:30:00Z'));
    expect(resolved.ok && resolved.state.next).toMatchObject({ at: new Date('2027-03-28T01:00:00Z'), window: 'nightly-batch' });
  });
});

// A window whose start falls in the hour a fall-back change repeats opens once, at the first pass, as cron (Vixie)
// runs a fixed-time job once and as the next change is announced: it opened again at the second pass, a rollout up
// and down again that status.schedule had not announced (it named the next day).
describe('resolveSchedule: a start the DST change repeats', () => {
  const short = (timeZone: string, start: string, end: string) => schedule({ timeZone, windows: [{ name: 'nightly-batch', start, end, throughput: BATCH }] });
  it.each([
    ['Berlin, 02:15-02:45, first pass (02:20 CEST)', short('Europe/Berlin', '02:15', '02:45'), '2026-10-25T00:20:00Z', 'nightly-batch', '2026-10-25T00:45:00Z'],
    ['Berlin, 02:15-02:45, between the passes (02:50 CEST)', short('Europe/Berlin', '02:15', '02:45'), '2026-10-25T00:50:00Z', undefined, '2026-10-26T01:15:00Z'],
    ['Berlin, 02:15-02:45, second pass (02:20 CET)', short('Europe/Berlin', '02:15', '02:45'), '2026-10-25T01:20:00Z', undefined, '2026-10-26T01:15:00Z'],
    ['New York, 01:15-01:45, second pass (01:20 EST)', short('America/New_York', '01:15', '01:45'), '2026-11-01T06:20:00Z', undefined, '2026-11-02T06:15:00Z'],
    ['New York, cron 15 1 * * *, second pass (01:20 EST)', short('America/New_York', '15 1 * * *', '45 1 * * *'), '2026-11-01T06:20:00Z', undefined, '2026-11-02T06:15:00Z'],
  ])('%s', (_, s, at, window, nextAt) => {
    const resolved = state(s, at);
    expect(resolved.window).toBe(window);
    expect(resolved.next?.at.toISOString().replace('.000', '')).toBe(nextAt);
  });

  it('an hourly cron window opens in both passes, as cron runs a job whose hour is a wildcard', () => {
    const hourly = short('Europe/Berlin', '15 * * * *', '45 * * * *');
    expect(state(hourly, '2026-10-25T00:50:00Z').next?.at.toISOString()).toBe('2026-10-25T01:15:00.000Z');
    expect(state(hourly, '2026-10-25T01:20:00Z').window).toBe('nightly-batch');
  });
});

describe('Schedule schema (the same rules as the CRD)', () => {
  it.each([
    [{ windows: [{ name: 'a', start: '8:00', end: '09:00', throughput: PEAK }] }, 'must be a time HH:MM or a cron expression'],
    [{ windows: [{ name: 'a', start: '08:00', end: '0 9 * * *', throughput: PEAK }] }, 'start and end are both HH:MM times or both cron expressions'],
    [{ windows: [{ name: 'a', days: ['Mon'], start: '0 8 * * *', end: '0 9 * * *', throughput: PEAK }] }, 'days go with HH:MM start and end times'],
    [{ windows: [{ name: 'a', start: '08:00', end: '09:00', throughput: PEAK }, { name: 'a', start: '10:00', end: '11:00', throughput: PEAK }] }, 'window names must be unique'],
  ])('%j is rejected', (input, message) => {
    const result = Schedule.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join('; ')).toContain(message);
  });
});

describe('composition with the endpoint plan', () => {
  const office = state(OFFICE_AND_NIGHTLY, '2026-03-02T12:00:00Z');

  it('the planner sees the window throughput as the spec: one updateConfig, no drift warning, fresh capacity budget', () => {
    const object = endpointObject({ status: { observedGeneration: 1, schedule: { throughput: 'chunks 1-2' }, capacity: { attempts: 2 } } });
    const scheduled = { ...object, spec: scheduledSpec(object.spec, office) };
    const served = readyEndpoint({ min: 980, max: 1960 }); // chunks 1-2: the default throughput
    const plan = planEndpoint({ ...planInput(scheduled, { endpoint: served, model: TOKEN_BAND_MODEL }), desiredChanged: scheduleChanged(object.status, office) });
    expect(plan.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ min_provisioned_throughput: 3920, max_provisioned_throughput: 5880 }] } } });
    expect(plan.events.map((e) => e.reason)).toEqual(['UpdatingConfig']);
    expect(plan.status.capacity).toBeUndefined();
  });

  it('once the window is recorded, the served window throughput is in sync: nothing to do', () => {
    const object = endpointObject({ status: { observedGeneration: 1, schedule: scheduleStatus(office) } });
    expect(scheduleChanged(object.status, office)).toBe(false);
    const plan = planEndpoint(planInput({ ...object, spec: scheduledSpec(object.spec, office) }, { endpoint: readyEndpoint({ min: 3920, max: 5880 }) }));
    expect(plan.action).toEqual({ type: 'none' });
  });

  it('an invalid schedule blocks with InvalidSpec and no Databricks call', () => {
    const object = endpointObject({ status: { observedGeneration: 1 } });
    const plan = planEndpoint({ ...planInput(object, { endpoint: readyEndpoint({ min: 980, max: 1960 }) }), specProblem: 'schedule.timeZone "X" is not an IANA time zone' });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.conditions?.find((c) => c.type === 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('IANA') });
  });

  it('status shows the window and the next change; a failed action keeps the old window so the change is sent again', () => {
    const plan = { action: { type: 'none' as const }, status: {}, requeue: { after: 300_000 }, events: [] };
    const now = new Date('2026-03-02T16:58:00Z');
    const result = withSchedule(plan, {}, office, false, now);
    expect(result.status.schedule).toEqual({ activeWindow: 'office-hours', throughput: 'chunks 4-6', nextChangeTime: '2026-03-02T17:00:00Z', nextWindow: '(default)' });
    expect(result.requeue).toEqual({ after: 120_000 }); // the next change, not the 5-minute poll
    expect(withSchedule(plan, { schedule: { throughput: 'chunks 1-2' } }, office, true, now).status.schedule?.activeWindow).toBeUndefined();
    expect(withSchedule({ ...plan, status: { schedule: { throughput: 'x' } } }, {}, undefined, false, now).status.schedule).toBeUndefined();
  });

  it('requeueForSchedule keeps a sooner requeue and the workqueue backoff, bounded by the next change', () => {
    expect(requeueForSchedule({ after: 1000 }, office, new Date('2026-03-02T12:00:00Z'))).toEqual({ after: 1000 });
    // the backoff after a failure is kept, and bounded by the change: a long one must not pass over it
    expect(requeueForSchedule({ backoff: true, maxMs: 30_000 }, office, new Date('2026-03-02T12:00:00Z'))).toEqual({ backoff: true, maxMs: 30_000 });
    expect(requeueForSchedule({ backoff: true }, office, new Date('2026-03-02T16:59:50Z'))).toEqual({ backoff: true, maxMs: 10_000 });
    expect(requeueForSchedule(undefined, office, new Date('2026-03-02T16:00:00Z'))).toEqual({ after: 3_600_000 });
  });
});

// Every window's throughput is checked against the model when the spec changes, as time zones and cron fields are:
// a window that opens later must not pass as applied and fail at its start (naming a field spec.throughput lacks).
describe('window throughput is checked when the spec changes, not when the window opens', () => {
  const LATER = { name: 'later', start: '0 9 * * *', end: '0 17 * * *' };
  const PEAK_WINDOW = { name: 'peak', start: '0 12 * * *', end: '0 13 * * *', throughput: PEAK };
  const withWindows = (windows: Schedule['windows'], throughput: Throughput = BASE) =>
    endpointObject({ spec: { throughput, schedule: { windows } }, status: { observedGeneration: 1 }, generation: 2 });
  const BEFORE_WINDOWS = new Date('2026-03-02T06:00:00Z');
  const synced = (plan: ReturnType<typeof planEndpoint>) => plan.status.conditions?.find((c) => c.type === 'Synced');

  it.each([
    {
      case: 'tokens/s off the chunk grid, second window',
      windows: [PEAK_WINDOW, { ...LATER, throughput: { tokensPerSecond: { min: 0, max: 1234 } } }],
      message: /^schedule window "later": schedule\.windows\[1\]\.throughput\.tokensPerSecond\.max 1234 is not a multiple of the model's chunk size 980 tokens\/s: use 980 or 1960, or schedule\.windows\[1\]\.throughput\.chunks$/,
    },
    {
      case: 'chunks beyond the int32 Databricks accepts',
      windows: [{ ...LATER, throughput: { chunks: { min: 1, max: 3_000_000 } } }],
      message: /^schedule window "later": schedule\.windows\[0\]\.throughput\.chunks\.max 3000000 times the model's chunk size 980/,
    },
    {
      case: 'the lower bound off the grid, first of two bad windows',
      windows: [{ ...LATER, throughput: { tokensPerSecond: { min: 500, max: 1960 } } }, { ...PEAK_WINDOW, throughput: { tokensPerSecond: { min: 0, max: 1 } } }],
      message: /^schedule window "later": schedule\.windows\[0\]\.throughput\.tokensPerSecond\.min 500 is not a multiple of the model's chunk size 980 tokens\/s: use 0 or 980, or schedule\.windows\[0\]\.throughput\.chunks$/,
    },
    {
      case: 'model units off the model-unit chunk grid',
      model: MODEL_UNIT_MODEL,
      base: { modelUnits: 100 },
      windows: [{ ...LATER, throughput: { modelUnits: 120 } }],
      message: /^schedule window "later": schedule\.windows\[0\]\.throughput\.modelUnits 120 is not a multiple of the model's model-unit chunk size 50: use 100 or 150$/,
    },
  ])('$case: InvalidSpec at once, naming the window and its field; nothing sent', ({ windows, message, model, base }) => {
    const object = withWindows(windows, base);
    const plan = planEndpoint(planInput(object, { endpoint: readyEndpoint(base ? { units: 100 } : { min: 980, max: 1960 }), model: model ?? TOKEN_BAND_MODEL, now: BEFORE_WINDOWS }));
    expect(plan.action).toEqual({ type: 'none' });
    expect(synced(plan)).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringMatching(message) });
  });

  it('the window open now is named too, not spec.throughput', () => {
    const object = withWindows([{ ...LATER, throughput: { tokensPerSecond: { min: 0, max: 1234 } } }]);
    const open = state(object.spec.schedule as Schedule, '2026-03-02T10:00:00Z');
    const plan = planEndpoint(planInput({ ...object, spec: scheduledSpec(object.spec, open) }, { endpoint: readyEndpoint({ min: 980, max: 1960 }) }));
    expect(plan.action).toEqual({ type: 'none' });
    expect(synced(plan)?.message).toMatch(/^schedule window "later": schedule\.windows\[0\]\.throughput\.tokensPerSecond\.max 1234/);
  });

  it('a bad spec.throughput is refused while a window replaces it, not when the window closes', () => {
    const object = withWindows([{ ...LATER, throughput: { tokensPerSecond: { min: 0, max: 1960 } } }], { tokensPerSecond: { min: 0, max: 1234 } });
    const open = state(object.spec.schedule as Schedule, '2026-03-02T10:00:00Z');
    const input = planInput({ ...object, spec: scheduledSpec(object.spec, open) }, { endpoint: readyEndpoint({ min: 0, max: 1960 }) });
    const plan = planEndpoint({ ...input, unscheduledThroughput: object.spec.throughput });
    expect(plan.action).toEqual({ type: 'none' });
    expect(synced(plan)).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringMatching(/^throughput\.tokensPerSecond\.max 1234 is not a multiple of the model's chunk size 980 tokens\/s.*\(spec\.throughput serves whenever no schedule window is open\)$/) });
    // The same window with a good spec.throughput is applied.
    const good = planEndpoint({ ...input, unscheduledThroughput: BASE });
    expect(synced(good)).toMatchObject({ status: 'True' });
  });

  it('valid windows (chunks, tokens/s on the grid) leave the spec applied', () => {
    const object = withWindows([PEAK_WINDOW, { ...LATER, throughput: { tokensPerSecond: { min: 0, max: 1960 } } }]);
    const plan = planEndpoint(planInput(object, { endpoint: readyEndpoint({ min: 980, max: 1960 }), now: BEFORE_WINDOWS }));
    expect(plan.action.type).not.toBe('updateConfig');
    expect(synced(plan)).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
  });

  it('a model that cannot be provisioned is told as such, not as a window problem', () => {
    const object = withWindows([{ ...LATER, throughput: { tokensPerSecond: { min: 0, max: 1234 } } }]);
    const plan = planEndpoint(planInput(object, { endpoint: readyEndpoint({ min: 980, max: 1960 }), model: NOT_OPTIMIZABLE_MODEL, now: BEFORE_WINDOWS }));
    expect(synced(plan)).toMatchObject({ status: 'False', reason: 'ModelNotOptimizable' });
  });
});
