// The Secrets that DatabricksWorkspaces reference, read one by one with GET when a workspace is verified.
// No list or watch of Secrets: the operator never sees a Secret no workspace names, and its RBAC needs only
// `get` on Secrets. A created or rotated Secret is picked up at the next verification of the workspace
// (--workspace-retry-interval while not ready, --workspace-verify-interval while ready, or at once when the
// workspace object changes).
import { CoreResources, isNotFound, type KubeClient } from '../../kube/index.js';
import type { Secret } from './connections.js';

export class ReferencedSecrets {
  private readonly cache = new Map<string, Secret>();
  /** Keys read at least once since start (present or not), and first reads in flight. */
  private readonly read = new Set<string>();
  private readonly firstReads = new Map<string, Promise<void>>();

  constructor(private readonly client: Pick<KubeClient, 'get'>) {}

  /** The last copy read of `namespace/name`, if it existed then. */
  get(key: string): Secret | undefined {
    return this.cache.get(key);
  }

  /**
   * Reads the Secret if it was never read since start: after a restart "not read yet" must not pass for "missing".
   * Concurrent first asks share one GET; later reads are the workspace verifications' (refresh).
   */
  async readOnce(namespace: string, name: string, signal?: AbortSignal): Promise<void> {
    const key = `${namespace}/${name}`;
    if (this.read.has(key)) return;
    let reading = this.firstReads.get(key);
    if (!reading) {
      reading = this.refresh(namespace, name, signal).finally(() => this.firstReads.delete(key));
      this.firstReads.set(key, reading);
    }
    await reading;
  }

  /** Reads the Secret again (GET); a missing Secret is forgotten. Other errors (403, network) are thrown. */
  async refresh(namespace: string, name: string, signal?: AbortSignal): Promise<void> {
    const key = `${namespace}/${name}`;
    try {
      const secret = await this.client.get<Secret>(CoreResources.secret, namespace, name, signal);
      // Keep only what credentials need: the type (connections.ts refuses Kubernetes' own), data and the
      // resourceVersion that keys the client cache.
      this.cache.set(key, {
        ...(secret.type !== undefined && { type: secret.type }),
        ...(secret.data && { data: secret.data }),
        metadata: { name, namespace, resourceVersion: secret.metadata.resourceVersion },
      });
      this.read.add(key);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.cache.delete(key);
      this.read.add(key);
    }
  }

  /** Drops a Secret nobody needs any more (its workspace is gone). */
  forget(namespace: string, name: string): void {
    this.cache.delete(`${namespace}/${name}`);
    this.read.delete(`${namespace}/${name}`);
  }
}
