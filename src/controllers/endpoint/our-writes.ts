// What the reconciler's own writes left that the informer cache has not caught up with yet: the object as the API
// returned it after our write, and the conditions a write-back told in Events before its status write met a conflict.
import { type Condition, stripUnreadMetadata } from '../../kube/index.js';
import type { Endpoint } from './reconciler.js';

export class OurWrites {
  private readonly written = new Map<string, { staleVersions: readonly (string | undefined)[]; object: Endpoint }>();
  // ...and only until then: kept to the next reconcile (the next poll, minutes away), it was a second copy of
  // every endpoint in memory (issue 12 item 4).
  private readonly toldBeforeConflict = new Map<string, Condition[] | undefined>();

  /**
   * What we wrote (`latest`) stands in for the cached `current` until the informer delivers a newer version: a
   * reconcile in between (another change woke the key) must not act on the copy without our write, e.g. look up
   * an endpoint again after its DELETE because the cache still shows our finalizer.
   */
  remember(key: string, current: Endpoint, latest: Endpoint, ...writtenOver: (string | undefined)[]): void {
    // kept as the informer keeps its copies: without the field managers' bookkeeping (often most of an object)
    const staleVersions = [current.metadata.resourceVersion, ...writtenOver];
    if (latest !== current) this.written.set(key, { staleVersions, object: stripUnreadMetadata(latest) });
  }

  /** The informer delivered `cached`: our copy is dropped unless `cached` is one our write made stale. */
  delivered(key: string, cached: Endpoint): void {
    if (!this.written.get(key)?.staleVersions.includes(cached.metadata.resourceVersion)) this.written.delete(key);
  }

  /** The copy a reconcile acts on (ours when the cache still holds a version we wrote over); forgotten once taken. */
  takeFreshest(key: string, cached: Endpoint): Endpoint {
    const fresher = this.written.get(key);
    this.written.delete(key);
    return fresher?.staleVersions.includes(cached.metadata.resourceVersion) ? fresher.object : cached;
  }

  /** A plan whose status write met a conflict told its Events; what it would have written, for the plan made again. */
  conflicted(key: string, conditions: Condition[] | undefined): void {
    this.toldBeforeConflict.set(key, conditions);
  }

  /** The conditions told before a conflict, if any; forgotten once taken. */
  takeToldBeforeConflict(key: string): Condition[] | undefined {
    const told = this.toldBeforeConflict.get(key);
    this.toldBeforeConflict.delete(key);
    return told;
  }

  forget(key: string): void {
    this.written.delete(key);
    this.toldBeforeConflict.delete(key);
  }
}
