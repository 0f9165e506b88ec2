// Every state a ProvisionedThroughputEndpoint can be in, as the planner writes its status (not as a person would write
// it): the objects that Argo CD's health check (deploy/argocd/test), kstatus (test/kstatus) and `kubectl wait` are
// checked against. tool-states.test.ts writes them to deploy/argocd/test/fixtures/planned/ and fails when a file there
// is not what the planner writes now, so the tools' tests never judge a status the operator no longer writes.
import { type DatabricksWorkspace, ENDPOINT_KIND, EndpointAnnotation, type EndpointStatus, WORKSPACE_KIND, resourceDefinitions } from '../../../../src/api/v1alpha1/index.js';
import { buildCrd } from '../../../../src/api/v1alpha1/crd.js';
import type { EndpointCoreConfigOutput, ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { type EndpointObject, type Plan, type WorkspaceState, observationsNeeded, planActionFailure, planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { resolveSchedule, scheduleChanged, scheduleNotSent, scheduledSpec, withSchedule } from '../../../../src/controllers/endpoint/schedule.js';
import { canaryKept, canaryPlanFields, decideCanary, withCanary } from '../../../../src/controllers/endpoint/canary.js';
import { ownershipOf } from '../../../../src/controllers/endpoint/ownership.js';
import { isObserveOnly } from '../../../../src/controllers/endpoint/observe-only.js';
import { type WorkspaceVerdict, workspaceConditions } from '../../../../src/controllers/workspace/status.js';
import { WorkspaceConnections } from '../../../../src/controllers/workspace/connections.js';
import type { KubeObject } from '../../../../src/kube/index.js';
import type { Condition } from '../../../../src/kube/conditions.js';
import {
  HOST,
  MINUTE,
  MODEL,
  NOT_FOUND,
  NOW,
  OWNER,
  SKIPPED,
  type InputOptions,
  type SpecInput,
  afterPlan,
  annotated,
  at,
  edited,
  endpointObject,
  failed,
  failedEndpoint,
  foreignEndpoint,
  planInput,
  readyEndpoint,
  reconcile,
  servedEntity,
  updatingEndpoint,
} from '../fixtures.js';

export interface ToolState {
  /** the file name under deploy/argocd/test/fixtures/planned/, without .yaml */
  name: string;
  object: EndpointObject;
  /** what kubectl wait --for=condition=Ready must do for this object: return at once, or keep waiting */
  kubectlWaitReady: 'returns' | 'waits';
}

const V4: SpecInput = { model: { name: MODEL, version: '4' } };

/**
 * One reconcile as the reconciler composes it (reconciler.ts): the schedule and the canary decide the config aimed at,
 * the planner plans, and status.schedule and status.canary are added; the action is taken to have been sent.
 */
function reconcileLikeOperator(object: EndpointObject, options: InputOptions): Plan {
  const input = planInput(object, options);
  const now = input.now;
  const resolved = object.spec.schedule ? resolveSchedule(object.spec.schedule, object.spec.throughput, now) : undefined;
  const scheduled = resolved?.ok ? resolved.state : undefined;
  const aimed = { ...object, spec: scheduledSpec(object.spec, scheduled) };
  const needs = observationsNeeded(aimed, input.workspace.ready);
  const endpoint = needs.endpoint ? input.endpoint : SKIPPED;
  const ours = endpoint.kind === 'found' && ownershipOf(endpoint.value, OWNER, object.status, 'gone', input.workspace.host).kind === 'ours';
  const canary = decideCanary(aimed, endpoint, ours, now);
  let plan = planEndpoint({
    ...input,
    object: { ...aimed, spec: canary.spec },
    endpoint,
    model: needs.model ? input.model : SKIPPED,
    desiredChanged: scheduleChanged(object.status, scheduled) || canary.changed,
    ...canaryPlanFields(canary),
    ...(scheduled?.window !== undefined && { unscheduledThroughput: object.spec.throughput }),
  });
  plan = withCanary(withSchedule(plan, object.status, scheduled, scheduleNotSent(false, endpoint, plan), now), object.status, canary, !isObserveOnly(object.spec) && canaryKept(false, endpoint, plan), now);
  return plan;
}

/** The object after one more reconcile, its status written. */
const step = (object: EndpointObject, options: InputOptions, expectAction?: string): EndpointObject => {
  const plan = reconcileLikeOperator(object, options);
  if (expectAction !== undefined && plan.action.type !== expectAction) throw new Error(`expected ${expectAction}, planned ${plan.action.type}`);
  return afterPlan(object, plan);
};

/** Version 3 at chunks 2–3 serves, Ready for generation 1. */
function settled(spec: SpecInput = {}): EndpointObject {
  const object = endpointObject({ spec });
  return step(step(object, { endpoint: readyEndpoint(), now: at(-60 * MINUTE) }), { endpoint: readyEndpoint(), now: at(-55 * MINUTE) });
}

/** Generation 2 asks for version 4, and the operator sent its config update. */
function updateSent(spec: SpecInput = {}): EndpointObject {
  const object = edited(settled(spec), { ...spec, ...V4 });
  return step(object, { endpoint: readyEndpoint(), now: at(-20 * MINUTE) }, 'updateConfig');
}

const withStart = (endpoint: ServingEndpointDetailed, time: Date): ServingEndpointDetailed => ({
  ...endpoint,
  pending_config: { ...endpoint.pending_config!, start_time: time.getTime() },
});

/** A served config with several versions and their traffic shares. */
function split(shares: Record<string, number>): EndpointCoreConfigOutput {
  const entities = Object.keys(shares).map((version) => servedEntity({ version }));
  return {
    served_entities: entities,
    traffic_config: { routes: entities.map((e) => ({ served_entity_name: e.name, served_model_name: e.name, traffic_percentage: shares[e.entity_version as string] as number })) },
    config_version: 3,
  };
}
const serving = (shares: Record<string, number>): ServingEndpointDetailed => ({ ...readyEndpoint(), config: split(shares) });

const CANARY: SpecInput = { ...V4, canary: { steps: [10, 50], pause: '30m' } as never };

/** A canary of version 4 whose first step (10 %) serves and pauses. */
function canaryPaused(annotations: Record<string, string> = {}): EndpointObject {
  const object = annotated(edited(settled(), CANARY), annotations);
  const started = step(object, { endpoint: readyEndpoint(), now: at(-20 * MINUTE) }, 'updateConfig');
  return step(started, { endpoint: serving({ '3': 90, '4': 10 }), now: at(-10 * MINUTE) });
}

function states(): ToolState[] {
  const list: ToolState[] = [];
  const add = (name: string, object: EndpointObject, kubectlWaitReady: ToolState['kubectlWaitReady'] = 'waits') => list.push({ name, object, kubectlWaitReady });

  // Created, not looked at yet: the status the API server serves before the operator writes one (its CRD's default).
  add('no-status', endpointObject({ hasFinalizer: false, status: unobservedStatus(ENDPOINT_KIND) as EndpointStatus }));
  add('available', settled(), 'returns');
  add('creating', step(endpointObject(), { endpoint: NOT_FOUND }, 'create'));
  add('updating', step(updateSent(), { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }) }));
  add('not-ready', step(settled(), { endpoint: { ...readyEndpoint(), state: { ready: 'NOT_READY', config_update: 'NOT_UPDATING', suspend: 'NOT_SUSPENDED' } } }));
  // A spec edited while another config (made in the Databricks UI) rolls out: Databricks takes no update meanwhile.
  add('waiting-for-rollout', step(edited(settled(), V4), { endpoint: updatingEndpoint({ version: '3' }, { version: '3', min: 0, max: 980 }) }));
  add('drift-detected', step(settled(), { endpoint: readyEndpoint({ min: 0, max: 980 }) }, 'updateConfig'));

  // Failed rollouts: a GPU capacity shortage within the retry budget and once it is spent; any other failure.
  add('waiting-for-capacity', step(updateSent(), { endpoint: failedEndpoint({ version: '3' }, { version: '4' }) }));
  {
    let object = updateSent({ capacityRetry: { timeout: '3m' } });
    object = step(object, { endpoint: withStart(failedEndpoint({ version: '3' }, { version: '4' }), at(-20 * MINUTE)), now: NOW });
    object = step(object, { endpoint: withStart(failedEndpoint({ version: '3' }, { version: '4' }), at(-20 * MINUTE)), now: at(2 * MINUTE) }, 'updateConfig');
    object = step(object, { endpoint: withStart(failedEndpoint({ version: '3' }, { version: '4' }), at(2 * MINUTE)), now: at(4 * MINUTE) });
    add('capacity-retries-exhausted', object);
  }
  add('update-failed', step(updateSent(), { endpoint: failedEndpoint({ version: '3' }, { version: '4', deployment: 'DEPLOYMENT_FAILED', message: 'the model failed to load' }) }));

  // Specs the operator refuses before sending anything.
  add('invalid-spec', step(edited(settled(), { throughput: { tokensPerSecond: { min: 0, max: 1000 } } }), { endpoint: readyEndpoint() }));
  add('model-not-found', step(edited(settled(), V4), { endpoint: readyEndpoint(), model: NOT_FOUND }));
  {
    const object = edited(settled(), { throughput: { chunks: { min: 2, max: 4 } } });
    const sent = reconcile(object, { endpoint: readyEndpoint() });
    add('rejected-by-databricks', afterPlan(object, planActionFailure(planInput(object, { endpoint: readyEndpoint() }), sent, { kind: 'InvalidRequest', message: 'too much throughput' })));
  }
  add('not-owned', step(endpointObject(), { endpoint: foreignEndpoint() }));
  add('permission-denied', step(edited(settled(), V4), { endpoint: readyEndpoint(), model: failed('PermissionDenied', 'User does not have EXECUTE on Model') }));

  // The workspace: missing or refused credentials, a namespace not allowed the default workspace.
  add('workspace-not-ready', step(settled(), { endpoint: readyEndpoint(), workspaceReady: false }), 'returns');
  add('workspace-not-ready-new-spec', step(edited(settled(), V4), { endpoint: readyEndpoint(), workspaceReady: false }));
  {
    const object = endpointObject();
    const input = planInput(object, { endpoint: NOT_FOUND });
    const plan = planEndpoint({ ...input, workspace: { ready: false, reason: 'DefaultWorkspaceNotAllowed', message: 'namespace ml may not use the default workspace' }, endpoint: { kind: 'skipped' }, model: { kind: 'skipped' } });
    add('default-workspace-not-allowed', afterPlan(object, plan));
  }
  // A DatabricksWorkspace that needs a person (dbws-authentication-failed), as an endpoint's reconcile resolves it.
  add('workspace-stalled', step(settled(), { workspace: resolvedWorkspace('dbws-authentication-failed') }), 'returns');
  add('workspace-stalled-new-spec', step(edited(settled(), V4), { workspace: resolvedWorkspace('dbws-authentication-failed') }));
  {
    // The workspace's host was edited to another workspace, where the endpoint is not.
    const object = settled();
    const input = planInput(object, { endpoint: NOT_FOUND });
    add('workspace-changed', afterPlan(object, planEndpoint({ ...input, workspace: { ...input.workspace, host: 'https://adb-99.9.azuredatabricks.net' } })));
  }

  // Budget waits (the operator's rate budget, or a 429) and a Databricks outage: on a poll, and holding a new spec.
  add('rate-limited-poll', step(settled(), { endpoint: failed('RateLimited', 'GET /api/2.0/serving-endpoints/llama-chat failed (429)', 1000) }), 'returns');
  add('rate-limited-new-spec', step(edited(settled(), V4), { endpoint: failed('RateLimited', 'GET /api/2.0/serving-endpoints/llama-chat failed (429)', 1000) }));
  add('databricks-outage-poll', step(settled(), { endpoint: failed('Transient', 'GET /api/2.0/serving-endpoints/llama-chat failed (503)') }), 'returns');
  add('databricks-outage-new-spec', step(edited(settled(), V4), { endpoint: failed('Transient', 'GET /api/2.0/serving-endpoints/llama-chat failed (503)') }));

  // Paused, with and without a spec edited since.
  const paused = { [EndpointAnnotation.paused]: 'true' };
  add('paused', step(annotated(settled(), paused), {}), 'returns');
  add('paused-new-spec', step(annotated(edited(settled(), V4), paused), {}));

  // managementPolicy Observe: an endpoint made elsewhere, as the spec says; changed out of band; not there.
  {
    const observer = endpointObject({ spec: { managementPolicy: 'Observe' }, hasFinalizer: false });
    const elsewhere = (served = {}) => readyEndpoint(served, { owner: null, tags: [{ key: 'team', value: 'genai' }] });
    add('observed', step(observer, { endpoint: elsewhere() }, 'none'), 'returns');
    add('observed-drifted', step(step(observer, { endpoint: elsewhere() }, 'none'), { endpoint: elsewhere({ min: 0, max: 980 }) }, 'none'), 'returns');
    add('observed-not-found', step(observer, { endpoint: NOT_FOUND }, 'none'));
    const team = [{ key: 'team', value: 'genai' }];
    add('observed-drifted-updating', step(observer, { endpoint: { ...updatingEndpoint({ version: '3' }, { version: '4' }), tags: team } }, 'none'));
    add('observed-update-failed', step(observer, { endpoint: { ...failedEndpoint({ version: '3' }, { version: '4' }), tags: team } }, 'none'));
    // Deleted outside Kubernetes while observed, then made again there.
    const seen = step(observer, { endpoint: elsewhere(), now: at(-20 * MINUTE) }, 'none');
    const deleted = step(seen, { endpoint: NOT_FOUND, now: at(-10 * MINUTE) }, 'none');
    add('observed-deleted-elsewhere', deleted);
    add('observed-made-again-elsewhere', step(deleted, { endpoint: { ...elsewhere(), id: 'b5e7c0de00000000000000000000000a' } }, 'none'), 'returns');
  }
  // Full → Observe → Full: the endpoint the object created, observed (its version changed in Databricks meanwhile),
  // then managed again, which brings it back to the spec.
  {
    const observed = step(edited(settled(), { managementPolicy: 'Observe' }), { endpoint: readyEndpoint({ version: '4' }), now: at(-10 * MINUTE) }, 'none');
    add('observed-after-full', observed, 'returns');
    add('full-after-observe', step(edited(observed, {}), { endpoint: readyEndpoint({ version: '4' }) }, 'updateConfig'));
  }

  // A canary of version 4: a step rolling out, paused, held, promoted, aborted (rolling back, and rolled back).
  {
    const object = annotated(edited(settled(), CANARY), {});
    const rollingOut = { ...updatingEndpoint({ version: '3' }, { version: '4' }), pending_config: { ...split({ '3': 90, '4': 10 }), start_time: at(-20 * MINUTE).getTime() } };
    add('canary-step-rolling-out', step(step(object, { endpoint: readyEndpoint(), now: at(-20 * MINUTE) }, 'updateConfig'), { endpoint: rollingOut, now: at(-15 * MINUTE) }));
  }
  add('canary-paused', canaryPaused());
  add('canary-holding', step(annotated(canaryPaused(), { [EndpointAnnotation.canary]: 'hold' }), { endpoint: serving({ '3': 90, '4': 10 }), now: at(30 * MINUTE) }));
  {
    const aborting = step(annotated(canaryPaused(), { [EndpointAnnotation.canary]: 'abort' }), { endpoint: serving({ '3': 90, '4': 10 }) }, 'updateConfig');
    add('canary-rolling-back', step(aborting, { endpoint: { ...updatingEndpoint({ version: '3' }, { version: '3' }), config: split({ '3': 90, '4': 10 }) }, now: at(MINUTE) }));
    add('canary-aborted', step(aborting, { endpoint: readyEndpoint({ version: '3' }), now: at(5 * MINUTE) }));
  }
  add('canary-succeeded', step(step(canaryPaused({ [EndpointAnnotation.canary]: 'promote' }), { endpoint: serving({ '3': 90, '4': 10 }) }, 'updateConfig'), { endpoint: readyEndpoint({ version: '4' }), now: at(5 * MINUTE) }), 'returns');

  {
    // The pause is over: step 2 (50 %) is sent, and its rollout fails while step 1 keeps serving.
    const sent = step(canaryPaused(), { endpoint: serving({ '3': 90, '4': 10 }), now: at(21 * MINUTE) }, 'updateConfig');
    const failedStep = {
      ...failedEndpoint({ version: '3' }, { version: '4', deployment: 'DEPLOYMENT_FAILED', message: 'the model failed to load' }),
      config: split({ '3': 90, '4': 10 }),
      pending_config: { ...split({ '3': 50, '4': 50 }), start_time: at(21 * MINUTE).getTime() },
    };
    failedStep.pending_config.served_entities = failedStep.pending_config.served_entities!.map((e) => ({ ...e, state: { deployment: 'DEPLOYMENT_FAILED', deployment_state_message: 'the model failed to load' } }));
    add('canary-step-failed', step(sent, { endpoint: failedStep, now: at(30 * MINUTE) }));
  }

  // An adoption the operator refuses: the endpoint's tagged owner (another object) still exists.
  // An adoption the user asked for: recorded at once, the endpoint read at the next look.
  add('adopting', step(annotated(endpointObject(), { [EndpointAnnotation.adopt]: 'true' }), { endpoint: foreignEndpoint() }, 'adopt'));
  const earlier = { uid: '0a9e4c55-1111-4d2f-9e0b-5c3a7e9d2b44', namespace: 'ml', name: 'llama-chat-old' };
  add('adopt-refused', step(annotated(endpointObject(), { [EndpointAnnotation.adopt]: 'true' }), { endpoint: readyEndpoint({}, { owner: earlier }), tenancy: { taggedOwnerPresence: 'live' } }));

  // A settings part beside the served config: being applied, and refused by Databricks.
  {
    const gateway: SpecInput = { aiGateway: { usageTracking: { enabled: true } } };
    const object = edited(settled(), gateway);
    const applying = reconcileLikeOperator(object, { endpoint: readyEndpoint() });
    if (applying.action.type !== 'putAiGateway') throw new Error(`expected putAiGateway, planned ${applying.action.type}`);
    add('settings-applying', afterPlan(object, applying), 'returns');
    add('settings-rejected', afterPlan(object, planActionFailure(planInput(object, { endpoint: readyEndpoint() }), applying, { kind: 'InvalidRequest', message: 'usage tracking is not available in this workspace' })), 'returns');
  }

  // A schedule window opening: its config update rolls out.
  {
    const schedule = { timeZone: 'UTC', leadTime: '0s', windows: [{ name: 'peak', start: '12:00', end: '13:00', throughput: { chunks: { min: 3, max: 3 } } }] };
    const object = settled({ schedule } as SpecInput);
    add('schedule-switching', step(object, { endpoint: readyEndpoint() }, 'updateConfig'));
  }

  // Deletion: under way, and blocked (the workspace's credentials are gone). `kubectl delete` sets the deletion
  // timestamp and, with a finalizer on the object, the API server bumps metadata.generation with it.
  const deleted = (object: EndpointObject): EndpointObject => ({ ...object, deleting: true, generation: object.generation + 1 });
  add('deleting', step(deleted(settled()), { endpoint: readyEndpoint() }));
  add('deletion-blocked', step(deleted(settled()), { endpoint: readyEndpoint(), workspaceReady: false }));

  // The operator is not running: the spec was edited, the status is the old one.
  add('stale-generation', edited(settled(), V4));
  return list;
}

/** The object as `kubectl get -o yaml` shows it (the parts the tools read). */
export function asKubernetesObject(object: EndpointObject): Record<string, unknown> {
  return {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'ProvisionedThroughputEndpoint',
    metadata: {
      name: object.name,
      namespace: object.namespace,
      uid: object.uid,
      generation: object.generation,
      ...(Object.keys(object.annotations).length > 0 && { annotations: object.annotations }),
      ...(object.deleting && { deletionTimestamp: '2026-03-01T11:59:00Z' }),
      ...(object.hasFinalizer && { finalizers: ['serving.ptoperator.io/endpoint'] }),
    },
    spec: object.spec,
    status: object.status,
  };
}

/** What the API server serves as the status of an object of `kind` nobody wrote a status for: its CRD's default. */
function unobservedStatus(kind: string): Record<string, unknown> {
  const definition = resourceDefinitions.find((d) => d.kind === kind);
  if (!definition) throw new Error(`no CRD for ${kind}`);
  const crd = buildCrd(definition) as { spec: { versions: { schema: { openAPIV3Schema: { properties: { status: { default?: Record<string, unknown> } } } } }[] } };
  return crd.spec.versions[0]?.schema.openAPIV3Schema.properties.status.default ?? {};
}

/** A DatabricksWorkspace in a state, with the conditions its reconciler writes for the verdicts it reached, in order. */
export interface WorkspaceToolState {
  name: string;
  object: Record<string, unknown>;
  kubectlWaitReady: 'returns' | 'waits';
}

function workspaceObject(generation: number, verdicts: WorkspaceVerdict[], options: { observedGeneration?: number; deleting?: boolean } = {}): Record<string, unknown> {
  let conditions: Condition[] | undefined;
  verdicts.forEach((verdict, i) => (conditions = workspaceConditions(conditions, verdict, options.observedGeneration ?? generation, at(i * MINUTE))));
  return {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: {
      name: 'prod',
      namespace: 'ml',
      generation,
      finalizers: ['serving.ptoperator.io/workspace'],
      ...(options.deleting && { deletionTimestamp: '2026-03-01T11:59:00Z' }),
    },
    spec: { host: HOST, auth: { token: { secretRef: { name: 'dbx-pat' } } } },
    ...(conditions ? { status: { observedGeneration: options.observedGeneration ?? generation, conditions } } : { status: unobservedStatus(WORKSPACE_KIND) }),
  };
}

const AUTHENTICATED: WorkspaceVerdict = { ready: true, reason: 'Authenticated', message: `authenticated to ${HOST} with pat; 3 serving endpoint(s) visible` };
const SECRET_NOT_FOUND: WorkspaceVerdict = { ready: false, reason: 'SecretNotFound', message: 'Secret ml/dbx-pat not found: create it with key token' };

// Messages as the verdicts say them in short; the conditions around them are the reconciler's (workspace/status.ts).
export const WORKSPACE_TOOL_STATES: readonly WorkspaceToolState[] = [
  { name: 'dbws-no-status', object: workspaceObject(1, []), kubectlWaitReady: 'waits' },
  { name: 'dbws-authenticated', object: workspaceObject(1, [AUTHENTICATED]), kubectlWaitReady: 'returns' },
  { name: 'dbws-secret-not-found', object: workspaceObject(1, [SECRET_NOT_FOUND]), kubectlWaitReady: 'waits' },
  { name: 'dbws-secret-created', object: workspaceObject(1, [SECRET_NOT_FOUND, AUTHENTICATED]), kubectlWaitReady: 'returns' },
  { name: 'dbws-authentication-failed', object: workspaceObject(1, [AUTHENTICATED, { ready: false, reason: 'AuthenticationFailed', message: `${HOST} refused the credentials (401)` }]), kubectlWaitReady: 'waits' },
  { name: 'dbws-host-unreachable', object: workspaceObject(1, [{ ready: false, reason: 'HostUnreachable', message: `cannot reach ${HOST}: connect ECONNREFUSED` }]), kubectlWaitReady: 'waits' },
  { name: 'dbws-outage', object: workspaceObject(1, [AUTHENTICATED, { ready: false, reason: 'HostUnreachable', message: `${HOST} is unavailable: it answered 503` }]), kubectlWaitReady: 'waits' },
  { name: 'dbws-invalid-spec', object: workspaceObject(1, [{ ready: false, reason: 'InvalidSpec', message: 'workspace host http://x uses plain http://' }]), kubectlWaitReady: 'waits' },
  { name: 'dbws-federation-host-not-trusted', object: workspaceObject(1, [{ ready: false, reason: 'FederationHostNotTrusted', message: `token federation sends the operator's service-account token to ${HOST}, which is not a trusted host` }]), kubectlWaitReady: 'waits' },
  // The host or Secret was edited; the operator has not verified generation 2 yet (not running, or rate limited).
  { name: 'dbws-stale-generation', object: workspaceObject(2, [AUTHENTICATED], { observedGeneration: 1 }), kubectlWaitReady: 'waits' },
  // Being deleted (its namespace is) while endpoint objects still use it, its Secret already gone.
  { name: 'dbws-credentials-lost', object: workspaceObject(1, [AUTHENTICATED, { ...SECRET_NOT_FOUND, message: 'is being deleted and its Secret ml/dbx-pat is gone; deletion waits for 2 endpoint object(s)' }], { deleting: true }), kubectlWaitReady: 'waits' },
];

export const TOOL_STATES: readonly ToolState[] = states();

/** The workspace ml/prod in one of the states above, as an endpoint's reconcile resolves it (connections.ts). */
function resolvedWorkspace(name: string): WorkspaceState {
  const workspace = WORKSPACE_TOOL_STATES.find((s) => s.name === name)?.object as unknown as DatabricksWorkspace & KubeObject;
  const connections = new WorkspaceConnections({
    workspaces: { get: (key) => (key === 'ml/prod' ? workspace : undefined) },
    secrets: { get: () => undefined },
    defaultConnection: { error: 'none' },
    federationTokenFile: '/nonexistent/token',
    defaultWorkspaceNamespaces: [],
    federationTrustedHosts: [],
    client: {},
  });
  const { ready, reason, message, host } = connections.forEndpoint('ml', { name: 'prod' });
  return { ready, ...(reason && { reason }), ...(message && { message }), ...(host && { host }) };
}

export const PLANNED_HOST = HOST;
export type { Plan };
