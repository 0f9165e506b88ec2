// Canary rollouts driven through random, seeded sequences of what users and Databricks do to one object, planned as
// the reconciler plans them (decideCanary, planEndpoint, withActionAnswer or planActionFailure, withCanary) and the
// status fed back. Users: a new model.version with a canary, edits of its steps and throughput, Hold, Promote and Abort
// (spec.canary.action or the ptoperator.io/canary annotation, a typo too), requested-at, pause and unpause, deletion
// (Delete or Orphan). Databricks: rollouts that land, fail for GPU capacity or for good, a capacity budget spent;
// updates answered, refused (400, 403, 409, 429, 5xx) or never answered (carried out or not); the metrics gate
// passing, failing or unreadable; the endpoint deleted out of band, or its traffic split changed in the Databricks UI.
// After every look the status must keep the promises of docs/concepts.md (canary rollouts; status for generic tools):
//   - traffic: a sent config gives the spec's version no more than the next step above the share it serves (100 %
//     only once promoted or after the last step), splits keep the old version that serves now, and a canary that is
//     aborted (or kept from starting by an abort control) sends its version no traffic;
//   - nothing is sent to Databricks while paused, nor a config for an object being deleted, nor anything with Orphan;
//   - Ready=True only while Databricks serves the spec's version alone, settled; a running canary whose step serves is
//     Ready=False CanaryInProgress with Reconciling=True; an aborted one is never Synced=True, and Synced=False
//     CanaryAborted comes with Stalled=True; StepFailed and RollbackFailed are Stalled;
//   - Stalled only with the documented reasons, never beside Reconciling, and only for the current generation;
//   - after a refused action (not a 400), or a look that read nothing (paused, a failed read, a deletion),
//     status.canary keeps its step, share and pause as they were;
//   - a step serving advances only once its pause is over, never while held, and with a gate only on evidence;
//   - an abort rolls back: once nothing else is in the way, the next update is the old version alone;
//   - a look that changes nothing, made again, changes nothing and tells nothing.
// A failure prints the seed and the steps that led to it.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation, type EndpointStatus } from '../../../../src/api/v1alpha1/index.js';
import { type CanaryStatus, type GateReading, canaryKept, canaryPlanFields, decideCanary, sortedSteps, withCanary } from '../../../../src/controllers/endpoint/canary.js';
import { gateNeeded } from '../../../../src/controllers/endpoint/canary-gate.js';
import { entityNameFor } from '../../../../src/controllers/endpoint/desired.js';
import { ownershipOf } from '../../../../src/controllers/endpoint/ownership.js';
import { type CallFailure, type EndpointObject, type Plan, observationsNeeded, planActionFailure, planEndpoint, withActionAnswer } from '../../../../src/controllers/endpoint/plan.js';
import { STALLED_REASONS } from '../../../../src/controllers/endpoint/status-summary.js';
import type { EndpointCoreConfigOutput, ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { seededRandom } from '../../../../src/emulator/rng.js';
import { CAPACITY_ABORT_MESSAGE, HOST, MINUTE, MODEL, NOT_FOUND, NOW, OWNER, SECOND, SKIPPED, type SpecInput, endpointObject, ownerTagsOf, planInput, readyEndpoint, servedEntity } from '../fixtures.js';

const CHUNK = 980;

/** One served entity as Databricks holds it. */
interface Entity {
  name: string;
  version: string;
  min: number;
  max: number;
  share: number;
}
/** What Databricks holds: the served config, and a rollout that runs or ended in a failure. */
interface World {
  exists: boolean;
  served?: Entity[];
  pending?: { entities: Entity[]; outcome: 'running' | 'capacity' | 'build' };
}

const BUILD_FAILED = 'Model build failed: no online store configured';

function config(entities: Entity[], version: number): EndpointCoreConfigOutput {
  return {
    served_entities: entities.map((e) => ({ ...servedEntity({ version: e.version, min: e.min, max: e.max }), name: e.name })),
    traffic_config: { routes: entities.map((e) => ({ served_entity_name: e.name, served_model_name: e.name, traffic_percentage: e.share })) },
    config_version: version,
  };
}

function body(world: World): ServingEndpointDetailed {
  const base = readyEndpoint({}, { tags: [{ key: 'team', value: 'genai' }, ...ownerTagsOf(OWNER)] });
  const { served, pending } = world;
  const outcome = pending?.outcome;
  const deployment = outcome === 'capacity' ? { deployment: 'DEPLOYMENT_ABORTED', deployment_state_message: CAPACITY_ABORT_MESSAGE } : outcome === 'build' ? { deployment: 'DEPLOYMENT_FAILED', deployment_state_message: BUILD_FAILED } : { deployment: 'DEPLOYMENT_CREATING', deployment_state_message: 'Creating resources for served entity.' };
  const endpoint: ServingEndpointDetailed = {
    ...base,
    state: { ready: served ? 'READY' : 'NOT_READY', config_update: !pending ? 'NOT_UPDATING' : outcome === 'running' ? 'IN_PROGRESS' : 'UPDATE_FAILED', suspend: 'NOT_SUSPENDED' },
  };
  delete endpoint.config;
  if (served) endpoint.config = config(served, 2);
  if (pending) {
    const out = config(pending.entities, 3);
    endpoint.pending_config = { ...out, served_entities: (out.served_entities ?? []).map((e) => ({ ...e, state: deployment })), start_time: NOW.getTime() };
  }
  return endpoint;
}

/** The entities a create or config update asks for, as Databricks would serve them. */
function requested(plan: Plan): Entity[] | undefined {
  const action = plan.action;
  if (action.type !== 'create' && action.type !== 'updateConfig') return undefined;
  const inputs = action.type === 'create' ? action.request.body.config.served_entities : action.request.api === 'config' ? action.request.body.served_entities : action.request.body.config.served_entities;
  const routes = action.type === 'updateConfig' ? (action.request.api === 'config' ? action.request.body.traffic_config : action.request.body.config.traffic_config)?.routes : undefined;
  return inputs.map((e) => {
    const name = e.name ?? entityNameFor(e.entity_name, e.entity_version);
    const share = routes?.find((r) => r.served_entity_name === name)?.traffic_percentage ?? (inputs.length === 1 ? 100 : 0);
    const band = e as { min_provisioned_throughput?: number; max_provisioned_throughput?: number };
    return { name, version: e.entity_version, min: band.min_provisioned_throughput ?? 0, max: band.max_provisioned_throughput ?? 0, share };
  });
}

const REFUSALS: CallFailure[] = [
  { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: 400' },
  { kind: 'PermissionDenied', message: 'PERMISSION_DENIED: 403' },
  { kind: 'Conflict', message: 'RESOURCE_CONFLICT: 409 (an update is in progress)' },
  { kind: 'RateLimited', message: 'REQUEST_LIMIT_EXCEEDED: 429', retryAfterMs: 5 * SECOND },
  { kind: 'Transient', message: 'TEMPORARILY_UNAVAILABLE: 503' },
];
const RUNNING = new Set(['Progressing', 'Paused', 'Holding', 'Promoting']);
const conditionOf = (plan: Pick<Plan, 'status'>, type: string) => plan.status.conditions?.find((c) => c.type === type);
const progress = (c: CanaryStatus | undefined) => c && JSON.stringify([c.phase, c.fromVersion, c.toVersion, c.step, c.share, c.stepReachedTime ?? null, c.from]);
const describeWorld = (w: World) =>
  !w.exists ? 'none' : `${(w.served ?? []).map((e) => `v${e.version}:${e.share}%`).join('+') || 'nothing served'}${w.pending ? ` (${w.pending.outcome}: ${w.pending.entities.map((e) => `v${e.version}:${e.share}%`).join('+')})` : ''}`;

/** The control in force: the annotation when it is one (case and spaces aside), else spec.canary.action. */
function controlOf(object: EndpointObject): string | undefined {
  const annotation = object.annotations[EndpointAnnotation.canary]?.trim().toLowerCase();
  return annotation === 'hold' || annotation === 'promote' || annotation === 'abort' ? annotation : object.spec.canary?.action?.toLowerCase();
}

const STEP_SETS = [[10, 50], [25], [10, 30, 60], [50, 10]];

function runSequence(seed: number, steps: number): void {
  const random = seededRandom(seed);
  const chance = (p: number) => random.next() < p;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random.next() * items.length)] as T;
  const log: string[] = [];

  const gated = chance(0.5);
  let canary: Record<string, unknown> = { steps: pick(STEP_SETS), pause: '10m', ...(gated && { gate: [{ metric: 'request_5xx_count_total', divideBy: 'request_count_total', max: 0.02 }] }) };
  let spec: SpecInput = { model: { name: MODEL, version: '3' }, throughput: { chunks: { min: 2, max: 3 } }, canary: canary as never, capacityRetry: { timeout: '1h', maxBackoff: '10m' }, deletionPolicy: pick(['Delete', 'Orphan'] as const) };
  let object: EndpointObject = endpointObject({ spec });
  let world: World = { exists: true, served: [{ name: entityNameFor(MODEL, '3'), version: '3', min: 2 * CHUNK, max: 3 * CHUNK, share: 100 }] };
  let now = NOW.getTime();
  let tokens = 0;
  /** The generation and token Databricks rejected as invalid (400), until either changes. */
  let rejected: { generation: number; token: string | undefined } | undefined;
  /** The served config asked for and the token when a step failed for good: it is not sent again until one changes. */
  let failedStep: { ask: string; token: string | undefined; world: string } | undefined;
  /** the generation whose step Databricks last refused (400), while the canary stays StepFailed */
  let stepRefusedIn: number | undefined;

  const fail = (message: string, plan: Pick<Plan, 'status'>) => {
    throw new Error(`seed ${seed}: ${message}\nsteps:\n  ${log.join('\n  ')}\nstatus: ${JSON.stringify(plan.status, null, 1)}`);
  };
  const editSpec = (change: SpecInput, what: string) => {
    spec = { ...spec, ...change };
    object = { ...object, spec: endpointObject({ spec }).spec, generation: object.generation + 1 };
    log.push(`edit: ${what} (generation ${object.generation})`);
  };
  const annotate = (key: string, value: string | undefined, what: string) => {
    const annotations = { ...object.annotations };
    if (value === undefined) delete annotations[key];
    else annotations[key] = value;
    object = { ...object, annotations };
    log.push(`annotate: ${what}`);
  };

  for (let step = 0; step < steps; step++) {
    // ---- the user ----
    if (!object.deleting) {
      if (chance(0.12)) {
        const version = pick(['3', '4', '5']);
        editSpec({ model: { name: MODEL, version } }, `version ${version}`);
      }
      if (chance(0.05)) {
        const min = 1 + Math.floor(random.next() * 3);
        editSpec({ throughput: { chunks: { min, max: min + 1 } } }, `throughput chunks ${min}-${min + 1}`);
      }
      if (chance(0.04)) {
        canary = { ...canary, steps: pick(STEP_SETS) };
        editSpec({ canary: canary as never }, `canary steps ${JSON.stringify(canary.steps)}`);
      }
      if (chance(0.06)) {
        const action = pick(['Hold', 'Promote', 'Abort', undefined] as const);
        canary = { ...canary, action };
        if (action === undefined) delete canary.action;
        editSpec({ canary: canary as never }, `spec.canary.action ${action ?? '(none)'}`);
      }
      if (chance(0.02)) {
        const { canary: _removed, ...rest } = spec;
        spec = rest;
        object = { ...object, spec: endpointObject({ spec }).spec, generation: object.generation + 1 };
        log.push(`edit: spec.canary removed (generation ${object.generation})`);
      }
      if (chance(0.07)) {
        const value = pick(['hold', 'promote', 'abort', ' Abort ', 'abrot', undefined]);
        annotate(EndpointAnnotation.canary, value, `${EndpointAnnotation.canary}=${value ?? '(removed)'}`);
      }
      if (chance(0.05)) annotate(EndpointAnnotation.requestedAt, `retry-${++tokens}`, `requested-at retry-${tokens}`);
      const paused = object.annotations[EndpointAnnotation.paused] === 'true';
      if (chance(paused ? 0.3 : 0.04)) annotate(EndpointAnnotation.paused, paused ? undefined : 'true', paused ? 'unpause' : 'pause');
      if (step > steps * 0.7 && chance(0.05)) {
        object = { ...object, deleting: true };
        log.push(`delete the object (deletionPolicy ${object.spec.deletionPolicy})`);
      }
    }

    // ---- Databricks, between looks ----
    now += pick([SECOND, 20 * SECOND, 2 * MINUTE, 6 * MINUTE, 12 * MINUTE, 40 * MINUTE]);
    if (world.pending?.outcome === 'running') {
      if (chance(0.45)) world = { exists: true, served: world.pending.entities };
      else if (chance(0.25)) world = { ...world, pending: { ...world.pending, outcome: chance(0.7) ? 'capacity' : 'build' } };
    }
    if (world.exists && chance(0.015)) {
      world = { exists: false };
      log.push('databricks: someone deletes the endpoint');
    }
    // In the Databricks UI, a split undone: the old version alone again, or another share.
    const split = world.served?.length === 2 && !world.pending ? world.served : undefined;
    if (split && chance(0.03)) {
      const old = split.find((e) => e.version !== object.spec.model.version) ?? (split[0] as Entity);
      const other = split.find((e) => e !== old) as Entity;
      const share = pick([0, 5, 20]);
      world = { exists: true, served: share === 0 ? [{ ...old, share: 100 }] : [{ ...old, share: 100 - share }, { ...other, share }] };
      log.push(`databricks: someone sets the traffic to ${describeWorld(world)}`);
    }
    const gate: GateReading = pick([
      { ok: true, values: [0.001] },
      { ok: true, values: [0.001] },
      { ok: true, values: [0.3] },
      { ok: false, message: 'metrics could not be read: 503' },
      { ok: true, values: [undefined], unknown: 'request_count_total is 0 (no traffic to judge yet)' },
    ]);
    const token = object.annotations[EndpointAnnotation.requestedAt];
    const paused = object.annotations[EndpointAnnotation.paused] === 'true';
    const readFails = chance(0.04);
    const endpointObserved = readFails ? ({ kind: 'failed', error: { kind: 'Transient', message: '503' } } as const) : world.exists ? ({ kind: 'found', value: body(world) } as const) : NOT_FOUND;
    log.push(`look at +${(now - NOW.getTime()) / SECOND}s: ${readFails ? 'read fails' : describeWorld(world)}`);

    // ---- the plan, carried out as the reconciler does ----
    const needs = observationsNeeded(object, true);
    const endpoint = needs.endpoint ? endpointObserved : SKIPPED;
    const found = endpoint.kind === 'found' ? endpoint.value : undefined;
    const ours = found !== undefined && ownershipOf(found, OWNER, object.status, 'gone', HOST).kind === 'ours';
    const reading = ours && !object.deleting && gateNeeded(object.spec, object.status) ? gate : undefined;
    if (reading) log.push(`  gate reads ${JSON.stringify(reading)}`);
    const decision = decideCanary(object, endpoint, ours, new Date(now), reading);
    const base = planInput({ ...object, spec: decision.spec }, { now: new Date(now) });
    const input = { ...base, endpoint, model: needs.model ? base.model : SKIPPED, desiredChanged: decision.changed, ...canaryPlanFields(decision) };
    const planned = planEndpoint(input);
    let plan = planned;
    let refusal: CallFailure | undefined;
    const sent = requested(planned);
    if (sent) {
      if (chance(0.6)) {
        world = { exists: true, ...(world.served && { served: world.served }), pending: { entities: sent, outcome: 'running' } };
        plan = withActionAnswer(input, planned, body(world));
        log.push(`  ${planned.action.type} ${sent.map((e) => `v${e.version}:${e.share}%`).join('+')} answered`);
      } else {
        refusal = pick(REFUSALS);
        // A call never answered: Databricks may have carried it out all the same.
        if (refusal.kind === 'Transient' && chance(0.3)) {
          refusal = { kind: 'Transient', message: 'timeout', ...(planned.action.type === 'create' && { outcomeUnknown: true }) };
          if (chance(0.5)) world = { exists: true, ...(world.served && { served: world.served }), pending: { entities: sent, outcome: 'running' } };
        }
        plan = planActionFailure(input, planned, refusal);
        if (refusal.kind === 'InvalidRequest') rejected = { generation: object.generation, token };
        log.push(`  ${planned.action.type} ${sent.map((e) => `v${e.version}:${e.share}%`).join('+')} refused: ${refusal.kind}${refusal.message === 'timeout' ? ' (never answered)' : ''}`);
      }
    } else if (planned.action.type === 'delete') {
      world = { exists: false };
      log.push('  delete answered');
    } else if (planned.action.type !== 'none') {
      log.push(`  ${planned.action.type}`);
    }
    const notSent = (refusal !== undefined && refusal.kind !== 'InvalidRequest') || plan.deferred === true;
    plan = withCanary(plan, object.status, decision, canaryKept(notSent, endpoint, plan), new Date(now));
    const canaryNow = plan.status.canary;
    if (canaryNow) reached.add(canaryNow.phase);
    if (object.deleting) reached.add(`deleted with ${object.spec.deletionPolicy}`);
    log.push(`  → canary ${canaryNow ? `${canaryNow.phase} step ${canaryNow.step} (${canaryNow.share} %) ${canaryNow.fromVersion}→${canaryNow.toVersion}` : '(none)'}; Ready ${conditionOf(plan, 'Ready')?.status} ${conditionOf(plan, 'Ready')?.reason}, Synced ${conditionOf(plan, 'Synced')?.status} ${conditionOf(plan, 'Synced')?.reason}`);

    // ---- the invariants ----
    const version = object.spec.model.version;
    const mutation = planned.action.type !== 'none' && planned.action.type !== 'adopt' && planned.action.type !== 'removeFinalizer';
    if (mutation && paused) fail(`a paused object sends ${planned.action.type}`, plan);
    if (mutation && object.deleting && planned.action.type !== 'delete') fail(`an object being deleted sends ${planned.action.type}`, plan);
    if (mutation && object.deleting && object.spec.deletionPolicy === 'Orphan') fail('an object deleted with deletionPolicy Orphan sends a delete', plan);
    if (plan.action.type === 'removeFinalizer') return;

    /** Where the canary stands as this look planned it (status keeps the one before when the plan was not sent). */
    const aimed = decision.status;
    const control = controlOf(object);
    const previous = object.status.canary?.toVersion === version && object.spec.canary ? object.status.canary : undefined;
    if (sent && object.spec.canary) {
      const servedNow = found?.config ? world.served : undefined;
      const shareOf = (entities: Entity[] | undefined) => entities?.find((e) => e.version === version)?.share ?? 0;
      const share = shareOf(sent);
      if (sent.reduce((total, e) => total + e.share, 0) !== 100) fail(`a config whose routes add up to ${sent.reduce((t, e) => t + e.share, 0)} %`, plan);
      // A split keeps beside the new version the one that serves now.
      if (sent.length === 2 && sent.some((e) => e.version !== version && !(servedNow ?? []).some((s) => s.version === e.version && s.name === e.name))) fail(`a split with a version that does not serve now`, plan);
      const servedShare = shareOf(servedNow);
      const steps = sortedSteps(object.spec.canary);
      // Two versions serve and none is a step of the spec's version's canary (a third version, or a share no longer
      // among the steps with no status.canary to say so): the spec's version replaces them at once.
      const noCanaryServes = (servedNow ?? []).length === 2 && !previous && !steps.includes(servedShare);
      // A leftover abort never sends traffic to a new version (one set back to a version that serves is no canary), also
      // while the split of the canary it aborted still serves (known from status.canary).
      const abortApplies = (servedNow ?? []).length === 1 || object.status.canary !== undefined;
      if (control === 'abort' && servedNow !== undefined && servedShare === 0 && share > 0 && abortApplies) fail(`an abort control is set, yet version ${version} gets ${share} % (it serves ${servedShare} %)`, plan);
      if (!noCanaryServes && share > servedShare) {
        const next = steps.find((s) => s > servedShare) ?? 100;
        const promoted = control === 'promote' || aimed?.phase === 'Promoting' || aimed?.phase === 'Succeeded';
        // A new endpoint (none before the canary) is created with the spec's version directly.
        const fresh = !previous && servedNow === undefined;
        // Steps edited during the canary take effect at the next advance: the current step may be sent again as it was.
        const current = share === previous?.share && previous.phase !== 'Aborted';
        if (!fresh && share !== next && !current && !(share === 100 && promoted)) fail(`version ${version} goes from ${servedShare} % to ${share} %, past the next step (${next} %)`, plan);
      }
      if (aimed?.phase === 'Aborted' && aimed.toVersion === version && share > 0) fail(`an aborted canary sends version ${version} ${share} %`, plan);
      // A step serving advances only past its pause, not while held, and with a gate only on evidence.
      // (The step itself put back after a change in Databricks is no advance.)
      if (share > servedShare && servedShare > 0 && control !== 'promote' && (previous?.phase === 'Paused' || previous?.phase === 'Holding') && share > previous.share) {
        const pauseEnds = Date.parse(previous.stepReachedTime ?? '') + 10 * MINUTE;
        if (control === 'hold') fail(`a held step (${servedShare} %) advances to ${share} %`, plan);
        if (now < pauseEnds) fail(`step ${previous.step} advances to ${share} % before its pause ends at ${new Date(pauseEnds).toISOString()}`, plan);
        const evidence = reading?.ok === true && reading.values.every((v) => v !== undefined);
        if (object.spec.canary.gate?.length && !evidence) fail(`a gated step advances to ${share} % on ${JSON.stringify(reading)}`, plan);
        reached.add('a step advanced');
      }
    }

    // status.canary keeps its progress when the action was refused (anything but a 400): the step is sent again.
    if (refusal && refusal.kind !== 'InvalidRequest' && progress(canaryNow) !== progress(object.status.canary)) {
      fail(`a ${refusal.kind} refusal changed status.canary from ${progress(object.status.canary)} to ${progress(canaryNow)}`, plan);
    }

    const blind = readFails || paused || object.deleting;
    // Nor does a look that read nothing (paused, a read that failed, a deletion) move the canary.
    if (blind && object.spec.canary && progress(canaryNow) !== progress(object.status.canary)) fail(`a look that read nothing changed status.canary from ${progress(object.status.canary)} to ${progress(canaryNow)}`, plan);
    const ready = conditionOf(plan, 'Ready');
    const synced = conditionOf(plan, 'Synced');
    const stalled = conditionOf(plan, 'Stalled');
    const reconciling = conditionOf(plan, 'Reconciling');
    if (stalled && reconciling) fail('Reconciling and Stalled are both True', plan);
    if (stalled && !STALLED_REASONS.has(stalled.reason)) fail(`Stalled for ${stalled.reason}, which retrying fixes`, plan);
    if (stalled && !object.deleting && plan.status.observedGeneration !== object.generation) fail(`Stalled ${stalled.reason} while observedGeneration is ${plan.status.observedGeneration}`, plan);
    if (reconciling && plan.requeue === undefined) fail(`Reconciling (${reconciling.reason}) with no look planned`, plan);

    if (!blind && ready?.status === 'True' && ready.observedGeneration === object.generation) {
      // A failed rollout leaves the served config serving, settled.
      const alone = world.exists && world.pending?.outcome !== 'running' && world.served?.length === 1 && world.served[0]?.version === version;
      if (!alone) fail(`Ready=True while Databricks serves ${describeWorld(world)}, not version ${version} alone`, plan);
      if (canaryNow && RUNNING.has(canaryNow.phase) && canaryNow.toVersion === version) fail(`Ready=True while the canary is ${canaryNow.phase}`, plan);
    }
    if (!blind && canaryNow?.toVersion === version && object.spec.canary) {
      if (RUNNING.has(canaryNow.phase) && ready?.reason === 'CanaryInProgress' && !reconciling) fail('a canary step serves (CanaryInProgress) without Reconciling=True', plan);
      if (canaryNow.phase === 'Paused' && plan.requeue === undefined) fail('a paused step with no look planned for the end of its pause', plan);
      if (canaryNow.phase === 'Aborted' && synced?.status === 'True') fail('an aborted canary with Synced=True', plan);
      if (canaryNow.phase === 'Aborted' && ready?.status === 'True') fail('an aborted canary with Ready=True', plan);
      // (A retry refused by a 429 or 5xx keeps status.canary as it was, and the operator retries by itself meanwhile.)
      if ((canaryNow.phase === 'StepFailed' || canaryNow.phase === 'RollbackFailed') && !stalled && !notSent) fail(`status.canary ${canaryNow.phase} without Stalled=True`, plan);
    }
    if (synced?.status === 'False' && synced.reason === 'CanaryAborted' && !stalled) fail('Synced=False CanaryAborted without Stalled=True', plan);

    // An abort rolls back: with nothing in the way, the old version alone is sent.
    const isRejected = rejected?.generation === object.generation && rejected.token === token;
    const statusBefore: EndpointStatus = object.status;
    // (A rollback that failed for good waits for requested-at; one waiting for GPU capacity, for its retry.)
    const oldAlone = world.served?.length === 1 && world.served[0]?.version === aimed?.fromVersion;
    const abortedNow = aimed?.phase === 'Aborted' && aimed.toVersion === version && aimed.step > 0 && previous?.phase !== 'RollbackFailed';
    if (!blind && !isRejected && abortedNow && world.exists && !world.pending && world.served && !oldAlone && statusBefore.capacity === undefined) {
      reached.add('rollback checked');
      const back = sent?.length === 1 && sent[0]?.version === aimed.fromVersion;
      if (!back) fail(`an aborted canary (${aimed.message}) with version ${version} still serving plans ${planned.action.type}, not the rollback`, plan);
    }
    // A gate above its max while the step serves aborts the canary, and status says why.
    if (reading?.ok && (reading.values[0] ?? 0) > 0.02 && (previous?.phase === 'Paused' || previous?.phase === 'Holding') && control !== 'promote' && control !== 'abort' && world.served?.length === 2 && world.served.find((e) => e.version === version)?.share === previous.share && !world.pending) {
      reached.add('gate failed');
      if (aimed?.phase !== 'Aborted' || !/metrics gate failed/.test(aimed.message ?? '')) fail(`the gate read ${reading.values[0]} > 0.02, yet the canary is ${aimed?.phase}: ${aimed?.message}`, plan);
    }
    // A failed step waits, sending nothing, until the served config of the spec or requested-at changes (or a control, or
    // Databricks); one Databricks refused (Synced InvalidSpec) is tried again on any change of the spec, as every refused
    // config is. Checked against the failure recorded at an earlier look: a retry refused unsent (a 429 or 5xx) keeps
    // status.canary as it was and is still owed, so the step waits only once a look did not try it.
    const specChangedSinceRefusal = stepRefusedIn !== undefined && stepRefusedIn !== object.generation;
    if (failedStep && (specChangedSinceRefusal || failedStep.ask !== JSON.stringify([object.spec.model, object.spec.throughput]) || failedStep.token !== token || failedStep.world !== describeWorld(world) || control === 'abort' || control === 'promote')) failedStep = undefined;
    if (failedStep && previous?.phase === 'StepFailed' && sent) fail('a failed step is sent again with nothing changed', plan);
    if (sent && !notSent && synced?.reason === 'InvalidSpec') stepRefusedIn = object.generation;
    if (canaryNow?.phase === 'StepFailed' && !failedStep && !(sent && notSent)) failedStep = { ask: JSON.stringify([object.spec.model, object.spec.throughput]), token, world: describeWorld(world) };
    if (canaryNow?.phase !== 'StepFailed') failedStep = stepRefusedIn = undefined;

    object = { ...object, status: plan.status, hasFinalizer: object.hasFinalizer || mutation };

    // A look that changes nothing: the same look again decides the same and tells nothing new.
    if (planned.action.type === 'none' && refusal === undefined && !readFails && !reading) {
      const again = decideCanary(object, endpoint, ours, new Date(now), undefined);
      const againInput = { ...planInput({ ...object, spec: again.spec }, { now: new Date(now) }), endpoint, model: needs.model ? base.model : SKIPPED, desiredChanged: again.changed, ...canaryPlanFields(again) };
      const replanned = planEndpoint(againInput);
      if (replanned.action.type !== 'none') fail(`the same look again plans ${replanned.action.type}`, replanned);
      if (replanned.events.length > 0) fail(`the same look again tells ${replanned.events.map((e) => e.reason).join(', ')}`, replanned);
    }
  }
}

/** What the sequences reached, so that a change of the generators cannot leave an invariant unexercised. */
const reached = new Set<string>();
const MUST_REACH = ['Progressing', 'Paused', 'Holding', 'Promoting', 'Succeeded', 'Aborted', 'StepFailed', 'RollbackFailed', 'deleted with Delete', 'deleted with Orphan', 'rollback checked', 'gate failed', 'a step advanced'];

describe('canary rollouts on random sequences of edits, controls, rollouts and refusals', () => {
  it('keep their promises on 200 seeded sequences of 40 looks', () => {
    for (let seed = 1; seed <= 200; seed++) runSequence(seed, 40);
    expect(MUST_REACH.filter((what) => !reached.has(what))).toEqual([]);
  });
});
