// What a time zone's clock reads at an instant, where a daylight-saving change skips wall-clock times and where it repeats them: cron
// (Vixie) runs a job whose time a spring-forward change skips as soon as the gap ends, and so does a schedule
// window. cron-parser skips such a time to the next day. Pure; time zones come from Intl (the ICU data of Node).

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock reading of `instant` in `timeZone`, as milliseconds whose UTC fields are that reading. */
export function wallClock(instant: number, timeZone: string): number {
  const part: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) if (p.type !== 'literal') part[p.type] = Number(p.value);
  const wholeSeconds = Date.UTC(part['year'] as number, (part['month'] as number) - 1, part['day'], part['hour'], part['minute'], part['second']);
  return wholeSeconds + (((instant % 1000) + 1000) % 1000);
}

const offsetAt = (instant: number, timeZone: string) => wallClock(instant, timeZone) - instant;
const DAY_MS = 24 * 3600 * 1000;

/**
 * When `wall` (a wall-clock reading, as from wallClock) is one a DST change skips in `timeZone`, the instant that
 * gap ends (the first instant after it); undefined when the clock does read `wall` at some instant.
 */
export function gapEnd(wall: number, timeZone: string): number | undefined {
  const candidates = [wall - offsetAt(wall - DAY_MS, timeZone), wall - offsetAt(wall + DAY_MS, timeZone)];
  if (candidates.some((c) => wallClock(c, timeZone) === wall)) return undefined;
  let lo = Math.min(...candidates);
  let hi = Math.max(...candidates);
  const after = offsetAt(hi, timeZone);
  if (offsetAt(lo, timeZone) === after) return undefined;
  // the first instant with the offset after the change (to the millisecond)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid, timeZone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * When the clock read the same as at `instant` once before, in the hour a fall-back change repeats: that earlier
 * instant (the first pass); undefined otherwise.
 */
export function firstPassOf(instant: number, timeZone: string): number | undefined {
  const shift = offsetAt(instant - DAY_MS, timeZone) - offsetAt(instant, timeZone);
  return shift > 0 && wallClock(instant - shift, timeZone) === wallClock(instant, timeZone) ? instant - shift : undefined;
}
