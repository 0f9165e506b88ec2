import { MERGE_PATCH, type KubeClient } from './client.js';
import { isConflict } from './errors.js';
import { deepEqual, mergePatchBetween } from './json.js';
import type { KubeObject, ResourceType } from './types.js';

export type WithStatus = KubeObject & { status?: unknown };

export interface StatusWriteResult<T> {
  /** False when the status already equalled the desired one and no request was sent. */
  written: boolean;
  object: T;
}

/**
 * Writes `.status` through the /status subresource with a JSON merge patch that carries the resourceVersion it was
 * computed against (so a concurrent write answers 409 rather than being overwritten). On 409 it re-reads the object
 * and retries. When the desired status already equals the current one nothing is sent, so an idle cluster sees no
 * writes from us.
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
        return { written: true, object };
      } catch (err) {
        if (!isConflict(err) || attempt >= this.maxAttempts) throw err;
        latest = await this.client.get<T>(rt, latest.metadata.namespace, latest.metadata.name, signal);
      }
    }
  }
}
