// The settings beside the served config (tags, AI Gateway, permissions, e-mail notifications) driven through random,
// seeded sequences: spec edits of each part (principals that do not exist, a creator lowered below CAN_MANAGE, an
// inference table in a catalog that does not exist or moved while enabled) and of the throughput (a rollout the
// settings wait for), requested-at tokens, changes made in Databricks (tags of someone else's, the gateway, grants,
// notifications), ACL reads that fail, and writes that are answered, refused by Databricks (the emulator's own checks:
// src/emulator/settings.ts) or refused as 429, 503 and 403; the operator is the endpoint's creator or, as on an
// endpoint Terraform made, another identity. Each plan is carried out as the reconciler does. After every look the
// status must keep the promises of docs/concepts.md (settings beside the served config; ownership of tags):
//   - what is planned converges: with every write answered and nothing else changing, the looks that follow reach a
//     plan with nothing to send within one write per part (two for a move of an enabled inference table), every part
//     Applied, or Rejected and InvalidSpec with their reasons; never NotConverging on what Databricks echoes;
//   - a tag the spec does not own is never removed: only keys of status.managedTagKeys (the spec's, as applied) that
//     the spec no longer has, never the owner tags;
//   - a part Databricks refused is Rejected with the refusal's reason, is not sent again while the spec and
//     requested-at are unchanged (drift included), and does not keep the other parts from converging;
//   - nothing beside the served config is sent while it rolls out;
//   - once it is settled, Ready and Synced stay True (the endpoint serves); Synced says the spec is applied only when
//     every part is; a part Applying or unreadable is Reconciling, a Rejected or InvalidSpec one Stalled, never both.
// A failure prints the seed and the steps that led to it.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation, type EndpointStatus } from '../../../../src/api/v1alpha1/index.js';
import { inferenceTableTarget } from '../../../../src/controllers/endpoint/ai-gateway.js';
import { OwnerTag } from '../../../../src/controllers/endpoint/ownership.js';
import { type CallFailure, type EndpointObject, type Plan, planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import { type PartObserved, type SchemaCheck, isSettingsAction, needsPermissions } from '../../../../src/controllers/endpoint/settings.js';
import { SPEC_APPLIED } from '../../../../src/controllers/endpoint/status-summary.js';
import type { AiGatewayConfig, EmailNotifications, ServingEndpointDetailed, ServingEndpointPermissions } from '../../../../src/databricks/api-types.js';
import { ApiError } from '../../../../src/emulator/errors.js';
import { seededRandom } from '../../../../src/emulator/rng.js';
import { type DirectPermission, type PrincipalKind, applyAiGateway, parseAcl, renderPermissions, replaceAcl } from '../../../../src/emulator/settings.js';
import { ENDPOINT_ID, HOST, MINUTE, NOW, OWNER, SECOND, type SpecInput, WORKSPACE_IDENTITY, endpointObject, ownerTagsOf, planInput, readyEndpoint, updatingEndpoint } from '../fixtures.js';
import { CREATOR, plan as planSettled } from './settings-fixtures.js';

/** What Databricks holds: the served config (a throughput in chunks, perhaps rolling out) and the settings beside it. */
interface World {
  /** The throughput served (chunks of 980 tokens/s), and one rolling out. */
  served: number;
  pending?: number;
  tags: Record<string, string>;
  gateway?: AiGatewayConfig;
  notifications?: EmailNotifications;
  acl: DirectPermission[];
}

/** The operator's identity on an endpoint someone else made (Terraform): kept at CAN_MANAGE beside the creator. */
const OPERATOR_SP = '7c1e0b2a-5d4f-4e8a-9b3c-1f2e3d4c5b6a';
const USERS = ['alice@company.com', 'bob@company.com', CREATOR];
const GROUPS = ['ml-eng', 'support'];
/** Who exists in the workspace: a PUT naming anyone else is refused (400). */
const DIRECTORY = { exists: (kind: PrincipalKind, name: string) => (kind === 'user_name' ? USERS.includes(name.toLowerCase()) : kind === 'group_name' ? GROUPS.includes(name) : name.toLowerCase() === OPERATOR_SP) };
/** Unity Catalog: catalog main with schemas default and logs. */
const SCHEMAS = (catalog: string, schema: string) => (catalog !== 'main' ? 'noCatalog' : ['default', 'logs'].includes(schema) ? 'ok' : 'noSchema') as 'ok' | 'noCatalog' | 'noSchema';
const ENDPOINT_NAME = 'llama-chat';
const OWNER_KEYS = new Set<string>([OwnerTag.uid, OwnerTag.object]);
const PART_OF: Record<string, string> = { putAiGateway: 'AiGatewaySynced', setPermissions: 'PermissionsSynced', updateNotifications: 'NotificationsSynced' };
const PARTS = ['AiGatewaySynced', 'PermissionsSynced', 'NotificationsSynced'];

const band = (chunks: number) => ({ min: chunks * 980, max: (chunks + 1) * 980 });

function body(world: World): ServingEndpointDetailed {
  const tags = { tags: Object.entries(world.tags).map(([key, value]) => ({ key, value })) };
  const endpoint = world.pending === undefined ? readyEndpoint(band(world.served), tags) : updatingEndpoint(band(world.served), band(world.pending), tags);
  if (world.gateway) endpoint.ai_gateway = world.gateway;
  if (world.notifications) endpoint.email_notifications = world.notifications;
  return endpoint;
}

/** Databricks carries out a write, or refuses it as invalid as the emulator does. */
function carryOut(world: World, plan: Plan): { world: World } | { refusal: CallFailure } {
  const action = plan.action;
  try {
    switch (action.type) {
      case 'patchTags': {
        const tags = { ...world.tags };
        for (const key of action.remove) delete tags[key];
        for (const { key, value } of action.add) tags[key] = value;
        return { world: { ...world, tags } };
      }
      case 'putAiGateway': {
        const gateway = applyAiGateway(ENDPOINT_NAME, world.gateway, action.body, SCHEMAS);
        const { gateway: _old, ...rest } = world;
        return { world: gateway ? { ...rest, gateway } : rest };
      }
      case 'setPermissions':
        return { world: { ...world, acl: replaceAcl(parseAcl(action.body.access_control_list, DIRECTORY)) } };
      case 'updateNotifications':
        return { world: { ...world, notifications: action.body.email_notifications ?? {} } };
      case 'updateConfig': {
        const entity = action.request.api === 'config' ? action.request.body.served_entities[0] : undefined;
        return { world: { ...world, pending: ((entity as { min_provisioned_throughput?: number } | undefined)?.min_provisioned_throughput ?? 0) / 980 } };
      }
      default:
        return { world };
    }
  } catch (err) {
    if (err instanceof ApiError) return { refusal: { kind: 'InvalidRequest', message: err.message } };
    throw err;
  }
}

const REFUSALS: CallFailure[] = [
  { kind: 'RateLimited', message: 'REQUEST_LIMIT_EXCEEDED: 429', retryAfterMs: 5 * SECOND },
  { kind: 'Transient', message: 'TEMPORARILY_UNAVAILABLE: 503' },
  { kind: 'PermissionDenied', message: 'PERMISSION_DENIED: 403' },
  { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: refused by a workspace policy' },
];
const conditionOf = (p: Pick<Plan, 'status'>, type: string) => p.status.conditions?.find((c) => c.type === type);
const describeConditions = (p: Pick<Plan, 'status'>) => (p.status.conditions ?? []).map((c) => `${c.type} ${c.status} ${c.reason}`).join(', ');

interface Look {
  plan: Plan;
  input: ReturnType<typeof planInput>;
}

/** One reconcile as the reconciler makes it: the ACL read only where permissions are managed, the schema before an enable. */
function look(object: EndpointObject, world: World, now: number, aclReadFails: boolean, principal: string): Look {
  const endpoint = body(world);
  // Nothing beside the served config is read while it rolls out (reconciler.ts settingsRead).
  const settled = world.pending === undefined;
  const permissions: PartObserved<ServingEndpointPermissions> = !settled || !needsPermissions(object.spec, object.status.settings)
    ? { kind: 'skipped' }
    : aclReadFails
      ? { kind: 'failed', message: 'TEMPORARILY_UNAVAILABLE: 503' }
      : { kind: 'found', value: renderPermissions(ENDPOINT_ID, world.acl) };
  const schemaName = settled ? inferenceTableTarget(object.spec.aiGateway, endpoint) : undefined;
  const [catalog = '', schema = ''] = schemaName?.split('.') ?? [];
  const inferenceTableSchema: SchemaCheck | undefined = schemaName ? { fullName: schemaName, exists: SCHEMAS(catalog, schema) === 'ok', message: `Schema '${schemaName}' does not exist.` } : undefined;
  const options = { endpoint, permissions, ...(inferenceTableSchema && { inferenceTableSchema }), now: new Date(now), workspace: { ready: true, host: HOST, identity: WORKSPACE_IDENTITY, principal } };
  return { plan: planSettled(object, options), input: { ...planInput(object, options), permissions, ...(inferenceTableSchema && { inferenceTableSchema }) } };
}

function gatewaySpec(random: () => number): SpecInput['aiGateway'] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const gateway: Record<string, unknown> = {};
  if (random() < 0.5) gateway.usageTracking = { enabled: random() < 0.7 };
  if (random() < 0.6) {
    gateway.inferenceTables = {
      catalogName: pick(['main', 'main', 'main', 'missing']),
      schemaName: pick(['default', 'logs', 'nope']),
      enabled: random() < 0.8,
      ...(random() < 0.4 && { tableNamePrefix: pick(['chat', 'support']) }),
    };
  }
  if (random() < 0.3) gateway.guardrails = { input: { safety: true, pii: { behavior: pick(['MASK', 'BLOCK', 'NONE']) } }, ...(random() < 0.5 && { output: { invalidKeywords: ['Secret', 'password'] } }) };
  if (random() < 0.3) gateway.rateLimits = pick([[{ calls: 100 }], [{ calls: 100 }, { tokens: 5000, key: 'user' }], [{ tokens: 20, key: 'user_group', principal: 'ml-eng' }]]);
  if (random() < 0.2) gateway.fallback = { enabled: random() < 0.5 };
  return gateway as SpecInput['aiGateway'];
}

function runSequence(seed: number, steps: number): void {
  const random = seededRandom(seed);
  const next = () => random.next();
  const chance = (p: number) => next() < p;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const log: string[] = [];

  const principal = chance(0.3) ? OPERATOR_SP : CREATOR;
  let spec: SpecInput = { tags: { team: 'genai' } };
  let object: EndpointObject = endpointObject({ spec });
  let world: World = { tags: { team: 'genai', 'finops-owner': 'cost-center-7', ...Object.fromEntries(ownerTagsOf(OWNER).map((t) => [t.key, t.value])) }, served: 2, acl: [{ kind: 'user_name', name: CREATOR, level: 'CAN_MANAGE' }, ...(principal === OPERATOR_SP ? [{ kind: 'service_principal_name' as const, name: OPERATOR_SP, level: 'CAN_MANAGE' }] : [])] };
  let now = NOW.getTime();
  let tokens = 0;
  /** Keys some spec of this sequence had: any other key on the endpoint is someone else's. */
  const specKeys = new Set<string>(['team']);
  /** Parts Databricks refused as invalid, with the generation and token the refusal met. */
  const rejected = new Map<string, { generation: number; token: string | undefined }>();

  const fail = (message: string, plan: Pick<Plan, 'status'>): never => {
    throw new Error(`seed ${seed}: ${message}\nsteps:\n  ${log.join('\n  ')}\nworld: ${JSON.stringify(world)}\nstatus: ${JSON.stringify(plan.status, null, 1)}`);
  };
  const edit = (change: SpecInput, what: string) => {
    spec = { ...spec, ...change };
    for (const key of Object.keys(change)) if (change[key as keyof SpecInput] === undefined) delete spec[key as keyof SpecInput];
    object = { ...object, spec: endpointObject({ spec }).spec, generation: object.generation + 1 };
    log.push(`edit: ${what} (generation ${object.generation})`);
  };

  /** Carries out a look's plan as the reconciler would, every write answered unless `refusal` says otherwise. */
  const act = (state: { object: EndpointObject; world: World }, current: Look, refusal: CallFailure | undefined) => {
    let plan = current.plan;
    let failure = refusal;
    if (plan.action.type !== 'none' && !failure) {
      const done = carryOut(state.world, plan);
      if ('refusal' in done) failure = done.refusal;
      else state.world = done.world;
    }
    if (failure && plan.action.type !== 'none') plan = planActionFailure(current.input, plan, failure);
    return { plan, failure };
  };

  for (let step = 0; step < steps; step++) {
    // ---- the user ----
    if (chance(0.1)) {
      const tags = Object.fromEntries([['team', pick(['genai', 'search'])], ['env', pick(['prod', 'dev'])], ['cost', pick(['a', 'b'])]].filter(() => chance(0.6)));
      for (const key of Object.keys(tags)) specKeys.add(key);
      edit({ tags }, `tags ${JSON.stringify(tags)}`);
    }
    if (chance(0.1)) {
      const gateway = chance(0.15) ? undefined : gatewaySpec(next);
      edit({ aiGateway: gateway }, `aiGateway ${JSON.stringify(gateway)}`);
    }
    if (chance(0.1)) {
      const who = [
        { userName: 'alice@company.com', permissionLevel: pick(['CAN_QUERY', 'CAN_MANAGE'] as const) },
        { groupName: 'ml-eng', permissionLevel: pick(['CAN_VIEW', 'CAN_QUERY'] as const) },
        { groupName: 'ghost-team', permissionLevel: 'CAN_QUERY' as const },
        { userName: CREATOR, permissionLevel: pick(['CAN_MANAGE', 'CAN_QUERY'] as const) },
        { userName: 'BOB@company.com', permissionLevel: 'CAN_VIEW' as const },
      ].filter(() => chance(0.35));
      const permissions = chance(0.15) ? undefined : who;
      edit({ permissions }, `permissions ${JSON.stringify(permissions)}`);
    }
    if (chance(0.08)) {
      const notifications = chance(0.2) ? undefined : { ...(chance(0.6) && { onUpdateFailure: pick([['oncall@company.com'], ['OnCall@company.com', 'ml@company.com']]) }), ...(chance(0.4) && { onUpdateSuccess: ['ml@company.com'] }) };
      edit({ notifications }, `notifications ${JSON.stringify(notifications)}`);
    }
    if (chance(0.06)) {
      const chunks = pick([1, 2, 3]);
      edit({ throughput: { chunks: { min: chunks, max: chunks + 1 } } }, `throughput chunks ${chunks}-${chunks + 1}`);
    }
    if (chance(0.05)) {
      const token = `retry-${++tokens}`;
      object = { ...object, annotations: { ...object.annotations, [EndpointAnnotation.requestedAt]: token } };
      log.push(`annotate: requested-at ${token}`);
    }

    // ---- Databricks, between looks ----
    if (world.pending !== undefined && chance(0.5)) {
      world = { ...world, served: world.pending };
      delete world.pending;
      log.push(`databricks: the rollout of chunks ${world.served} ends`);
    }
    // ---- someone else, in Databricks ----
    if (chance(0.05)) {
      world = { ...world, tags: { ...world.tags, [pick(['finops-owner', 'policy-tag', 'team', 'env'])]: pick(['x', 'ui']) } };
      log.push(`databricks: a tag is set: ${JSON.stringify(world.tags)}`);
    }
    if (chance(0.03)) {
      world = { ...world, acl: [...world.acl.filter((e) => e.name !== 'support'), { kind: 'group_name', name: 'support', level: 'CAN_MANAGE' }] };
      log.push('databricks: group support is granted CAN_MANAGE');
    }
    if (chance(0.03)) {
      world = { ...world, gateway: { usage_tracking_config: { enabled: true } } };
      log.push('databricks: the gateway is set to usage tracking alone');
    }
    if (chance(0.03)) {
      world = { ...world, notifications: {} };
      log.push('databricks: the notifications are cleared');
    }

    // ---- the look, carried out ----
    now += pick([SECOND, 20 * SECOND, 5 * MINUTE]);
    const aclReadFails = chance(0.05);
    const rolling = world.pending !== undefined;
    const current = look(object, world, now, aclReadFails, principal);
    const planned = current.plan;
    const token = object.annotations[EndpointAnnotation.requestedAt];
    const state = { object, world };
    // (A config update refused as invalid or forbidden is plan-property's: here it is only retried, 429 or 503.)
    const refusal = planned.action.type !== 'none' && chance(0.25) ? pick(planned.action.type === 'updateConfig' ? REFUSALS.slice(0, 2) : REFUSALS) : undefined;
    const { plan, failure } = act(state, current, refusal);
    world = state.world;
    log.push(`look${aclReadFails ? ' (ACL read fails)' : ''}: ${planned.action.type}${planned.action.type === 'patchTags' ? ` ${JSON.stringify({ add: planned.action.add, remove: planned.action.remove })}` : ''}${failure ? ` refused ${failure.kind}: ${failure.message}` : ''} → ${describeConditions(plan)}`);

    // ---- the invariants ----
    // Tags and settings are sent once the served config is settled.
    if (rolling && (planned.action.type === 'patchTags' || isSettingsAction(planned.action))) fail(`${planned.action.type} while the served config rolls out`, plan);
    if (planned.action.type === 'patchTags') {
      const managed = object.status.managedTagKeys ?? Object.keys(object.spec.tags ?? {});
      for (const key of planned.action.remove) {
        if (OWNER_KEYS.has(key)) fail(`the owner tag ${key} is removed`, plan);
        if (!specKeys.has(key)) fail(`tag ${key}, which no spec ever had, is removed`, plan);
        if (!managed.includes(key) || key in (object.spec.tags ?? {})) fail(`tag ${key} is removed though status.managedTagKeys is ${JSON.stringify(managed)} and the spec's tags ${JSON.stringify(object.spec.tags)}`, plan);
      }
    }
    if (isSettingsAction(planned.action)) {
      const part = PART_OF[planned.action.type] as string;
      const refused = rejected.get(part);
      if (refused && refused.generation === object.generation && refused.token === token) fail(`${part} was rejected for generation ${object.generation}, yet it is sent again with nothing changed`, plan);
      if (failure?.kind === 'InvalidRequest') {
        rejected.set(part, { generation: object.generation, token });
        const condition = conditionOf(plan, part);
        if (condition?.status !== 'False' || condition.reason !== 'Rejected' || !condition.message.includes(failure.message)) fail(`${part} refused (${failure.message}) is ${condition?.status} ${condition?.reason}`, plan);
      }
    }
    for (const [part, refused] of rejected) {
      if (refused.generation !== object.generation || refused.token !== token) rejected.delete(part);
      else if (conditionOf(plan, part)?.reason !== 'Rejected') fail(`${part} was rejected for this generation, and now says ${conditionOf(plan, part)?.reason}`, plan);
    }
    checkConditions(plan, { action: planned.action, failure, configSettled: !rolling && planned.action.type !== 'updateConfig' }, fail);
    for (const c of plan.status.conditions ?? []) if (PARTS.includes(c.type) && c.status === 'False') reached.add(`${c.type} ${c.reason}`);
    if (planned.action.type === 'patchTags' && planned.action.remove.length > 0) reached.add('a tag removed');
    if (rolling && (object.spec.permissions !== undefined || object.spec.aiGateway !== undefined)) reached.add('settings edited during a rollout');
    if (principal === OPERATOR_SP && planned.action.type === 'setPermissions') reached.add('permissions set by an operator that is not the creator');
    if (planned.action.type === 'putAiGateway' && planned.action.body.inference_table_config?.enabled === false && world.gateway?.inference_table_config?.enabled) reached.add('an inference table disabled to move');

    object = { ...object, status: plan.status };

    // A look that sends nothing, made again, decides the same and tells nothing new.
    if (planned.action.type === 'none' && !aclReadFails) {
      const again = look(object, world, now, false, principal).plan;
      if (again.action.type !== 'none') fail(`the same look again plans ${again.action.type}`, again);
      if (again.events.length > 0) fail(`the same look again tells ${again.events.map((e) => e.reason).join(', ')}`, again);
    }

    // ---- what is planned converges ----
    const settling = { object, world: structuredClone(world) };
    const writes: string[] = [];
    let settled: Plan | undefined;
    for (let round = 0; round < 8 && !settled; round++) {
      if (settling.world.pending !== undefined) settling.world = { ...settling.world, served: settling.world.pending, pending: undefined };
      const next = look(settling.object, settling.world, now, false, principal);
      const done = act(settling, next, undefined);
      if (next.plan.action.type === 'none') settled = done.plan;
      else writes.push(`${next.plan.action.type}${done.failure ? ` (refused: ${done.failure.message})` : ''}`);
      checkConditions(done.plan, { action: next.plan.action, failure: done.failure, configSettled: next.plan.action.type !== 'updateConfig' }, (message, p) => fail(`settling after the look (${writes.join(', ')}): ${message}`, p));
      settling.object = { ...settling.object, status: done.plan.status };
    }
    if (!settled) return fail(`nothing changing, the plans do not settle: ${writes.join(', ')}`, settling.object);
    const perPart = (type: string) => writes.filter((w) => w.startsWith(type)).length;
    if (perPart('patchTags') > 1 || perPart('setPermissions') > 1 || perPart('updateNotifications') > 1 || perPart('putAiGateway') > 2) fail(`settling takes ${writes.join(', ')}`, settled);
    for (const part of PARTS) {
      const condition = conditionOf(settled, part);
      if (condition && !['Applied', 'Rejected', 'InvalidSpec'].includes(condition.reason)) fail(`settled, ${part} is ${condition.reason}: ${condition.message}`, settled);
    }
    const wantedTags = object.spec.tags ?? {};
    for (const [key, value] of Object.entries(wantedTags)) if (settling.world.tags[key] !== value) fail(`settled, tag ${key} is ${settling.world.tags[key]}, not ${value}`, settled);
    for (const key of Object.keys(world.tags)) if (!specKeys.has(key) && !(key in settling.world.tags)) fail(`settling removed tag ${key}, which no spec had`, settled);
  }
}

/** Ready and Synced describe the served config, which serves; the parts feed kstatus. */
function checkConditions(plan: Plan, refused: { action: Plan['action']; failure: CallFailure | undefined; configSettled: boolean }, fail: (message: string, plan: Pick<Plan, 'status'>) => never): void {
  const status: EndpointStatus = plan.status;
  const ready = conditionOf(plan, 'Ready');
  const synced = conditionOf(plan, 'Synced');
  const stalled = conditionOf(plan, 'Stalled');
  const reconciling = conditionOf(plan, 'Reconciling');
  if (stalled && reconciling) fail('Reconciling and Stalled are both True', plan);
  if (reconciling && plan.requeue === undefined) fail(`Reconciling (${reconciling.reason}) with no look planned`, plan);
  // While the served config rolls out, Ready and Synced speak of it (Updating, WaitingForRollout).
  if (!refused.configSettled) return;
  // A settings part refused as invalid is the part's alone; a write refused by a 429, a 503 or a 403, or a tag patch
  // refused, is the endpoint's: Synced says so (a 403 and a 400 are Stalled, PermissionDenied and InvalidSpec).
  const endpointRefusal = refused.failure !== undefined && (refused.failure.kind !== 'InvalidRequest' || !isSettingsAction(refused.action));
  if (ready?.status !== 'True' && !endpointRefusal) fail(`Ready is ${ready?.status} ${ready?.reason} while the endpoint serves the spec`, plan);
  if (synced?.status !== 'True' && !endpointRefusal) fail(`Synced is ${synced?.status} ${synced?.reason}`, plan);
  if (endpointRefusal) return;
  const notApplied = (status.conditions ?? []).filter((c) => PARTS.includes(c.type) && c.status !== 'True');
  if (notApplied.length > 0 && synced?.message === SPEC_APPLIED) fail(`Synced says the spec is applied while ${notApplied.map((c) => `${c.type} is ${c.reason}`).join(', ')}`, plan);
  const needsYou = notApplied.some((c) => ['Rejected', 'InvalidSpec', 'NotUpdatable', 'NotConverging'].includes(c.reason));
  const working = notApplied.some((c) => ['Applying', 'ObserveFailed'].includes(c.reason));
  if (needsYou && !stalled && !reconciling) fail(`${notApplied.map((c) => c.reason).join(', ')} without Stalled=True`, plan);
  if (working && !stalled && !reconciling) fail(`${notApplied.map((c) => c.reason).join(', ')} without Reconciling=True`, plan);
  if (!needsYou && !working && (stalled || reconciling)) fail(`${stalled ? 'Stalled' : 'Reconciling'} (${(stalled ?? reconciling)?.reason}) with every part applied`, plan);
}

/** What the sequences reached, so that a change of the generators cannot leave an invariant unexercised. */
const reached = new Set<string>();
const MUST_REACH = [
  'AiGatewaySynced Applying',
  'AiGatewaySynced Rejected',
  'PermissionsSynced Rejected',
  'PermissionsSynced InvalidSpec',
  'PermissionsSynced ObserveFailed',
  'NotificationsSynced Applying',
  'a tag removed',
  'an inference table disabled to move',
  'settings edited during a rollout',
  'permissions set by an operator that is not the creator',
];

describe('the settings parts on random sequences of edits, changes in Databricks and refusals', () => {
  it('keep their promises on 150 seeded sequences of 30 looks', () => {
    for (let seed = 1; seed <= 150; seed++) runSequence(seed, 30);
    expect(MUST_REACH.filter((what) => !reached.has(what))).toEqual([]);
  });
});
