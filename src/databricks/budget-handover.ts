// What one operator process tells the next about its create/update windows (rate-budget.ts): the calls it sent in
// the last window, and any pause or shrink a 429 caused. Databricks counts a workspace's calls whoever sent them, so
// a new leader (a rolling update, a crash) that started with an empty window would send a full burst into a window
// its predecessor filled, and meet 429s. The leader writes this record where its successor reads it (the leader
// election Lease: controllers/run.ts); the successor seeds its windows from it before it reconciles anything.
//
// Times are the writer's clock (systemClock: epoch milliseconds on a monotonic clock), written as offsets from the
// record's own time so it stays small; replicas' clocks differ by their wall clocks' skew, which the window's margin
// absorbs. Hand-written, not a library: it is a small JSON shape with bounds, checked with zod like every input.
import { z } from 'zod';
import { MAX_RETRY_AFTER_MS } from './errors.js';

export interface WindowHandover {
  /** when each call counted in the window was sent, ascending */
  sent: number[];
  /** a 429's Retry-After pause ends then */
  pausedUntil?: number;
  /** the window was halved to `limit` at `at` (it grows back from then) */
  shrink?: { limit: number; at: number };
  /** the namespaces whose calls it counts: a record too small for every window is shared among them */
  tenants?: string[];
}

export interface BudgetHandover {
  /** when the record was made (the writer's clock) */
  at: number;
  /** by budget key: a host, or a host and a workspace's share (rate-budget.ts) */
  windows: Record<string, WindowHandover>;
}

/**
 * A Kubernetes annotation must stay well under the object's 256 KiB of annotations: the windows kept are each
 * namespace's busiest, in turns.
 */
export const MAX_HANDOVER_BYTES = 64 * 1024;
/**
 * The latest calls of a window handed over, at most: a window only looks at its last `limit` calls, and Databricks'
 * documented limit is 50. A limit raised past this (a workspace Databricks allows more) is handed over in part.
 */
export const MAX_HANDOVER_CALLS_PER_WINDOW = 1_000;

const Offset = z.number().int().min(-86_400_000).max(86_400_000);
// What a leader writes, and no more (a record is whatever the Lease's writers put there): calls sent by the record's
// time (rounded up by a millisecond at most), a pause or halving that ends within the longest Retry-After after it
// (and a predecessor's clock ahead of the writer's: the 10 minutes are room for that skew).
const SentOffset = Offset.max(1);
const PauseOffset = Offset.max(MAX_RETRY_AFTER_MS + 10 * 60_000);
const KeySchema = z.string().min(1).max(600);
const WindowSchema = z.object({
  s: z.array(SentOffset).max(MAX_HANDOVER_CALLS_PER_WINDOW),
  p: PauseOffset.optional(),
  k: z.tuple([z.number().int().positive(), PauseOffset]).optional(),
  /** the window's namespaces, as indexes into the record's `n` */
  t: z.array(z.number().int().nonnegative()).optional(),
});
// Each window is read on its own: one that does not fit (its host's answers chose its pause) costs that window, not
// every other tenant's.
const WireSchema = z.object({
  v: z.literal(1),
  at: z.number().int().nonnegative(),
  /** the namespaces the windows name, each once */
  n: z.array(z.string().max(253)).optional(),
  w: z.record(z.string(), z.unknown()),
});
type Wire = { v: 1; at: number; n?: string[]; w: Record<string, z.infer<typeof WindowSchema>> };

/**
 * The record as text, or undefined when there is nothing to hand over. As many windows as fit, in turns between the
 * namespaces (inTurns).
 */
export function encodeHandover(handover: BudgetHandover, maxBytes = MAX_HANDOVER_BYTES): string | undefined {
  const at = Math.round(handover.at);
  const entries = Object.entries(handover.windows).filter(([, w]) => w.sent.length > 0 || w.pausedUntil !== undefined || w.shrink !== undefined);
  if (entries.length === 0) return undefined;
  const wire: Wire = { v: 1, at, n: [], w: {} };
  const named = new Map<string, number>();
  let size = JSON.stringify(wire).length;
  for (const [key, w] of inTurns(entries)) {
    const tenants = [...new Set(w.tenants)];
    const newNames = tenants.filter((tenant) => !named.has(tenant));
    const indexes = tenants.map((tenant) => named.get(tenant) ?? named.size + newNames.indexOf(tenant));
    // Rounded up: a call counted a little later leaves the window a little later, never earlier than it should.
    const entry: Wire['w'][string] = {
      s: w.sent.slice(-MAX_HANDOVER_CALLS_PER_WINDOW).map((t) => Math.ceil(t) - at),
      ...(w.pausedUntil !== undefined && { p: Math.ceil(w.pausedUntil) - at }),
      ...(w.shrink && { k: [w.shrink.limit, Math.ceil(w.shrink.at) - at] as [number, number] }),
      ...(indexes.length > 0 && { t: indexes }),
    };
    const added = JSON.stringify(key).length + JSON.stringify(entry).length + 2 + newNames.reduce((sum, name) => sum + JSON.stringify(name).length + 1, 0);
    if (size + added > maxBytes) break;
    for (const name of newNames) named.set(name, named.size);
    wire.w[key] = entry;
    size += added;
  }
  wire.n = [...named.keys()];
  return JSON.stringify(wire);
}

/**
 * The windows in the order a record keeps them: one of each namespace per turn, each namespace's busiest first. A
 * namespace with many busy hosts of its own (a wildcard name) therefore cannot fill the record before another
 * namespace's host is in it, as it could when the busiest windows of all came first. Windows of no known namespace
 * (handed over by an older leader) take their turns as one more namespace.
 */
function* inTurns(entries: [string, WindowHandover][]): Generator<[string, WindowHandover]> {
  const busiest = [...entries].sort(([, x], [, y]) => y.sent.length - x.sent.length);
  const lines = new Map<string | undefined, { windows: [string, WindowHandover][]; next: number }>();
  for (const entry of busiest) {
    for (const tenant of entry[1].tenants?.length ? entry[1].tenants : [undefined]) {
      const line = lines.get(tenant) ?? { windows: [], next: 0 };
      line.windows.push(entry);
      lines.set(tenant, line);
    }
  }
  const taken = new Set<string>();
  while (lines.size > 0) {
    for (const [tenant, line] of lines) {
      while (line.next < line.windows.length && taken.has((line.windows[line.next] as [string, WindowHandover])[0])) line.next++;
      const entry = line.windows[line.next++];
      if (entry === undefined) {
        lines.delete(tenant);
        continue;
      }
      taken.add(entry[0]);
      yield entry;
    }
  }
}

/**
 * The record a predecessor wrote, or undefined when it is unreadable or says nothing about the last window: made more
 * than `windowMs` before `now`, or from a clock more than that ahead. A window that does not fit is left out.
 */
export function decodeHandover(text: string, now: number, windowMs: number): BudgetHandover | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const wire = WireSchema.safeParse(parsed);
  if (!wire.success) return undefined;
  const { at, n = [], w } = wire.data;
  if (Math.abs(now - at) > windowMs) return undefined;
  const windows: Record<string, WindowHandover> = {};
  for (const [key, value] of Object.entries(w)) {
    const window = WindowSchema.safeParse(value);
    if (!window.success || !KeySchema.safeParse(key).success) continue;
    const entry = window.data;
    const tenants = (entry.t ?? []).flatMap((index) => n[index] ?? []);
    windows[key] = {
      sent: entry.s.map((offset) => at + offset).sort((x, y) => x - y),
      ...(entry.p !== undefined && { pausedUntil: at + entry.p }),
      ...(entry.k && { shrink: { limit: entry.k[0], at: at + entry.k[1] } }),
      ...(tenants.length > 0 && { tenants }),
    };
  }
  return Object.keys(windows).length > 0 ? { at, windows } : undefined;
}
