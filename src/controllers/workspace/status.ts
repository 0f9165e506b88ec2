// The conditions a DatabricksWorkspace's verdict writes, for kubectl, Argo CD (its health check reads Ready) and
// kstatus (Flux, Helm 4 --wait: Reconciling and Stalled, docs/concepts.md): an unreachable host is retried by the
// operator, every other failure needs a person. Pure, so the tools' tests judge what the reconciler writes.
import { type WorkspaceSpec, WorkspaceReadyReason } from '../../api/v1alpha1/index.js';
import { type Condition, setAbnormalTrue, setCondition } from '../../kube/conditions.js';

export interface WorkspaceVerdict {
  ready: boolean;
  reason: string;
  message: string;
}

/**
 * Whether a Ready=False verdict of this reason waits for a person (the workspace is Stalled, and so are the endpoints
 * that use it): only an unreachable host is retried by the operator until it answers.
 */
export const needsPerson = (reason: string): boolean => reason !== WorkspaceReadyReason.HostUnreachable;

export function workspaceConditions(conditions: readonly Condition[] | undefined, verdict: WorkspaceVerdict, generation: number | undefined, now: Date): Condition[] {
  const ready = setCondition(conditions, { type: 'Ready', status: verdict.ready ? 'True' : 'False', reason: verdict.reason, message: verdict.message }, generation, now);
  const failing = verdict.ready ? undefined : verdict;
  const retried = failing !== undefined && !needsPerson(failing.reason);
  const stalled = setAbnormalTrue(ready, 'Stalled', retried ? undefined : failing, generation, now);
  return setAbnormalTrue(stalled, 'Reconciling', retried ? failing : undefined, generation, now);
}

/** What a person fixes for a verdict that needs one, in short for an endpoint's message (the verdict's says how). */
export function whatToFix(reason: string, namespace: string, spec: WorkspaceSpec): string {
  const secret = spec.auth.token?.secretRef.name ?? spec.auth.oauthM2M?.secretRef.name;
  switch (reason) {
    case WorkspaceReadyReason.SecretNotFound:
    case WorkspaceReadyReason.AuthenticationFailed:
      return secret ? `fix its credentials Secret ${namespace}/${secret}` : 'fix its token federation (spec.auth.tokenFederation, or the federation policy of its service principal)';
    case WorkspaceReadyReason.FederationHostNotTrusted:
      return 'fix its spec.auth, or have the cluster admin trust its host, as its message says';
    default:
      return 'fix its spec, as its message says';
  }
}
