// DatabricksWorkspace: verify the credentials with one cheap read and say so in Ready.
import { type DatabricksWorkspace, WorkspaceReadyReason, WorkspaceSpec, type WorkspaceStatus } from '../../api/v1alpha1/index.js';
import { isDatabricksError } from '../../databricks/index.js';
import {
  addFinalizer,
  type Condition,
  findCondition,
  type EventRecorder,
  hasFinalizer,
  type Informer,
  type KubeClient,
  type KubeObject,
  type Logger,
  objectKey,
  type Reconcile,
  type ReconcileOutcome,
  removeFinalizer,
  type StatusWriter,
  splitKey,
} from '../../kube/index.js';
import { type CrdDeletionCheck, WORKSPACE_CRD } from '../crd-deletion.js';
import { WORKSPACE_FINALIZER, WorkspaceResource } from '../resources.js';
import { clause } from '../text.js';
import { credentialSecretOf, type WorkspaceConnections } from './connections.js';
import { planWorkspaceDeletion } from './deletion.js';
import { type WorkspaceVerdict, workspaceConditions } from './status.js';
import type { ReferencedSecrets } from './secrets.js';

type Workspace = DatabricksWorkspace & KubeObject;

/** What the workspace reconciler needs to know about the endpoint objects that use a workspace. */
export interface WorkspaceUser {
  name: string;
  deleting: boolean;
}

export interface WorkspaceReconcilerOptions {
  workspaces: Pick<Informer<Workspace>, 'get' | 'list'>;
  /** Endpoint objects in `namespace` whose spec.workspaceRef names `workspace`. */
  usersOf: (namespace: string, workspace: string, signal: AbortSignal) => readonly WorkspaceUser[] | Promise<readonly WorkspaceUser[]>;
  kube: KubeClient;
  crdDeleting: CrdDeletionCheck;
  secrets: Pick<ReferencedSecrets, 'get' | 'refresh' | 'forget'>;
  connections: WorkspaceConnections;
  statusWriter: StatusWriter;
  events: EventRecorder;
  /** Re-verify working credentials this often (tokens get revoked). */
  verifyIntervalMs: number;
  /** Retry failed verifications this often (also how soon a created Secret is noticed). */
  retryIntervalMs: number;
  /** Deadline of the verifying read, retries included (--databricks-timeout): an unreachable host is reported after it. */
  callDeadlineMs: number;
  /** Each verdict reached (not a rate-limited attempt), after its status is written. */
  verified?: (key: string, ready: boolean) => void;
  /** The operator's identity behind a workspace's credentials was learnt (after its verdict): look at it again. */
  identityLearnt?: (key: string) => void;
  /** Whether endpoint calls were refused with the workspace's credentials since its last verdict. */
  refusedSinceVerdict?: (key: string) => boolean;
  /** The workspace is gone (deleted): what is kept by its key goes too. */
  gone?: (key: string) => void;
  now?: () => Date;
}

interface Verdict extends WorkspaceVerdict {
  /** who the credentials stand for (SCIM Me), when ready and learnt */
  identity?: string;
  /** SCIM Me is being asked: the identity shown is kept until it answers */
  identityAsked?: boolean;
}

export function workspaceReconciler(options: WorkspaceReconcilerOptions): Reconcile {
  const now = options.now ?? (() => new Date());
  // What the DeletionWaiting Event of each workspace being deleted last told (its uid, whether its users were being
  // deleted): each change of a user wakes it, and a namespace being deleted refuses every Event write.
  const waitsTold = new Map<string, string>();
  return async (key, { signal, log }) => {
    let workspace = options.workspaces.get(key);
    if (!workspace) {
      waitsTold.delete(key);
      options.gone?.(key);
      return;
    }
    if (workspace.metadata.deletionTimestamp !== undefined) return reconcileDeletion(options, workspace, waitsTold, now(), signal, log);
    if (!hasFinalizer(workspace, WORKSPACE_FINALIZER)) {
      // Before anything can use it: from now on the workspace outlives the endpoint objects that use it.
      workspace = await addFinalizer(options.kube, WorkspaceResource, workspace, WORKSPACE_FINALIZER, signal);
    }
    return verifyAndReport(options, workspace, now(), signal, log);
  };
}

/** Verifies the credentials and writes the verdict (status, an Event when it changes); when to look again. */
async function verifyAndReport(
  options: WorkspaceReconcilerOptions,
  workspace: Workspace,
  now: Date,
  signal: AbortSignal,
  log: Logger,
  secretRead: { keepIfGone?: boolean } = {},
): Promise<ReconcileOutcome> {
  const key = objectKey(workspace);
  const verdict = await verify(options, workspace, signal, secretRead);
  // Rate limited: nothing was learnt about the credentials, so keep the status and come back.
  if ('retryAfterMs' in verdict) return { requeueAfterMs: verdict.retryAfterMs };
  const generation = workspace.metadata.generation;
  const previous = workspace.status?.conditions?.find((c) => c.type === 'Ready');
  const conditions = workspaceConditions(workspace.status?.conditions as Condition[] | undefined, verdict, generation, now);
  // status.identity: what these credentials stand for. While SCIM Me is being asked (after a restart, or for a new
  // credential) the identity shown stays, so a restart writes nothing for an unchanged workspace; the answer
  // replaces it or, if the ask failed, drops it (a replaced credential's identity would mislead).
  const { identity: previousIdentity, ...kept } = workspace.status ?? {};
  const identity = verdict.identity ?? (verdict.identityAsked ? previousIdentity : undefined);
  const status: WorkspaceStatus = { ...kept, observedGeneration: generation, conditions, ...(identity !== undefined && { identity }) };
  const written = await options.statusWriter.write<Workspace>(WorkspaceResource, workspace, status, signal);
  if (written.gone) return;
  // Written by someone else meanwhile: check again from the latest object rather than re-send a stale status.
  if (written.conflict) return { requeueAfterMs: 1 };
  if (previous?.status !== (verdict.ready ? 'True' : 'False') || previous?.reason !== verdict.reason) {
    await options.events.record(workspace, verdict.ready ? 'Normal' : 'Warning', verdict.reason, verdict.message);
  }
  log.debug({ workspace: splitKey(key), ready: verdict.ready, reason: verdict.reason }, 'workspace verified');
  options.verified?.(key, verdict.ready);
  return { requeueAfterMs: verdict.ready ? options.verifyIntervalMs : options.retryIntervalMs };
}

/**
 * A workspace being deleted keeps its finalizer (and its status, and the credentials last read) while endpoint
 * objects use it, so they can still delete their Databricks endpoints even when its Secret is already gone
 * (a namespace deletion removes everything at once). It is verified again meanwhile only while its last verdict is
 * not Ready: its users wait for one.
 */
async function reconcileDeletion(
  options: WorkspaceReconcilerOptions,
  workspace: Workspace,
  waitsTold: Map<string, string>,
  now: Date,
  signal: AbortSignal,
  log: Logger,
): Promise<ReconcileOutcome> {
  if (!hasFinalizer(workspace, WORKSPACE_FINALIZER)) return;
  const namespace = workspace.metadata.namespace ?? '';
  const users = await options.usersOf(namespace, workspace.metadata.name, signal);
  // Only ask the API server about the CRD when the answer matters.
  const crdDeleting = users.length > 0 && (await options.crdDeleting(WORKSPACE_CRD, signal));
  const plan = planWorkspaceDeletion({ users, crdDeleting });
  if (plan.action === 'wait') {
    // After a restart the credentials were never read: read them while the Secret may still exist. Read again after
    // a refusal (a token rotated since), but a Secret gone since keeps the copy: its users still delete with it.
    const secret = credentialSecretOf(workspace.spec);
    const copy = secret && options.secrets.get(`${namespace}/${secret.name}`);
    if (secret && (!copy || options.refusedSinceVerdict?.(objectKey(workspace)))) {
      await options.secrets.refresh(namespace, secret.name, secret.keys, signal, { keepIfGone: true });
    }
    log.info({ users: users.length }, plan.message);
    const parsed = WorkspaceSpec.safeParse(workspace.spec);
    const lost = parsed.success ? options.connections.lostCredentials(namespace, parsed.data) : undefined;
    // Its last verdict (Ready=True) no longer holds: say so, and what its users can do.
    if (lost) await markCredentialsLost(options, workspace, `${lost}; ${plan.message}: set their spec.deletionPolicy to Orphan to let them go, and delete their endpoints at ${parsed.data?.host} yourself`, signal);
    else {
      // Where the one who deleted it looks (kubectl describe): told once, and again once its users are being deleted.
      const told = `${workspace.metadata.uid}/${plan.usersDeleting}`;
      if (waitsTold.get(objectKey(workspace)) !== told) {
        waitsTold.set(objectKey(workspace), told);
        await options.events.record(workspace, plan.event.type, plan.event.reason, plan.event.message);
      }
      // Its users delete their endpoints only with a Ready verdict: one that is not (an outage, a refused token since
      // rotated) is verified again as usual until it is; a Secret gone meanwhile leaves the copy read before.
      if (findCondition(workspace.status?.conditions, 'Ready')?.status !== 'True') return verifyAndReport(options, workspace, now, signal, log, { keepIfGone: true });
    }
    return;
  }
  await removeFinalizer(options.kube, WorkspaceResource, workspace, WORKSPACE_FINALIZER, signal);
  // Another workspace of the namespace may name the Secret too (one service principal for two hosts): its copy stays,
  // for that one's endpoints may still have to delete theirs with it after the Secret is gone (a namespace deletion).
  const secret = credentialSecretOf(workspace.spec);
  const stillNamed = (name: string) => options.workspaces.list(namespace).some((w) => w.metadata.uid !== workspace.metadata.uid && credentialSecretOf(w.spec)?.name === name);
  if (secret && !stillNamed(secret.name)) options.secrets.forget(namespace, secret.name);
  if (plan.event) await options.events.record(workspace, plan.event.type, plan.event.reason, plan.event.message);
}

async function markCredentialsLost(options: WorkspaceReconcilerOptions, workspace: Workspace, message: string, signal: AbortSignal): Promise<void> {
  const previous = workspace.status?.conditions?.find((c) => c.type === 'Ready');
  if (previous?.status === 'False' && previous.reason === WorkspaceReadyReason.SecretNotFound && previous.message === message) return;
  const generation = workspace.metadata.generation;
  const now = options.now?.() ?? new Date();
  const conditions = workspaceConditions(workspace.status?.conditions as Condition[] | undefined, { ready: false, reason: WorkspaceReadyReason.SecretNotFound, message }, generation, now);
  await options.statusWriter.write<Workspace>(WorkspaceResource, workspace, { ...workspace.status, conditions }, signal);
  await options.events.record(workspace, 'Warning', WorkspaceReadyReason.SecretNotFound, message);
}


async function verify(
  options: WorkspaceReconcilerOptions,
  workspace: Workspace,
  signal: AbortSignal,
  secretRead: { keepIfGone?: boolean },
): Promise<Verdict | { retryAfterMs: number }> {
  const parsed = WorkspaceSpec.safeParse(workspace.spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ready: false, reason: WorkspaceReadyReason.InvalidSpec, message: `spec.${issue?.path.join('.')}: ${issue?.message}` };
  }
  // The one place the operator reads Secrets: a GET of the Secret this workspace names, each time it is verified.
  const secret = credentialSecretOf(parsed.data);
  if (secret) await options.secrets.refresh(workspace.metadata.namespace ?? '', secret.name, secret.keys, signal, secretRead);
  const result = options.connections.clientFor({ ...workspace, spec: parsed.data });
  if ('error' in result) {
    const reason = result.error.reason === 'InvalidSpec' ? WorkspaceReadyReason.InvalidSpec : result.error.reason;
    return { ready: false, reason, message: result.error.message };
  }
  try {
    const { authType, endpointCount } = await result.client.checkCredentials({ signal, maxBudgetWaitMs: 1_000, deadlineMs: options.callDeadlineMs, budgetTenant: workspace.metadata.namespace ?? '' });
    // Who the credentials stand for, for status.identity: asked once per credential (memoised with the endpoints' ask)
    // beside the verdict, never holding it up (a host may answer the list and not SCIM Me); once learnt, the workspace
    // is looked at again when the answer differs from what it shows. A failure leaves it unknown and blocks nothing.
    const identity = options.connections.knownOperatorIdentity(result.client);
    let identityAsked = false;
    if (identity === undefined) {
      const shown = workspace.status?.identity;
      void options.connections.operatorIdentity(result.client, { maxBudgetWaitMs: 1_000, deadlineMs: options.callDeadlineMs }).then((learnt) => {
        // look again when there is something to show, or a kept identity to drop (the ask failed)
        if (learnt !== shown) options.identityLearnt?.(objectKey(workspace));
      });
      identityAsked = options.connections.operatorIdentityAsked(result.client);
    }
    return {
      ...(identity !== undefined && { identity }),
      identityAsked,
      ready: true,
      reason: WorkspaceReadyReason.Authenticated,
      message: `authenticated to ${parsed.data.host} with ${authType}; ${endpointCount} serving endpoint(s) visible`,
    };
  } catch (err) {
    // A 403 to the list is the credentials too: an unknown PAT, or an identity with no access to the workspace.
    if (isDatabricksError(err) && (err.kind === 'Auth' || err.kind === 'PermissionDenied')) {
      return {
        ready: false,
        reason: WorkspaceReadyReason.AuthenticationFailed,
        message: `${parsed.data.host} refused the credentials: ${clause(err.message)}. Check the Secret or the service principal.`,
      };
    }
    if (isDatabricksError(err) && err.kind === 'RateLimited') return { retryAfterMs: err.retryAfterMs ?? options.retryIntervalMs };
    const message = err instanceof Error ? err.message : String(err);
    return { ready: false, reason: WorkspaceReadyReason.HostUnreachable, message: `${whatFailed(parsed.data.host, err)}: ${message}` };
  }
}

/**
 * Why a verification got no verdict, retried like an unreachable host whatever it was, but saying what happened: a
 * host that answered what Databricks does not (a proxy's error page may pass), or a 5xx (Databricks' own outage).
 */
function whatFailed(host: string, err: unknown): string {
  if (isDatabricksError(err) && err.kind === 'InvalidResponse') return `${host} answered, but not as a Databricks workspace does`;
  if (isDatabricksError(err) && err.status !== undefined && err.status >= 500) return `${host} is unavailable: it answered ${err.status}`;
  return `cannot reach ${host}`;
}
