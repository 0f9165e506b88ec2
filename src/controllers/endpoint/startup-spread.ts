// Start-up without a thundering herd (issue 12): after a restart every object is queued at once, and
// reading all of them at once (780-890 GETs/s at 1,000) held back real work. An object that was settled
// when the operator stopped (Ready for its current generation, nothing pending, not being deleted, no
// schedule) gets its first look at a random point of the poll interval instead, as it would have anyway.
// Anything that changed while the operator was down (a new generation, a deletion) is looked at at once.
import type { Condition } from '../../kube/index.js';

export interface SettledView {
  generation: number;
  deleting: boolean;
  hasSchedule: boolean;
  status: { conditions?: Condition[]; pending?: unknown };
}

export function isSettled(object: SettledView): boolean {
  if (object.deleting || object.hasSchedule || object.status.pending !== undefined) return false;
  const ready = object.status.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && ready.observedGeneration === object.generation;
}

export class StartupSpread {
  private readonly seen = new Set<string>();

  /** The first time this process sees `key`: how long to wait before its first look (undefined: look now). */
  firstLookDelayMs(key: string, object: SettledView, pollIntervalMs: number, random: number): number | undefined {
    if (this.seen.has(key)) return undefined;
    this.seen.add(key);
    return isSettled(object) ? Math.floor(random * pollIntervalMs) : undefined;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }
}
