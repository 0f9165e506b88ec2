// The conditions a DatabricksWorkspace's verdict writes, for kubectl, Argo CD (its health check reads Ready) and
// kstatus (Flux, Helm 4 --wait: Reconciling and Stalled, docs/concepts.md): an unreachable host is retried by the
// operator, every other failure needs a person. Pure, so the tools' tests judge what the reconciler writes.
import { WorkspaceReadyReason } from '../../api/v1alpha1/index.js';
import { type Condition, setAbnormalTrue, setCondition } from '../../kube/conditions.js';

export interface WorkspaceVerdict {
  ready: boolean;
  reason: string;
  message: string;
}

export function workspaceConditions(conditions: readonly Condition[] | undefined, verdict: WorkspaceVerdict, generation: number | undefined, now: Date): Condition[] {
  const ready = setCondition(conditions, { type: 'Ready', status: verdict.ready ? 'True' : 'False', reason: verdict.reason, message: verdict.message }, generation, now);
  const failing = verdict.ready ? undefined : verdict;
  const retried = failing?.reason === WorkspaceReadyReason.HostUnreachable;
  const stalled = setAbnormalTrue(ready, 'Stalled', retried ? undefined : failing, generation, now);
  return setAbnormalTrue(stalled, 'Reconciling', retried ? failing : undefined, generation, now);
}
