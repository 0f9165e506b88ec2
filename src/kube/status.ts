import { MERGE_PATCH, type KubeClient } from './client.js';
import { isConflict, isNotFound } from './errors.js';
import { deepEqual, mergePatchBetween } from './json.js';
import type { KubeObject, ResourceType } from './types.js';

export type WithStatus = KubeObject & { status?: unknown };

export interface StatusWriteResult<T> {
  /** False when nothing was written: the status already equalled the desired one (no request), or see below. */
  written: boolean;
  object: T;
  /** The object is gone (404): it was deleted while we reconciled it; there is nothing to write to. */
  gone?: true;
  /**
   * Someone else wrote the status since it was read (409), and `desired` was a fixed status computed from that stale
   * status: it is not re-sent. The caller plans again from the latest object (requeue).
   */
  conflict?: true;
  /**
   * The write went to a newer version than `current` (a conflict with a spec or metadata write, retried): the
   * resourceVersion it was made against, which a cache may still deliver after `current`'s.
   */
  writtenOver?: string;
}

/**
 * Writes `.status` through the /status subresource with a JSON merge patch that carries the resourceVersion it was
 * computed against (so a concurrent write answers 409 rather than being overwritten). On 409 the object is read
 * again: a status given as a function of the object is recomputed from it and retried; a fixed status is retried
 * only when the status it was computed from still stands (the conflict came from a spec, annotation or finalizer
 * write, which does not make what it reports untrue; the change itself is the next reconcile's), otherwise it is not
 * re-sent and the result says `conflict`. A 404 (deleted meanwhile) is `gone`, not an error.
 * When the desired status already equals the current one nothing is sent, so an idle cluster sees no writes from us.
 */
export class StatusWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly maxAttempts = 5,
  ) {}

  /**
   * `desired` is either the new status, or a function of the latest object (called again after each re-read,
   * so a status derived from the object stays consistent with the version it is written to).
   */
  async write<T extends WithStatus>(
    rt: ResourceType,
    current: T,
    desired: T['status'] | ((latest: T) => T['status']),
    signal?: AbortSignal,
  ): Promise<StatusWriteResult<T>> {
    let latest = current;
    for (let attempt = 1; ; attempt++) {
      const status = typeof desired === 'function' ? (desired as (latest: T) => T['status'])(latest) : desired;
      if (deepEqual(latest.status ?? {}, status ?? {})) return { written: false, object: latest };
      try {
        const object = await this.client.patch<T>(
          rt,
          latest.metadata.namespace,
          latest.metadata.name,
          {
            metadata: { resourceVersion: latest.metadata.resourceVersion },
            status: mergePatchBetween(latest.status ?? {}, status),
          },
          MERGE_PATCH,
          { subresource: 'status', signal },
        );
        return { written: true, object, ...(latest !== current && { writtenOver: latest.metadata.resourceVersion }) };
      } catch (err) {
        if (isNotFound(err)) return { written: false, gone: true, object: latest };
        if (!isConflict(err) || attempt >= this.maxAttempts) throw err;
        let reread: T;
        try {
          reread = await this.client.get<T>(rt, latest.metadata.namespace, latest.metadata.name, signal);
        } catch (readErr) {
          if (isNotFound(readErr)) return { written: false, gone: true, object: latest };
          throw readErr;
        }
        if (typeof desired !== 'function' && !deepEqual(reread.status ?? {}, current.status ?? {})) return { written: false, conflict: true, object: latest };
        latest = reread;
      }
    }
  }
}
