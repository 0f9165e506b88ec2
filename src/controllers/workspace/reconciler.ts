// DatabricksWorkspace: verify the credentials with one cheap read and say so in Ready.
import { type DatabricksWorkspace, WorkspaceReadyReason, WorkspaceSpec, type WorkspaceStatus } from '../../api/v1alpha1/index.js';
import { isDatabricksError } from '../../databricks/index.js';
import {
  type Condition,
  type EventRecorder,
  type Informer,
  type KubeObject,
  type Reconcile,
  setAbnormalTrue,
  setCondition,
  type StatusWriter,
  splitKey,
} from '../../kube/index.js';
import { WorkspaceResource } from '../resources.js';
import { clause } from '../text.js';
import type { WorkspaceConnections } from './connections.js';

type Workspace = DatabricksWorkspace & KubeObject;

export interface WorkspaceReconcilerOptions {
  workspaces: Pick<Informer<Workspace>, 'get'>;
  connections: WorkspaceConnections;
  statusWriter: StatusWriter;
  events: EventRecorder;
  /** Re-verify working credentials this often (tokens get revoked). */
  verifyIntervalMs: number;
  /** Retry failed verifications this often (Secret watches also wake us). */
  retryIntervalMs: number;
  /** Deadline of the verifying read, retries included (--databricks-timeout): an unreachable host is reported after it. */
  callDeadlineMs: number;
  now?: () => Date;
}

interface Verdict {
  ready: boolean;
  reason: string;
  message: string;
}

export function workspaceReconciler(options: WorkspaceReconcilerOptions): Reconcile {
  const now = options.now ?? (() => new Date());
  return async (key, { signal, log }) => {
    const workspace = options.workspaces.get(key);
    if (!workspace) return;
    const verdict = await verify(options, workspace, signal);
    // Rate limited: nothing was learnt about the credentials, so keep the status and come back.
    if ('retryAfterMs' in verdict) return { requeueAfterMs: verdict.retryAfterMs };
    const generation = workspace.metadata.generation;
    const previous = workspace.status?.conditions?.find((c) => c.type === 'Ready');
    const ready = setCondition(
      workspace.status?.conditions as Condition[] | undefined,
      { type: 'Ready', status: verdict.ready ? 'True' : 'False', reason: verdict.reason, message: verdict.message },
      generation,
      now(),
    );
    // kstatus (Flux, Helm 4 --wait): an unreachable host is retried; the other failures need a person.
    const failing = verdict.ready ? undefined : verdict;
    const retried = failing?.reason === WorkspaceReadyReason.HostUnreachable;
    const stalled = setAbnormalTrue(ready, 'Stalled', retried ? undefined : failing, generation, now());
    const conditions = setAbnormalTrue(stalled, 'Reconciling', retried ? failing : undefined, generation, now());
    const status: WorkspaceStatus = { ...workspace.status, observedGeneration: generation, conditions };
    const written = await options.statusWriter.write<Workspace>(WorkspaceResource, workspace, status, signal);
    if (written.gone) return;
    // Written by someone else meanwhile: check again from the latest object rather than re-send a stale status.
    if (written.conflict) return { requeueAfterMs: 1 };
    if (previous?.status !== (verdict.ready ? 'True' : 'False') || previous?.reason !== verdict.reason) {
      await options.events.record(workspace, verdict.ready ? 'Normal' : 'Warning', verdict.reason, verdict.message);
    }
    log.debug({ workspace: splitKey(key), ready: verdict.ready, reason: verdict.reason }, 'workspace verified');
    return { requeueAfterMs: verdict.ready ? options.verifyIntervalMs : options.retryIntervalMs };
  };
}

async function verify(
  options: WorkspaceReconcilerOptions,
  workspace: Workspace,
  signal: AbortSignal,
): Promise<Verdict | { retryAfterMs: number }> {
  const parsed = WorkspaceSpec.safeParse(workspace.spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ready: false, reason: WorkspaceReadyReason.InvalidSpec, message: `spec.${issue?.path.join('.')}: ${issue?.message}` };
  }
  const result = options.connections.clientFor({ ...workspace, spec: parsed.data });
  if ('error' in result) {
    const reason = result.error.reason === 'InvalidSpec' ? WorkspaceReadyReason.InvalidSpec : result.error.reason;
    return { ready: false, reason, message: result.error.message };
  }
  try {
    const { authType, endpointCount } = await result.client.checkCredentials({ signal, maxBudgetWaitMs: 1_000, deadlineMs: options.callDeadlineMs });
    return {
      ready: true,
      reason: WorkspaceReadyReason.Authenticated,
      message: `authenticated to ${parsed.data.host} with ${authType}; ${endpointCount} serving endpoint(s) visible`,
    };
  } catch (err) {
    if (isDatabricksError(err) && err.kind === 'Auth') {
      return {
        ready: false,
        reason: WorkspaceReadyReason.AuthenticationFailed,
        message: `${parsed.data.host} refused the credentials: ${clause(err.message)}. Check the Secret or the service principal.`,
      };
    }
    if (isDatabricksError(err) && err.kind === 'RateLimited') return { retryAfterMs: err.retryAfterMs ?? options.retryIntervalMs };
    const message = err instanceof Error ? err.message : String(err);
    return { ready: false, reason: WorkspaceReadyReason.HostUnreachable, message: `cannot reach ${parsed.data.host}: ${message}` };
  }
}
