import type { KubeObject } from './types.js';

export interface RelistDiff<T> {
  added: T[];
  updated: Array<{ oldObj: T; newObj: T }>;
  deleted: T[];
}

/**
 * What changed between the cache and a fresh list of the same scope: objects new to the cache, objects whose
 * resourceVersion moved, and cached objects the list no longer has (deleted while we were not watching).
 */
export function diffRelist<T extends KubeObject>(cached: ReadonlyMap<string, T>, listed: ReadonlyMap<string, T>): RelistDiff<T> {
  const diff: RelistDiff<T> = { added: [], updated: [], deleted: [] };
  for (const [key, newObj] of listed) {
    const oldObj = cached.get(key);
    if (oldObj === undefined) diff.added.push(newObj);
    else if (oldObj.metadata.resourceVersion !== newObj.metadata.resourceVersion) diff.updated.push({ oldObj, newObj });
  }
  for (const [key, oldObj] of cached) if (!listed.has(key)) diff.deleted.push(oldObj);
  return diff;
}
