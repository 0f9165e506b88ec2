// The I/O shell around planEndpoint: read the object from the cache, observe Databricks, plan,
// execute the one planned action, write status and Events, and say when to look again.
// It never waits for a rollout: it records what it started and requeues.
import { type EndpointSpec as EndpointSpecType, EndpointAnnotation, EndpointSpec, type ProvisionedThroughputEndpoint } from '../../api/v1alpha1/index.js';
import { type DatabricksClient, isDatabricksError, type ModelOptimizationInfo, type ServingEndpointDetailed } from '../../databricks/index.js';
import type { ServingEndpointPermissions } from '../../databricks/api-types.js';
import {
  addFinalizer,
  type Condition,
  type EventRecorder,
  hasFinalizer,
  type Informer,
  type KubeClient,
  type KubeObject,
  objectKey,
  type Reconcile,
  type StatusWriter,
} from '../../kube/index.js';
import type { OperatorMetrics } from '../metrics.js';
import { type CrdDeletionCheck, ENDPOINT_CRD } from '../crd-deletion.js';
import { ENDPOINT_FINALIZER, EndpointResource } from '../resources.js';
import type { WorkspaceConnections } from '../workspace/connections.js';
import {
  type CallFailure,
  type EndpointObject,
  endpointNameOf,
  type Observed,
  type Plan,
  type PlanInput,
  type PlanSettings,
  neverActed,
  onlyWatchingRollout,
  observationsNeeded,
  planActionFailure,
  planEndpoint,
  withActionAnswer,
} from './plan.js';
import { resolveSchedule, scheduleChanged, scheduledSpec, scheduleNotSent, withSchedule } from './schedule.js';
import { canaryKept, canaryPlanFields, decideCanary, withCanary } from './canary.js';
import { gateNeeded, readGate } from './canary-gate.js';
import { withoutRetold } from './status-summary.js';
import { ownershipOf } from './ownership.js';
import { ClaimFences, ClockWaits, claimWaits } from './claim-fence.js';
import { MAX_BUDGET_WAIT_MS, checkSchema, execute, needsFinalizerFirst, observe, observePart, skipped, toFailure } from './actions.js';
import { inferenceTableTarget } from './ai-gateway.js';
import { isObserveOnly, observeRefusal } from './observe-only.js';
import { RolloutWakes } from './rollout-wakes.js';
import { needsPermissions, type PartObserved } from './settings.js';
import { withTelemetryAnswer } from './telemetry.js';
import { progressRequeueMs, readySince, rolloutAgeMs } from './requeue.js';
import { SharedReads } from '../shared-reads.js';
import { ListFreshness, WorkspaceLists, asListed, summarizeList } from './workspace-list.js';
import { SlotWaits } from './slot-waits.js';
import { QuotaGate, refusedByQuota } from './quota-gate.js';
import { type SettledView, StartupSpread } from './startup-spread.js';
import { type TenancyOptions, tenancyView } from './tenancy.js';
import { UnconfirmedCreates } from './unconfirmed-creates.js';
import { handleUnparseableSpec } from './unreadable-spec.js';
import { isPaused } from './user-requests.js';
import { OurWrites } from './our-writes.js';
import { recordEvents, release, writeBack, type WriteBackContext } from './write-back.js';

export { capacityFailuresCounted, timeToReady } from './write-back.js';

export type Endpoint = ProvisionedThroughputEndpoint & KubeObject;

/** What PermissionsSynced names while the operator's identity is unknown (nothing is sent meanwhile). */
const OPERATOR_IDENTITY = 'who the operator is in this workspace (SCIM Me), whom every permissions PUT keeps at CAN_MANAGE so that it cannot revoke its own grant';

export interface EndpointReconcilerOptions {
  endpoints: Pick<Informer<Endpoint>, 'get'> & Partial<Pick<Informer<Endpoint>, 'addHandlers'>>;
  connections: Pick<WorkspaceConnections, 'forEndpoint' | 'readCredentialsOnce'> & Partial<Pick<WorkspaceConnections, 'operatorIdentity'>>;
  kube: KubeClient;
  statusWriter: StatusWriter;
  events: EventRecorder;
  metrics: OperatorMetrics;
  settings: PlanSettings;
  /** The informer cache as the ownership rules read it (other objects, their workspaces). */
  tenancy: TenancyOptions;
  /** Asks the API server whether a CRD is being deleted (only for objects being deleted with our finalizer). */
  crdDeleting?: CrdDeletionCheck;
  /**
   * Databricks refused a workspace's credentials on an endpoint call: have the workspace verified again now (its
   * Secret is read by GET only then, so a rotated Secret takes effect without waiting for the next verification);
   * `key`, the endpoint refused, is woken when that verification finds the credentials working. `client`: the one
   * refused (credentials replaced since it was taken need no verification: the endpoint can go on at once).
   */
  credentialsRefused?: (workspace: string, key: string, client: DatabricksClient) => void;
  /** How long optimization info is reused; it changes rarely and costs a read. */
  modelInfoTtlMs: number;
  /** --databricks-timeout: how long a create may go unanswered (unconfirmed-creates.ts); default 20 s. */
  callDeadlineMs?: number;
  /** Reconcile `key` now (the workspace's list showed that the rollout it watches ended; rollout-wakes.ts). */
  wake?: (key: string) => void;
  /** The earliest the API server's clock can read now (ApiserverClock); undefined until measured. */
  apiserverNow?: () => number | undefined;
  /**
   * A new object waits for a time computed on apiserverNow: tighten the bound if it is loose (ClockProbe); resolves
   * when it is tight (those still waiting are woken then: ClockWaits), undefined when there is nothing to do.
   */
  apiserverClockWanted?: () => Promise<void> | undefined;
  now?: () => Date;
  random?: () => number;
}

export function endpointReconciler(options: EndpointReconcilerOptions): Reconcile {
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const nowMs = () => now().getTime();
  // Optimization info rarely changes and costs a read: kept a while; a missing model is checked again sooner.
  const modelInfo = new SharedReads<Observed<ModelOptimizationInfo>>(nowMs);
  const keepModelInfo = (info: Observed<ModelOptimizationInfo>) =>
    info.kind === 'found' ? options.modelInfoTtlMs : info.kind === 'notFound' ? Math.min(options.modelInfoTtlMs, 60_000) : undefined;
  // One list of a workspace's endpoints stands in for the GET of many objects (workspace-list.ts).
  const endpointList = new WorkspaceLists(nowMs);
  const freshness = new ListFreshness(nowMs);
  const rolloutWakes = new RolloutWakes(options.wake ?? (() => undefined));
  const fences = new ClaimFences();
  const clockWaits = new ClockWaits(options.apiserverClockWanted, options.wake ?? (() => undefined));
  // Our own writes reach the informer cache a moment later; until then, use what the API returned.
  const writes = new OurWrites();
  // When the informer delivers a deletion: the list that decides its DELETE must be read after that.
  const noteDeletion = (obj: Endpoint) => {
    if (obj.metadata.deletionTimestamp !== undefined) freshness.deletionSeen(objectKey(obj));
  };
  options.endpoints.addHandlers?.({
    add: noteDeletion,
    update: (_old, obj) => {
      writes.delivered(objectKey(obj), obj);
      noteDeletion(obj);
    },
    delete: (obj) => forgetObject(objectKey(obj)),
  });
  // The fence must come back through the cache the ownership rules read (unsharded when the primary is sharded).
  const claimCache = options.tenancy.endpoints.addHandlers ? options.tenancy.endpoints : options.endpoints;
  claimCache.addHandlers?.({
    update: (_old, obj) => {
      // our finalizer, written as a claim fence, has arrived: every earlier claimant is in the cache now
      const key = objectKey(obj);
      if (fences.delivered(key, obj)) options.wake?.(key);
    },
  });
  const slotWaits = new SlotWaits();
  const quotaGate = new QuotaGate();
  const startup = new StartupSpread();
  const unconfirmed = new UnconfirmedCreates(options.callDeadlineMs ?? 20_000);
  const writeBackContext: WriteBackContext = { options, writes, slotWaits, now };
  /** The object is gone: nothing kept for it. */
  const forgetObject = (key: string): void => {
    writes.forget(key);
    freshness.forget(key);
    rolloutWakes.forget(key);
    fences.forget(key);
    clockWaits.done(key);
    slotWaits.release(key);
    quotaGate.forget(key);
    startup.forget(key);
    unconfirmed.forget(key);
  };

  return async (key, { signal, log: baseLog }) => {
    unconfirmed.started(nowMs());
    const cached = options.endpoints.get(key);
    if (!cached) return forgetObject(key);
    const told = writes.takeToldBeforeConflict(key);
    const current = writes.takeFreshest(key, cached);

    // Every line of this reconcile says which spec it acted on (docs/troubleshooting.md).
    const log = baseLog.child({ generation: current.metadata.generation });
    const parsed = EndpointSpec.safeParse(current.spec);
    if (!parsed.success) return handleUnparseableSpec(options, current, parsed.error.issues, now(), signal);

    const at = now();
    // A schedule only changes which throughput is desired now; the planner sees it as the spec's.
    const schedule = parsed.data.schedule ? resolveSchedule(parsed.data.schedule, parsed.data.throughput, at) : undefined;
    const scheduled = schedule?.ok ? schedule.state : undefined;
    const object = toEndpointObject(current, scheduledSpec(parsed.data, scheduled));
    // Waiting for the slot the budget reserved for this object: no read, no write until then.
    const slotInMs = slotWaits.remainingMs(key, { ...object, paused: isPaused(object), observeOnly: isObserveOnly(parsed.data) }, at.getTime());
    if (slotInMs !== undefined) {
      log.debug({ requeue: { after: slotInMs + 1 } }, 'waiting for the reserved budget slot');
      return { requeueAfterMs: slotInMs + 1 };
    }
    const firstLookInMs = startup.firstLookDelayMs(
      key,
      { ...object, hasSchedule: parsed.data.schedule !== undefined, observeOnly: isObserveOnly(parsed.data), status: object.status as SettledView['status'] },
      options.settings.pollIntervalMs,
      random(),
    );
    if (firstLookInMs !== undefined && firstLookInMs > 0) return { requeueAfterMs: firstLookInMs };
    // A new object decides only once every object that could claim its endpoint name before it is in the cache: no
    // read, no write before its creation second and the commit margin have passed; then no Databricks change and no
    // status before its finalizer, written as a fence, is delivered back, or the delivery margin passes (claim-fence.ts).
    const claims = object.deleting ? { commitInMs: 0, settledInMs: 0 } : claimWaits(object.creationTimestamp, options.apiserverNow?.(), at.getTime());
    if (claims.settledInMs === 0) fences.settled(key);
    if (claims.commitInMs > 0) {
      clockWaits.wait(key);
      log.debug({ requeue: { after: claims.commitInMs } }, 'waiting for claims of the endpoint name made in its creation second');
      return { requeueAfterMs: claims.commitInMs };
    }
    const fenceNeeded = claims.settledInMs > 0 && !fences.passed(key, claimCache.get(key));
    if (fenceNeeded) clockWaits.wait(key);
    else clockWaits.done(key);
    // (one GET of the CRD, shared by the deletions seen before it started: a namespace of them costs a few)
    if (object.deleting && object.hasFinalizer && options.crdDeleting) object.crdDeleting = await options.crdDeleting(ENDPOINT_CRD, signal, freshness.deletionSeenAt(key));
    await options.connections.readCredentialsOnce(object.namespace, parsed.data.workspaceRef, signal);
    const workspace = options.connections.forEndpoint(object.namespace, parsed.data.workspaceRef);
    if (workspace.pending) {
      // Its last verdict stands until the new one, which wakes this object: nothing to write meanwhile.
      log.debug({ workspace: workspace.name, requeue: { after: options.settings.workspaceRetryMs } }, workspace.message);
      return { requeueAfterMs: options.settings.workspaceRetryMs };
    }
    const need = observationsNeeded(object, workspace.ready);
    const client = workspace.client;
    const callOptions = { signal, maxBudgetWaitMs: MAX_BUDGET_WAIT_MS, budgetTenant: object.namespace };
    const endpointName = endpointNameOf(object);
    const listed = (databricks: DatabricksClient, notBefore?: number) =>
      endpointList.get(
        workspace.name,
        async () => {
          const startedAt = nowMs();
          const list = await observe(async () => summarizeList(await databricks.listEndpoints(callOptions)));
          rolloutWakes.listed(workspace.name, list, startedAt);
          return list;
        },
        notBefore,
      );
    // Our rollout still runs, says the list (read after Databricks answered the change that started it, or it could
    // not show the endpoint yet; kept a second, longer when spaced): look again later, no GET, no write (issue 12).
    const watching = onlyWatchingRollout(object);
    rolloutWakes.forget(key);
    // A look the workspace's list answers (a rollout being watched, the ownership check before a DELETE) needs a
    // list read after this moment (ListFreshness).
    // (asked whatever the workspace: it also drops what a settled object no longer needs)
    const listFreshAfter = freshness.listAfter(key, { watching, deleting: object.deleting });
    // A create that went unanswered may land until then; past it, only a list read after it tells whether it did.
    const createLandsBy = unconfirmed.landsBy(key, object);
    const createSettledAt = object.deleting && createLandsBy !== undefined && createLandsBy <= at.getTime() ? createLandsBy : undefined;
    const listAfter = client && need.endpoint ? (createSettledAt !== undefined ? Math.max(listFreshAfter ?? createSettledAt, createSettledAt) : listFreshAfter) : undefined;
    if (listAfter !== undefined) {
      // The workspace's next list, not one of our own, when its lists are spaced (thousands of endpoints).
      const listInMs = endpointList.waitMs(workspace.name, listAfter);
      if (listInMs > 0) {
        log.debug({ requeue: { after: Math.ceil(listInMs) } }, "waiting for the workspace's next list of endpoints");
        return { requeueAfterMs: Math.ceil(listInMs) };
      }
    }
    if (client && listAfter !== undefined && watching) {
      const list = await listed(client, listAfter);
      if (list.kind === 'found' && list.value.get(endpointName)?.configUpdate === 'IN_PROGRESS') {
        rolloutWakes.watch(key, workspace.name, endpointName, listAfter);
        const age = rolloutAgeMs(at.getTime(), object.status.pending?.startTime, readySince(object.status));
        return { requeueAfterMs: progressRequeueMs(options.settings.progressIntervalMs, age, random()) };
      }
    }
    const readEndpoint = async (databricks: DatabricksClient): Promise<Observed<ServingEndpointDetailed>> => {
      // Nothing of an object that never acted can exist in Databricks (its finalizer goes on first): when the
      // workspace's list (a second old at most; the list spacing in a workspace of thousands) lacks the name, there
      // is nothing to read (issue 12). An observer never acts, so at every poll its one GET is cheaper than a list; so is
      // a list the bound let go before its spacing passed (thousands, read again for each look).
      if ((neverActed(object) || fences.onlyFence(key)) && !isObserveOnly(parsed.data) && (listAfter !== undefined || !endpointList.letGo(workspace.name))) {
        const list = await listed(databricks, listAfter);
        if (list.kind === 'found' && !list.value.has(endpointName)) return { kind: 'notFound' };
      }
      // Before a DELETE only ownership matters (ID and owner tags), which the list carries for every endpoint: one
      // list for a namespace of deletions instead of a GET each at the read rate (issue 12).
      if (object.deleting && listAfter !== undefined) {
        const list = await listed(databricks, listAfter);
        if (list.kind === 'found') {
          const summary = list.value.get(endpointName);
          return summary ? { kind: 'found', value: asListed(endpointName, summary) } : { kind: 'notFound' };
        }
      }
      return observe(() => databricks.getEndpoint(endpointName, callOptions));
    };
    /**
     * Databricks answers 403 both to an identity without a permission on this endpoint and to an unknown PAT: it is
     * the credentials' only when the workspace's list is refused too, and otherwise this endpoint's (failures.ts).
     * The list must be read after the refused call was sent (`sentAt`): one kept from before may predate a PAT's
     * revocation.
     */
    const meaningOf = async (failure: CallFailure, sentAt: number): Promise<CallFailure> => {
      if (failure.kind !== 'PermissionDenied' || !client) return failure;
      const list = await listed(client, sentAt);
      const refusedToo = list.kind === 'failed' && (list.error.kind === 'Auth' || list.error.kind === 'PermissionDenied');
      return refusedToo ? { ...failure, kind: 'Auth' } : failure;
    };
    const readsSentAt = nowMs();
    const refusalRead = async <T>(observed: Observed<T>): Promise<Observed<T>> =>
      observed.kind === 'failed' ? { kind: 'failed', error: await meaningOf(observed.error, readsSentAt) } : observed;
    const { model: wanted } = parsed.data;
    const [endpointRead, modelRead] = await Promise.all([
      need.endpoint && client ? readEndpoint(client) : skipped<ServingEndpointDetailed>(),
      need.model && client
        ? modelInfo.get(`${workspace.name}|${wanted.name}|${wanted.version}`, () => observe(() => client.getModelOptimizationInfo(wanted.name, wanted.version, callOptions)), keepModelInfo)
        : skipped<ModelOptimizationInfo>(),
    ]);
    const [endpoint, model] = await Promise.all([refusalRead(endpointRead), refusalRead(modelRead)]);

    if (client && [endpoint, model].some((o) => o.kind === 'failed' && o.error.kind === 'Auth')) options.credentialsRefused?.(workspace.name, key, client);

    // The ACL is a second read (by the endpoint ID the first one returned), made only for permissions we manage.
    const found = endpoint.kind === 'found' ? endpoint.value : undefined;
    const tenancy = tenancyView(options.tenancy, { ...object, workspaceRef: parsed.data.workspaceRef, endpointName: endpointNameOf(object) }, endpoint);
    const self = { uid: object.uid, namespace: object.namespace, name: object.name };
    const ours = found !== undefined && ownershipOf(found, self, object.status, tenancy.taggedOwnerPresence, workspace.host).kind === 'ours';
    // Before a DELETE only ownership matters: no ACL, schema or canary-gate read for an object being deleted.
    // An observed endpoint's ACL is read to compare it, when the object may observe it (observe-only.ts); nothing more.
    const observed = isObserveOnly(parsed.data);
    const mayRead = observed ? found !== undefined && observeRefusal({ object, tenancy, workspace: { host: workspace.host } }, found) === undefined : ours;
    const settingsRead = client && !object.deleting && found !== undefined && found.state.config_update !== 'IN_PROGRESS' && mayRead;
    const readAcl = settingsRead && found.id && needsPermissions(parsed.data, object.status.settings);
    // Who the operator is there (kept at CAN_MANAGE by the permissions), asked only where permissions are managed.
    const asksIdentity = client && !object.deleting && ours && !observed && needsPermissions(parsed.data, object.status.settings) && options.connections.operatorIdentity;
    const principal = asksIdentity ? await asksIdentity.call(options.connections, client, callOptions) : undefined;
    // Unknown (its read failed, asked again a minute later): a PUT without it could revoke the operator's own grant
    // (an adopted endpoint's creator is someone else), so the permissions wait for it, as for an unreadable ACL.
    const permissions: PartObserved<ServingEndpointPermissions> = !readAcl
      ? { kind: 'skipped' }
      : asksIdentity && principal === undefined
        ? { kind: 'failed', what: OPERATOR_IDENTITY, message: 'its read failed (asked again a minute after the failure)' }
        : await observePart(() => client.getPermissions(found.id as string, callOptions));
    // An inference table to be enabled somewhere new: its schema is read first, so a typo is refused before the
    // gateway PUT that would disable the table logging now (ai-gateway.ts).
    const schemaName = settingsRead && !observed ? inferenceTableTarget(object.spec.aiGateway, found) : undefined;
    const inferenceTableSchema = schemaName && client ? await checkSchema(schemaName, () => client.getSchema(schemaName, callOptions)) : undefined;

    // A canary decides which config to aim for now (a traffic split, or the old version after an abort).
    const gate = ours && client && !object.deleting && gateNeeded(object.spec, object.status) ? await readGate(client, found.name, object.spec, callOptions) : undefined;
    const canary = decideCanary(object, endpoint, ours, at, gate);

    const input: PlanInput = {
      object: { ...object, spec: canary.spec },
      workspace: { ready: workspace.ready, reason: workspace.reason, message: workspace.message, host: workspace.host, identity: workspace.identity, ...(principal && { principal }), ...(workspace.credentialsLost && { credentialsLost: true }) },
      tenancy,
      endpoint,
      model,
      permissions,
      ...(inferenceTableSchema && { inferenceTableSchema }),
      now: at,
      random: random(),
      settings: options.settings,
      desiredChanged: scheduleChanged(object.status, scheduled) || canary.changed,
      ...canaryPlanFields(canary),
      ...(scheduled?.window !== undefined && { unscheduledThroughput: parsed.data.throughput }),
      ...(schedule && !schedule.ok && { specProblem: schedule.message }),
      ...(createLandsBy !== undefined && { createMayLandUntil: new Date(createLandsBy) }),
    };
    let plan = planEndpoint(input);
    log.debug({ action: plan.action.type, requeue: plan.requeue }, 'planned');

    if (plan.action.type === 'create' && createLandsBy !== undefined && createLandsBy > at.getTime()) {
      // Never a second create while the first may still land: status already says its outcome is unknown.
      const after = createLandsBy - at.getTime() + 1;
      log.info({ requeue: { after } }, 'no new create while an unanswered one may still land');
      return { requeueAfterMs: after };
    }
    // A create its workspace's quota of endpoints refused: another object probes the quota meanwhile (quota-gate.ts).
    const quotaAsk = { generation: object.generation, token: object.annotations[EndpointAnnotation.requestedAt], refusedBefore: refusedByQuota(object) };
    const probeInMs = plan.action.type === 'create' ? quotaGate.probeWaitMs(workspace.name, key, quotaAsk, at.getTime(), options.settings.pollIntervalMs) : undefined;
    if (probeInMs !== undefined) {
      log.debug({ requeue: { after: probeInMs } }, "the workspace's quota of endpoints is full: another object's create probes it");
      return { requeueAfterMs: probeInMs + Math.round(random() * 1_000) };
    }
    let latest = current;
    if (fenceNeeded) return writeFence(plan, key, current, claims.settledInMs, signal);
    if (plan.action.type !== 'none') fences.acted(key);
    let actionFailed = false;
    const actionSentAt = nowMs();
    try {
      const done = await execute(options.kube, plan.action, latest, workspace, { signal, budgetHolder: key, budgetTenant: object.namespace }, log);
      latest = done.latest;
      if (done.deleted || (plan.action.type === 'create' && done.answered)) quotaGate.roomMade(workspace.name);
      if (done.deleted) {
        // Databricks' 200 to a DELETE is the deletion done: what is left is letting the object go, as the write-back
        // (the worker takes the next deletion meanwhile; the key stays locked until it is done). No status to write.
        return { finishing: release(writeBackContext, key, current, latest, endpointNameOf(object), signal) };
      }
      if (done.answered && plan.action.type === 'patchTelemetryConfig') {
        plan = withTelemetryAnswer(plan, object.spec.telemetry, done.answered);
      } else if (done.answered) {
        // Databricks' answer to a create or config update is what the first look at the rollout would read.
        plan = withActionAnswer(input, plan, done.answered);
        freshness.answered(key);
      }
    } catch (err) {
      if (!isDatabricksError(err)) throw err;
      if (err.createOutcomeUnknown) unconfirmed.unanswered(key, now().getTime());
      if (err.kind === 'QuotaExceeded' && plan.action.type === 'create') quotaGate.refused(workspace.name, key, quotaAsk, now().getTime());
      if (err.fromClientBudget && err.retryAfterMs !== undefined) {
        slotWaits.record(key, { generation: object.generation, until: now().getTime() + err.retryAfterMs, ...(client && { slotNow: () => client.reservedSlot(key), release: () => client.releaseReservation(key) }) });
      }
      log.warn({ action: plan.action.type, error: err.toJSON() }, 'Databricks action failed');
      const failure = await meaningOf(toFailure(err), actionSentAt);
      if (failure.kind === 'Auth' && client) options.credentialsRefused?.(workspace.name, key, client);
      plan = planActionFailure(input, plan, failure);
      // A rejected request counts as handled (rejectedGeneration); anything else is sent again.
      actionFailed = err.kind !== 'InvalidRequest';
    }
    // A deferred change (owner tags first, adoption.ts) was not sent either: schedule and canary stay where they were.
    const notSent = actionFailed || plan.deferred === true;
    plan = withCanary(withSchedule(plan, object.status, scheduled, scheduleNotSent(notSent, endpoint, plan), at), object.status, canary, !observed && canaryKept(notSent, endpoint, plan), at);
    if (told) plan = withoutRetold(plan, current.status?.conditions as Condition[] | undefined, told);
    if (plan.action.type === 'removeFinalizer') {
      writes.remember(key, current, latest);
      recordEvents(options, latest, plan);
      return;
    }
    // What is left writes back what was decided and done: it frees the worker for the next object (the key stays
    // locked until it is written), so the API server's write latency does not pace the Databricks work.
    return { finishing: writeBack(writeBackContext, plan, latest, key, current, log, signal) };
  };

  /**
   * Claims of the name are not known yet: nothing is sent or written but the fence, and only for a plan that would
   * act (that write goes on first anyway); the fence's delivery wakes the key, the delivery margin is the fallback.
   */
  async function writeFence(plan: Plan, key: string, current: Endpoint, settledInMs: number, signal: AbortSignal): Promise<{ requeueAfterMs: number }> {
    if (needsFinalizerFirst(plan.action, current)) {
      fences.wrote(key);
      writes.remember(key, current, await addFinalizer(options.kube, EndpointResource, current, ENDPOINT_FINALIZER, signal));
    }
    return { requeueAfterMs: settledInMs };
  }
}

function toEndpointObject(obj: Endpoint, spec: EndpointSpecType): EndpointObject {
  return {
    uid: obj.metadata.uid ?? '',
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name,
    generation: obj.metadata.generation ?? 0,
    annotations: obj.metadata.annotations ?? {},
    ...(obj.metadata.creationTimestamp !== undefined && { creationTimestamp: obj.metadata.creationTimestamp }),
    deleting: obj.metadata.deletionTimestamp !== undefined,
    ...(obj.metadata.deletionTimestamp !== undefined && { deletionTimestamp: obj.metadata.deletionTimestamp }),
    hasFinalizer: hasFinalizer(obj, ENDPOINT_FINALIZER),
    spec,
    status: obj.status ?? {},
  };
}
