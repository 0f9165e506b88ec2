// Which changes of a DatabricksWorkspace are worth re-reconciling the endpoints that use it.
import type { DatabricksWorkspace } from '../../api/v1alpha1/index.js';
import { type Condition, findCondition, type KubeObject } from '../../kube/index.js';

type Workspace = DatabricksWorkspace & KubeObject;

/**
 * An endpoint reads from its workspace only the spec (host, auth, rate limits: new generation), whether it is being
 * deleted, and its Ready verdict (status, reason, the generation it is for; the message only while not Ready, since
 * the endpoint's status quotes it then). Anything else, such as the periodic re-verification rewriting the message
 * with a new endpoint count, or a timestamp, changes nothing an endpoint would do: waking every endpoint of the
 * namespace for it re-read each of them from Databricks (1,004–1,030 GETs at 1,000 endpoints, issue 12).
 */
export function workspaceChangeAffectsEndpoints(oldObj: Workspace, newObj: Workspace): boolean {
  if (oldObj.metadata.generation !== newObj.metadata.generation) return true;
  if (oldObj.metadata.deletionTimestamp !== newObj.metadata.deletionTimestamp) return true;
  const before = readyOf(oldObj);
  const after = readyOf(newObj);
  if (before?.status !== after?.status || before?.reason !== after?.reason || before?.observedGeneration !== after?.observedGeneration) return true;
  return after?.status !== 'True' && before?.message !== after?.message;
}

const readyOf = (workspace: Workspace): Condition | undefined => findCondition(workspace.status?.conditions as Condition[] | undefined, 'Ready');

/**
 * The endpoint objects whose calls a workspace's credentials were refused for, until its next verdict. When the
 * verification the refusal asked for finds the credentials working (a rotated Secret read, a token renewed), the
 * verdict stays Ready and the workspace's status does not change, so no watch wakes them: the caller wakes the keys
 * this returns, rather than leave them until their retry (--workspace-retry-interval). Kept by key, not read from the
 * endpoints' status: the verdict may come before the refused reconcile has written its WorkspaceNotReady.
 */
export class RefusedCredentials {
  private readonly refused = new Map<string, Set<string>>();
  /** The endpoints the workspace's last Ready verdict woke, until its next verdict. */
  private readonly woken = new Map<string, Set<string>>();

  /**
   * `endpointKey`'s call was refused with `workspaceKey`'s credentials; whether to verify the workspace now. Not when
   * the last Ready verdict woke this endpoint and nothing was verified since: that verification found the credentials
   * working and the host refused the endpoint anyway, so another one explains nothing, and a host that refuses one
   * endpoint's calls but accepts the verification's would have the two wake each other in a loop. The endpoint then
   * waits for its retry, or for the workspace's next verdict.
   */
  refusedFor(workspaceKey: string, endpointKey: string): boolean {
    const keys = this.refused.get(workspaceKey) ?? new Set<string>();
    keys.add(endpointKey);
    this.refused.set(workspaceKey, keys);
    return !this.woken.get(workspaceKey)?.has(endpointKey);
  }

  /** The workspace's verdict: the endpoints to wake now (a Ready verdict after refusals), and forget them either way. */
  verdict(workspaceKey: string, ready: boolean): string[] {
    const keys = this.refused.get(workspaceKey);
    this.refused.delete(workspaceKey);
    this.woken.delete(workspaceKey);
    if (!ready || !keys) return [];
    this.woken.set(workspaceKey, keys);
    return [...keys];
  }

  /** Whether calls were refused with the workspace's credentials since its last verdict. */
  refusedSinceVerdict(workspaceKey: string): boolean {
    return (this.refused.get(workspaceKey)?.size ?? 0) > 0;
  }

  /** The workspace was deleted: it reaches no next verdict, and one created again under its name starts clean. */
  forget(workspaceKey: string): void {
    this.refused.delete(workspaceKey);
    this.woken.delete(workspaceKey);
  }
}
