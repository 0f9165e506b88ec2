// The endpoint planner driven through random, seeded sequences of what users and Databricks do to one object: spec
// edits (model version, throughput, one off the model's grid, tags), requested-at tokens, pause and unpause, deletion;
// a Databricks endpoint that is created, rolls out, fails (GPU capacity or a build), drifts or goes away; a workspace
// unreachable or Stalled, a model missing or not readable (403); actions that are answered, refused (400, 403, 409,
// 429, 5xx, quota) or never answered. Each plan is fed back as the reconciler
// does (withActionAnswer, planActionFailure, the status written), and after every look the status must keep the
// promises docs/concepts.md makes to users and to kstatus. A failure prints the seed and the steps that led to it.
import { describe, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { SPEC_APPLIED, STALLED_REASONS } from '../../../../src/controllers/endpoint/status-summary.js';
import { type CallFailure, type EndpointObject, type Plan, type WorkspaceState, planActionFailure, withActionAnswer } from '../../../../src/controllers/endpoint/plan.js';
import type { ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { seededRandom } from '../../../../src/emulator/rng.js';
import {
  MINUTE,
  MODEL,
  HOST,
  NOT_FOUND,
  NOW,
  OWNER,
  SECOND,
  type SpecInput,
  type InputOptions,
  TOKEN_BAND_MODEL,
  WORKSPACE_IDENTITY,
  creatingEndpoint,
  endpointObject,
  failed,
  failedEndpoint,
  ownerTagsOf,
  planInput,
  readyEndpoint,
  reconcile,
  updatingEndpoint,
} from '../fixtures.js';

const CHUNK = TOKEN_BAND_MODEL.throughput_chunk_size as number;

interface Config {
  version: string;
  min: number;
  max: number;
}
/** What Databricks holds, with the value of its `team` tag. */
type World =
  | { kind: 'none' }
  | { kind: 'creating'; pending: Config; team: string }
  | { kind: 'ready'; served: Config; team: string; notReady?: boolean }
  | { kind: 'updating'; served: Config; pending: Config; team: string }
  | { kind: 'failed'; served?: Config; pending: Config; capacity: boolean; team: string };

const BUILD_FAILED = { deployment: 'DEPLOYMENT_FAILED', message: 'Model build failed: no online store configured' };

function body(world: Exclude<World, { kind: 'none' }>): ServingEndpointDetailed {
  const tags = { tags: [{ key: 'team', value: world.team }, ...ownerTagsOf(OWNER)] };
  switch (world.kind) {
    case 'creating':
      return creatingEndpoint(world.pending, tags);
    case 'ready': {
      const endpoint = readyEndpoint(world.served, tags);
      return world.notReady ? { ...endpoint, state: { ...endpoint.state, ready: 'NOT_READY' } } : endpoint;
    }
    case 'updating':
      return updatingEndpoint(world.served, world.pending, tags);
    case 'failed':
      return failedEndpoint(world.served, { ...world.pending, ...(!world.capacity && BUILD_FAILED) }, tags);
  }
}

/** The config a spec asks for, or undefined for a throughput off the model's grid (refused before anything is sent). */
function configOf(spec: SpecInput): Config | undefined {
  const throughput = spec.throughput as { chunks?: { min: number; max: number } } | undefined;
  if (!throughput?.chunks) return undefined;
  return { version: (spec.model as { version: string }).version, min: throughput.chunks.min * CHUNK, max: throughput.chunks.max * CHUNK };
}

const specTeam = (spec: SpecInput) => (spec.tags as { team?: string } | undefined)?.team ?? 'genai';
const sameConfig = (a: Config | undefined, b: Config | undefined) => a !== undefined && b !== undefined && a.version === b.version && a.min === b.min && a.max === b.max;
const mutates = (plan: Plan) => plan.action.type === 'create' || plan.action.type === 'updateConfig';
const conditionOf = (object: { status: EndpointObject['status'] }, type: string) => object.status.conditions?.find((c) => c.type === type);

const REFUSALS: CallFailure[] = [
  { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: 400' },
  { kind: 'PermissionDenied', message: 'PERMISSION_DENIED: 403' },
  { kind: 'Conflict', message: 'RESOURCE_CONFLICT: 409' },
  { kind: 'RateLimited', message: 'REQUEST_LIMIT_EXCEEDED: 429', retryAfterMs: 5 * SECOND },
  { kind: 'Transient', message: 'TEMPORARILY_UNAVAILABLE: 503' },
  { kind: 'QuotaExceeded', message: 'QUOTA_EXCEEDED: the workspace has 100 serving endpoints' },
  { kind: 'AlreadyExists', message: 'RESOURCE_ALREADY_EXISTS' },
  { kind: 'NotFound', message: 'RESOURCE_DOES_NOT_EXIST' },
];
/** Synced reasons that a person fixes outside the object (a grant, room, a model registered): looked at again on a timer. */
const NEEDS_A_PERSON = new Set(['PermissionDenied', 'QuotaExceeded', 'NotOwned', 'ModelNotFound', 'ModelNotOptimizable', 'WorkspaceStalled', 'DefaultWorkspaceNotAllowed']);

/** The DatabricksWorkspace and the model, as they stand for a while: fine, or what a person has to fix. */
type Workspace = 'ready' | 'unreachable' | 'stalled';
type ModelAccess = 'readable' | 'missing' | 'denied';
const WORKSPACES: Record<Workspace, WorkspaceState> = {
  ready: { ready: true, host: HOST, identity: WORKSPACE_IDENTITY },
  unreachable: { ready: false, host: HOST, message: 'dial tcp: i/o timeout' },
  stalled: { ready: false, host: HOST, reason: 'WorkspaceStalled', message: 'DatabricksWorkspace ml/prod is Stalled (SecretNotFound)' },
};

function runSequence(seed: number, steps: number): void {
  const random = seededRandom(seed);
  const chance = (p: number) => random.next() < p;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random.next() * items.length)] as T;
  const log: string[] = [];

  // A capacity budget of an hour, so sequences reach CapacityRetriesExhausted too.
  let spec: SpecInput = { model: { name: MODEL, version: '3' }, throughput: { chunks: { min: 2, max: 3 } }, capacityRetry: { timeout: '1h', maxBackoff: '10m' } };
  let object: EndpointObject = { ...endpointObject({ spec }), hasFinalizer: false };
  let world: World = { kind: 'none' };
  let now = NOW.getTime();
  let tokens = 0;
  let workspace: Workspace = 'ready';
  let modelAccess: ModelAccess = 'readable';
  /** The generation and token Databricks rejected as invalid (400), until either changes. */
  let rejected: { generation: number; token: string | undefined } | undefined;
  /** A Stalled look that waits for the user (not a person's grant): the generation, token and what Databricks showed. */
  let stuck: { generation: number; config: string; token: string | undefined; world: string; reason: string } | undefined;

  const fail = (message: string, plan: Plan) => {
    throw new Error(`seed ${seed}: ${message}\nsteps:\n  ${log.join('\n  ')}\nstatus: ${JSON.stringify(plan.status, null, 1)}`);
  };

  for (let step = 0; step < steps; step++) {
    // ---- the user ----
    if (!object.deleting) {
      if (chance(0.15)) {
        spec = { ...spec, model: { name: MODEL, version: pick(['3', '4', '5']) } };
        object = { ...object, spec: endpointObject({ spec }).spec, generation: object.generation + 1 };
        log.push(`edit: version ${(spec.model as { version: string }).version} (generation ${object.generation})`);
      } else if (chance(0.12)) {
        const min = 1 + Math.floor(random.next() * 3);
        spec = { ...spec, throughput: chance(0.15) ? { tokensPerSecond: { min: 1000, max: 1500 } } : { chunks: { min, max: min + Math.floor(random.next() * 2) } } };
        object = { ...object, spec: endpointObject({ spec }).spec, generation: object.generation + 1 };
        log.push(`edit: throughput ${JSON.stringify(spec.throughput)} (generation ${object.generation})`);
      }
      if (chance(0.08)) {
        spec = { ...spec, tags: { team: pick(['genai', 'search', 'ads']) } };
        object = { ...object, spec: endpointObject({ spec }).spec, generation: object.generation + 1 };
        log.push(`edit: tag team=${(spec.tags as { team: string }).team} (generation ${object.generation})`);
      }
      if (chance(0.06)) {
        const token = `retry-${++tokens}`;
        object = { ...object, annotations: { ...object.annotations, [EndpointAnnotation.requestedAt]: token } };
        log.push(`annotate: requested-at ${token}`);
      }
      const paused = object.annotations[EndpointAnnotation.paused] === 'true';
      if (chance(paused ? 0.3 : 0.04)) {
        const annotations = { ...object.annotations };
        if (paused) delete annotations[EndpointAnnotation.paused];
        else annotations[EndpointAnnotation.paused] = 'true';
        object = { ...object, annotations };
        log.push(paused ? 'annotate: unpause' : 'annotate: pause');
      }
      if (step > steps * 0.6 && chance(0.06)) {
        object = { ...object, deleting: true };
        log.push('delete the object');
      }
    }

    // A stall lasts until the served config the spec asks for changes (or requested-at, checked where it is used).
    if (stuck && stuck.config !== JSON.stringify(configOf(spec))) stuck = undefined;

    // ---- Databricks, between looks ----
    now += pick([SECOND, 20 * SECOND, 2 * MINUTE, 10 * MINUTE, 40 * MINUTE, 90 * MINUTE]);
    if (world.kind === 'creating' || world.kind === 'updating') {
      const served: Config | undefined = world.kind === 'updating' ? world.served : undefined;
      if (chance(0.4)) world = { kind: 'ready', served: world.pending, team: world.team };
      else if (chance(0.25)) world = { kind: 'failed', ...(served ? { served } : {}), pending: world.pending, capacity: chance(0.7), team: world.team };
    } else if (world.kind === 'ready' && world.notReady && chance(0.5)) {
      world = { kind: 'ready', served: world.served, team: world.team };
    } else if (world.kind === 'ready' && chance(0.06)) {
      const served: Config = world.served;
      const team: string = world.team;
      const other: Config = { ...served, version: pick(['3', '4', '5']), min: pick([1, 2]) * CHUNK };
      // In the Databricks UI: a config set at once, a rollout started, or a tag changed.
      world = pick([
        { kind: 'ready', served: other, team } as const,
        { kind: 'updating', served, pending: other, team } as const,
        { kind: 'ready', served, team: 'ui' } as const,
        { kind: 'ready', served, team, notReady: true } as const,
      ]);
      log.push(`databricks: someone changes the endpoint: ${JSON.stringify(world)}`);
    }
    if (world.kind !== 'none' && chance(0.02)) {
      world = { kind: 'none' };
      log.push('databricks: someone deletes the endpoint');
    }
    if (chance(workspace === 'ready' ? 0.03 : 0.3)) workspace = workspace === 'ready' ? pick(['unreachable', 'stalled'] as const) : 'ready';
    if (chance(modelAccess === 'readable' ? 0.02 : 0.3)) modelAccess = modelAccess === 'readable' ? pick(['missing', 'denied'] as const) : 'readable';
    const look = world.kind === 'none' ? NOT_FOUND : body(world);
    const endpointReadFails = chance(0.05);
    const modelReadFails = chance(0.03);
    const readFails = endpointReadFails || modelReadFails;
    const options: InputOptions = {
      endpoint: endpointReadFails ? failed(pick(['Transient', 'RateLimited', 'PermissionDenied'] as const)) : look,
      model: modelReadFails ? failed('Transient') : modelAccess === 'missing' ? NOT_FOUND : modelAccess === 'denied' ? failed('PermissionDenied') : TOKEN_BAND_MODEL,
      workspace: WORKSPACES[workspace],
      now: new Date(now),
    };
    const token = object.annotations[EndpointAnnotation.requestedAt];
    const paused = object.annotations[EndpointAnnotation.paused] === 'true';
    /** What this look learnt, if anything: a read failed, or nothing was read (paused, the workspace not ready). */
    const blind = readFails || workspace !== 'ready' || modelAccess !== 'readable';
    log.push(`look at +${(now - NOW.getTime()) / SECOND}s (workspace ${workspace}, model ${modelAccess}): ${readFails ? 'read fails' : world.kind} ${world.kind === 'none' ? '' : JSON.stringify(world)}`);

    // ---- the plan, carried out as the reconciler does ----
    const planned = reconcile(object, options);
    let plan = planned;
    // The other way round: with nothing in the way, the operator brings Databricks to the spec (no spec is lost).
    const desiredNow = configOf(spec);
    const isRejected = rejected?.generation === object.generation && rejected.token === token;
    if (!blind && !paused && !object.deleting && desiredNow && !isRejected && (world.kind === 'none' || world.kind === 'ready')) {
      const expected = world.kind === 'none' ? 'create' : !sameConfig(world.served, desiredNow) ? 'updateConfig' : world.team !== specTeam(spec) ? 'patchTags' : 'none';
      if (planned.action.type !== expected) fail(`expected ${expected}, planned ${planned.action.type}`, planned);
    }
    // A failed rollout of an older spec is superseded at once; one of this spec is tried again when requested-at asks.
    const asked = token !== undefined && token !== object.status.lastHandledRequestedAt;
    if (!blind && !paused && !object.deleting && desiredNow && world.kind === 'failed' && (!sameConfig(world.pending, desiredNow) || asked) && !sameConfig(world.served, desiredNow)) {
      if (!isRejected && planned.action.type !== 'updateConfig') fail(`a failed rollout ${asked ? `and requested-at ${token}` : 'of an older spec'}: planned ${planned.action.type}, not the spec's config`, planned);
    }
    let refusal: CallFailure | undefined;
    if (mutates(planned)) {
      if (paused) fail('a paused object sends a change', planned);
      if (object.deleting) fail('an object being deleted sends a config', planned);
      if (configOf(spec) === undefined) fail('a spec the preflight refuses is sent', planned);
      if (rejected && rejected.generation === object.generation && rejected.token === token) fail(`the config Databricks rejected (generation ${object.generation}) is sent again`, planned);
      // A failed rollout's stall stands through edits of tags alone (docs/concepts.md, GPU-capacity failures).
      const sameAsk = stuck && (stuck.generation === object.generation || (stuck.reason !== 'InvalidSpec' && stuck.config === JSON.stringify(configOf(spec))));
      if (stuck && sameAsk && stuck.token === token && stuck.world === JSON.stringify(world)) fail(`Stalled ${stuck.reason} said it waits for a change, yet it sends one with nothing changed`, planned);
      const desired = configOf(spec) as Config;
      const input = planInput(object, options);
      if (chance(0.55)) {
        const served: Config | undefined = world.kind === 'ready' || world.kind === 'failed' ? world.served : undefined;
        const team: string = planned.action.type === 'create' || world.kind === 'none' ? specTeam(spec) : world.team;
        const answer: World = served ? { kind: 'updating', served, pending: desired, team } : { kind: 'creating', pending: desired, team };
        world = answer;
        plan = withActionAnswer(input, planned, body(answer));
        log.push(`  ${planned.action.type} answered`);
      } else {
        const unknown = planned.action.type === 'create' && chance(0.2);
        refusal = unknown ? { kind: 'Transient', message: 'timeout', outcomeUnknown: true } : pick(REFUSALS);
        if (unknown && chance(0.5)) world = { kind: 'creating', pending: desired, team: specTeam(spec) };
        plan = planActionFailure(input, planned, refusal);
        if (refusal.kind === 'InvalidRequest') rejected = { generation: object.generation, token };
        log.push(`  ${planned.action.type} refused: ${refusal.kind}${refusal.outcomeUnknown ? ' (outcome unknown)' : ''}`);
      }
    } else if (planned.action.type === 'delete') {
      if (chance(0.6)) {
        world = { kind: 'none' };
        log.push('  delete answered');
      } else {
        refusal = pick(REFUSALS);
        plan = planActionFailure(planInput(object, options), planned, refusal);
        log.push(`  delete refused: ${refusal.kind}`);
      }
    } else if (planned.action.type === 'patchTags') {
      if (world.kind !== 'none') world = { ...world, team: specTeam(spec) };
      log.push(`  patchTags answered`);
    } else if (planned.action.type !== 'none') {
      log.push(`  ${planned.action.type}`);
    }
    log.push(`  → Ready ${conditionOf(plan, 'Ready')?.status} ${conditionOf(plan, 'Ready')?.reason}, Synced ${conditionOf(plan, 'Synced')?.status} ${conditionOf(plan, 'Synced')?.reason}, events ${plan.events.map((e) => e.reason).join(',')}`);
    if (plan.action.type === 'removeFinalizer') return;

    // ---- the invariants ----
    const status = plan.status;
    const previous = object.status.observedGeneration;
    if (status.observedGeneration !== undefined) {
      if (status.observedGeneration > object.generation) fail('observedGeneration is ahead of generation', plan);
      if (previous !== undefined && status.observedGeneration < previous) fail('observedGeneration went backwards', plan);
    } else if (previous !== undefined) fail('observedGeneration was dropped', plan);
    for (const c of status.conditions ?? []) if ((c.observedGeneration ?? 0) > object.generation) fail(`${c.type} speaks for a generation not made yet`, plan);

    // A 404 or 409-exists to the action keeps the status as it was and reads again at once: it says nothing new yet.
    const readsAgainAtOnce = refusal?.kind === 'NotFound' || refusal?.kind === 'AlreadyExists';
    if (!readsAgainAtOnce) {
      const reconciling = conditionOf(plan, 'Reconciling');
      const stalled = conditionOf(plan, 'Stalled');
      if (reconciling && stalled) fail('Reconciling and Stalled are both True', plan);
      // Working toward the spec means looking again; a pause is said only while the annotation is there.
      if (reconciling && plan.requeue === undefined) fail(`Reconciling (${reconciling.reason}) with no look planned`, plan);
      if (conditionOf(plan, 'Synced')?.reason === 'ReconcilePaused' && !paused) fail('Synced says ReconcilePaused on an object no longer paused', plan);
      for (const c of [reconciling, stalled]) if (c && c.observedGeneration !== object.generation) fail(`${c.type} speaks for generation ${c.observedGeneration}`, plan);
      if (stalled && !STALLED_REASONS.has(stalled.reason)) fail(`Stalled for ${stalled.reason}, which retrying fixes`, plan);
      if (stalled && NEEDS_A_PERSON.has(stalled.reason) && plan.requeue === undefined) fail(`Stalled for ${stalled.reason} and never looked at again`, plan);
      if (stalled && !NEEDS_A_PERSON.has(stalled.reason) && !blind) stuck = { generation: object.generation, config: JSON.stringify(configOf(spec)), token, world: JSON.stringify(world), reason: stalled.reason };

      // kstatus reads Stalled only for the current observedGeneration: a stall of a newer spec would look InProgress.
      // (Not while deleting: kstatus calls an object with a deletionTimestamp Terminating, whatever its conditions.)
      if (stalled && !object.deleting && status.observedGeneration !== object.generation) fail(`Stalled ${stalled.reason} while observedGeneration is ${status.observedGeneration}`, plan);

      const synced = conditionOf(plan, 'Synced');
      if (synced?.status === 'True' && synced.message === SPEC_APPLIED && synced.observedGeneration === object.generation && planned.action.type === 'none' && !paused && !blind) {
        const applied = (world.kind === 'ready' || world.kind === 'failed') && sameConfig(world.served, configOf(spec)) && world.team === specTeam(spec);
        if (!applied) fail('Synced says the spec is applied while Databricks shows another config or tag', plan);
      }

      const ready = conditionOf(plan, 'Ready');
      // Paused, or a read failed: Ready keeps what the operator last knew (docs/concepts.md); otherwise it says what it read.
      if (ready?.status === 'True' && ready.observedGeneration === object.generation && !paused && !blind) {
        // A failed rollout of an older spec leaves the served config in place: when that is the spec's, it serves.
        const serves = ((world.kind === 'ready' && !world.notReady) || world.kind === 'failed') && sameConfig(world.served, configOf(spec));
        if (!serves) fail('Ready=True while Databricks does not serve the spec', plan);
        if (status.pending !== undefined) fail('Ready=True with a pending config', plan);
        if (refusal && mutates(planned)) fail('Ready=True right after the change was refused', plan);
      }
    }

    // A requested-at token is carried out once: handled by a change Databricks took (or rejected as invalid), kept
    // unhandled by a change that was not made (429, 5xx, 409, a grant or room missing), so the retry carries it out.
    if (token !== undefined && object.status.lastHandledRequestedAt === token && status.lastHandledRequestedAt !== token) fail('a handled requested-at token became unhandled', plan);
    if (token !== undefined && mutates(planned)) {
      const handled = refusal === undefined || refusal.kind === 'InvalidRequest';
      if (handled && status.lastHandledRequestedAt !== token) fail(`requested-at ${token} is not handled though its change was ${refusal ? 'rejected' : 'made'}`, plan);
      if (!handled && status.lastHandledRequestedAt !== object.status.lastHandledRequestedAt) fail(`requested-at ${token} counts as handled though its change was refused (${refusal?.kind})`, plan);
    }

    object = { ...object, status, hasFinalizer: object.hasFinalizer || planned.action.type !== 'none' };

    // A refusal met again (another 429, another 503, the same 400) tells nothing new (docs/concepts.md, Events).
    if (refusal && mutates(planned)) {
      const input = planInput(object, options);
      const again = reconcile(object, options);
      if (mutates(again) && again.action.type === planned.action.type) {
        const refusedAgain = planActionFailure(input, again, refusal);
        if (refusedAgain.events.length > 0) fail(`the same refusal again tells ${refusedAgain.events.map((e) => e.reason).join(', ')}`, refusedAgain);
      }
    }

    // A look that changes nothing: the same read again decides the same and tells nothing new.
    if (planned.action.type === 'none' && refusal === undefined && !readFails) {
      const again = reconcile(object, options);
      if (again.action.type !== 'none') fail(`the same look again plans ${again.action.type}`, again);
      if (again.events.length > 0) fail(`the same look again tells ${again.events.map((e) => e.reason).join(', ')}`, again);
    }
  }
}

describe('the endpoint planner on random sequences of edits, Databricks states and refusals', () => {
  it('keeps its promises on 200 seeded sequences of 40 looks', () => {
    for (let seed = 1; seed <= 200; seed++) runSequence(seed, 40);
  });
});
