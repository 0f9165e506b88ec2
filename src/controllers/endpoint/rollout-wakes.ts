// Objects watching their rollout look again on a backoff (half the rollout's age, requeue.ts), and each look reads
// the workspace's shared list. A list read for any of them shows every endpoint of the workspace, so the objects
// whose rollout it shows ended are woken at once rather than at their next look: a rollout is seen Ready within
// the list's keep time of its end, not up to half its age later (issue 12 item 1). No read is added.
import type { EndpointList } from './workspace-list.js';

interface Watcher {
  endpointName: string;
  /** the list must have been started after this (ListFreshness.listAfter): an older one cannot show the rollout */
  after: number;
}

export class RolloutWakes {
  private readonly byWorkspace = new Map<string, Map<string, Watcher>>();
  private readonly workspaceOf = new Map<string, string>();

  constructor(private readonly wake: (key: string) => void) {}

  /** `key`'s object waits for its rollout of `endpointName` in `workspace`, started after `after`. */
  watch(key: string, workspace: string, endpointName: string, after: number): void {
    this.forget(key);
    let watchers = this.byWorkspace.get(workspace);
    if (!watchers) this.byWorkspace.set(workspace, (watchers = new Map()));
    watchers.set(key, { endpointName, after });
    this.workspaceOf.set(key, workspace);
  }

  forget(key: string): void {
    const workspace = this.workspaceOf.get(key);
    if (workspace === undefined) return;
    this.workspaceOf.delete(key);
    const watchers = this.byWorkspace.get(workspace);
    watchers?.delete(key);
    if (watchers?.size === 0) this.byWorkspace.delete(workspace);
  }

  /** A list of `workspace` started at `startedAt` was answered: wake the watchers whose rollout it shows ended. */
  listed(workspace: string, list: EndpointList, startedAt: number): void {
    if (list.kind !== 'found') return;
    const watchers = this.byWorkspace.get(workspace);
    if (!watchers) return;
    for (const [key, watcher] of watchers) {
      if (startedAt <= watcher.after) continue;
      // gone from the list counts too: the look that wakes reads the endpoint and tells what happened
      if (list.value.get(watcher.endpointName)?.configUpdate === 'IN_PROGRESS') continue;
      this.forget(key);
      this.wake(key);
    }
  }

  get watching(): number {
    return this.workspaceOf.size;
  }
}
