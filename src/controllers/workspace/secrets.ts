// The Secrets that DatabricksWorkspaces reference, read one by one with GET when a workspace is verified.
// No list or watch of Secrets: the operator never sees a Secret no workspace names, and its RBAC needs only
// `get` on Secrets. A created or rotated Secret is picked up at the next verification of the workspace
// (--workspace-retry-interval while not ready, --workspace-verify-interval while ready, or at once when the
// workspace object changes).
import { CoreResources, isNotFound, type KubeClient } from '../../kube/index.js';
import type { Secret } from './connections.js';

/**
 * Longest value kept, in bytes (decoded): PATs and OAuth client ids and secrets are under 100 characters.
 * A Secret holds up to 1 MiB, and a tenant's small workspace objects may each name one: only credentials are kept.
 */
export const MAX_CREDENTIAL_BYTES = 16 * 1024;

export class ReferencedSecrets {
  private readonly cache = new Map<string, Secret>();
  /** The data keys workspaces named, per Secret: only those are kept. */
  private readonly wanted = new Map<string, Set<string>>();
  /** Secrets read at least once since start (present or not), with the data keys the last read kept; first reads in flight. */
  private readonly read = new Map<string, ReadonlySet<string>>();
  private readonly firstReads = new Map<string, Promise<void>>();

  constructor(private readonly client: Pick<KubeClient, 'get'>) {}

  /** The last copy read of `namespace/name`, if it existed then: the named keys only. */
  get(key: string): Secret | undefined {
    return this.cache.get(key);
  }

  /**
   * Reads the Secret if it was never read since start (or not for these keys): after a restart "not read yet" must not
   * pass for "missing". Concurrent first asks share one GET; later reads are the workspace verifications' (refresh).
   * The keys are wanted at once, so a read in flight keeps them unless its answer came already: then one more read.
   */
  async readOnce(namespace: string, name: string, keys: readonly string[], signal?: AbortSignal): Promise<void> {
    const key = `${namespace}/${name}`;
    this.want(key, keys);
    while (!keys.every((k) => this.read.get(key)?.has(k))) {
      let reading = this.firstReads.get(key);
      if (!reading) {
        reading = this.refresh(namespace, name, keys, signal).finally(() => this.firstReads.delete(key));
        this.firstReads.set(key, reading);
      }
      await reading;
    }
  }

  /**
   * Reads the Secret again (GET) and keeps the `keys` of it that this or an earlier call named; a missing Secret is
   * forgotten, unless `keepIfGone` (a workspace being deleted: its last credentials still delete its endpoints).
   * Other errors (403, network) are thrown.
   */
  async refresh(namespace: string, name: string, keys: readonly string[], signal?: AbortSignal, { keepIfGone = false } = {}): Promise<void> {
    const key = `${namespace}/${name}`;
    const wanted = this.want(key, keys);
    try {
      const secret = await this.client.get<Secret>(CoreResources.secret, namespace, name, signal);
      // Keep only what credentials need: the type (connections.ts refuses Kubernetes' own), the named keys and the
      // resourceVersion that keys the client cache.
      const data: Record<string, string> = {};
      const tooLarge: string[] = [];
      for (const k of wanted) {
        const value = secret.data?.[k];
        if (value === undefined) continue;
        if (Buffer.byteLength(value, 'base64') > MAX_CREDENTIAL_BYTES) tooLarge.push(k);
        else data[k] = value;
      }
      this.cache.set(key, {
        ...(secret.type !== undefined && { type: secret.type }),
        ...(secret.data && { data }),
        ...(tooLarge.length > 0 && { tooLarge }),
        metadata: { name, namespace, resourceVersion: secret.metadata.resourceVersion },
      });
      this.read.set(key, new Set(wanted));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (!keepIfGone) this.cache.delete(key);
      this.read.set(key, new Set(wanted));
    }
  }

  /** Adds `keys` to those kept of the Secret `key` (namespace/name); returns them all. */
  private want(key: string, keys: readonly string[]): Set<string> {
    const wanted = this.wanted.get(key) ?? new Set<string>();
    for (const k of keys) wanted.add(k);
    this.wanted.set(key, wanted);
    return wanted;
  }

  /** Drops a Secret nobody needs any more (its workspace is gone). */
  forget(namespace: string, name: string): void {
    this.cache.delete(`${namespace}/${name}`);
    this.read.delete(`${namespace}/${name}`);
    this.wanted.delete(`${namespace}/${name}`);
  }
}
