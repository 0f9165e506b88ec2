import { JSON_PATCH, type KubeClient } from './client.js';
import { isNotFound, isPatchTestFailed } from './errors.js';
import type { KubeObject, ResourceType } from './types.js';

const MAX_ATTEMPTS = 5;

export const hasFinalizer = (obj: KubeObject, finalizer: string): boolean =>
  obj.metadata.finalizers?.includes(finalizer) ?? false;

/**
 * The JSON patch that adds `finalizer`, guarded by a `test` of the array (or of resourceVersion when there is no
 * array yet) so a concurrent change to the finalizers fails the patch instead of being overwritten.
 */
export function addFinalizerPatch(obj: KubeObject, finalizer: string): object[] {
  const current = obj.metadata.finalizers;
  if (current === undefined || current.length === 0) {
    return [
      { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
      { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
    ];
  }
  return [
    { op: 'test', path: '/metadata/finalizers', value: current },
    { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
  ];
}

/** The JSON patch that removes exactly our entry: it tests the element at its index, then removes that index. */
export function removeFinalizerPatch(obj: KubeObject, finalizer: string): object[] {
  const index = obj.metadata.finalizers?.indexOf(finalizer) ?? -1;
  if (index < 0) return [];
  const path = `/metadata/finalizers/${index}`;
  return [
    { op: 'test', path, value: finalizer },
    { op: 'remove', path },
  ];
}

/** Adds `finalizer` unless present; retries on a failed precondition with a fresh read. Returns the latest object. */
export function addFinalizer<T extends KubeObject>(client: KubeClient, rt: ResourceType, obj: T, finalizer: string, signal?: AbortSignal): Promise<T> {
  return patchWithRetry(client, rt, obj, (o) => (hasFinalizer(o, finalizer) ? [] : addFinalizerPatch(o, finalizer)), signal);
}

/** Removes `finalizer` and nothing else; a missing object counts as done. Returns the latest object (or the input if gone). */
export async function removeFinalizer<T extends KubeObject>(client: KubeClient, rt: ResourceType, obj: T, finalizer: string, signal?: AbortSignal): Promise<T> {
  try {
    return await patchWithRetry(client, rt, obj, (o) => removeFinalizerPatch(o, finalizer), signal);
  } catch (err) {
    if (isNotFound(err)) return obj;
    throw err;
  }
}

async function patchWithRetry<T extends KubeObject>(
  client: KubeClient,
  rt: ResourceType,
  obj: T,
  makePatch: (latest: T) => object[],
  signal?: AbortSignal,
): Promise<T> {
  let latest = obj;
  for (let attempt = 1; ; attempt++) {
    const patch = makePatch(latest);
    if (patch.length === 0) return latest;
    try {
      return await client.patch<T>(rt, latest.metadata.namespace, latest.metadata.name, patch, JSON_PATCH, { signal });
    } catch (err) {
      if (!isPatchTestFailed(err) || attempt >= MAX_ATTEMPTS) throw err;
      latest = await client.get<T>(rt, latest.metadata.namespace, latest.metadata.name, signal);
    }
  }
}
