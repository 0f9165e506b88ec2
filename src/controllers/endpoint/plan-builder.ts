// The building blocks every planner of an endpoint uses: the status/Events builder and small helpers.
import type { EndpointStatus } from '../../api/v1alpha1/index.js';
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';
import { oneLine, shortLine } from '../../databricks/host-text.js';
import { type Condition, findCondition, keepTransitionTimes, setCondition, truncateMessage } from '../../kube/conditions.js';
import { kubeTime } from '../../kube/time.js';
import { observeConfig, statusFields } from './desired.js';
import { workspaceIdentity } from './workspace-move.js';
import { withCanaryConditions } from './canary-conditions.js';
import type { EndpointAction, EndpointObject, Plan, PlanInput, PlannedEvent, Requeue } from './plan-types.js';
import type { Owner } from './ownership.js';
import { progressRequeueMs, readySince, rolloutAgeMs } from './requeue.js';
import type { SettingsAction, SettingsPlan } from './settings.js';
import { summarizeConditions, transitionEvents } from './status-summary.js';

export const endpointNameOf = (object: Pick<EndpointObject, 'name' | 'spec'>): string => object.spec.endpointName ?? object.name;

/** Builds the next status and events step by step; `finish` turns it into a Plan. */
export class PlanBuilder {
  status: EndpointStatus;
  settingsAction: SettingsAction | undefined;
  /** The parts' own Events: beside, not instead of, the served config's transition Event. */
  private settingsEvents: PlannedEvent[] = [];
  readonly events: PlannedEvent[] = [];

  /** `before`: the conditions last written, which the Events of this plan are relative to. */
  constructor(
    private readonly input: PlanInput,
    private readonly before = input.object.status.conditions,
  ) {
    this.status = structuredClone(input.object.status);
  }

  ready(status: boolean, reason: string, message: string): this {
    return this.condition('Ready', status, reason, message);
  }

  synced(status: boolean, reason: string, message: string): this {
    return this.condition('Synced', status, reason, message);
  }

  /**
   * managementPolicy Observe: what Databricks reports of the endpoint, which Ready says whatever keeps the spec from
   * being compared (observe-only.ts). Unset: Ready follows a refusal, as below.
   */
  readyAsObserved: { ready: boolean; reason: string; message: string } | undefined;

  /** The spec cannot be carried out for `reason`: both conditions say so, so the wide REASON column names the cause. */
  blocked(reason: string, readyMessage: string, syncedMessage: string): this {
    const observed = this.readyAsObserved;
    return (observed ? this.ready(observed.ready, observed.reason, observed.message) : this.ready(false, reason, readyMessage)).synced(false, reason, syncedMessage);
  }

  /** Puts back a condition exactly as `previous` had it (or removes it): nothing happened that changes it. */
  keep(previous: EndpointStatus, type: 'Ready' | 'Synced'): this {
    const kept = findCondition(previous.conditions as Condition[] | undefined, type);
    const others = (this.status.conditions ?? []).filter((c) => c.type !== type);
    this.status.conditions = kept ? [...others, kept] : others;
    return this;
  }

  private condition(type: 'Ready' | 'Synced', status: boolean, reason: string, message: string): this {
    this.status.conditions = setCondition(
      this.status.conditions as Condition[] | undefined,
      { type, status: status ? 'True' : 'False', reason, message },
      this.input.object.generation,
      this.input.now,
    );
    return this;
  }

  event(type: PlannedEvent['type'], reason: string, message: string): this {
    this.events.push({ type, reason, message });
    return this;
  }

  /** The settings parts' status, conditions and events (settings.ts). */
  applySettings(settings: SettingsPlan): this {
    this.settingsAction = settings.action;
    if (settings.settings) this.status.settings = settings.settings;
    else delete this.status.settings;
    this.status.conditions = settings.conditions;
    this.settingsEvents = settings.events;
    return this;
  }

  /** Nothing is sent: the spec could not be resolved (Plan.specUnresolved). */
  finishUnresolved(requeue: Requeue): Plan {
    return { ...this.finish({ type: 'none' }, requeue), specUnresolved: true };
  }

  finish(action: EndpointAction, requeue: Requeue): Plan {
    if (this.status.conditions) {
      const { object, now } = this.input;
      const conditions = withCanaryConditions(this.status.conditions as Condition[], this.input, object.generation, now);
      // Relative to the status last written, not to the steps of this plan (a Ready set True, then False for a canary).
      this.status.conditions = keepTransitionTimes(this.before as Condition[] | undefined, summarizeConditions(conditions, object.generation, now, this.status.observedGeneration, object.deleting));
    }
    // Messages quote what Databricks answered (owner tags, states, configs): each is one line of visible characters,
    // whichever planner wrote it (docs/security.md), cut to the length cap once escaped: each escape is longer than
    // the character it stands for.
    if (this.status.conditions) this.status.conditions = (this.status.conditions as Condition[]).map((c) => ({ ...c, message: truncateMessage(oneLine(c.message)) }));
    const transitions = transitionEvents(this.before as Condition[] | undefined, this.status.conditions as Condition[] | undefined, this.events);
    const events = [...transitions, ...this.settingsEvents].map((e) => ({ ...e, message: oneLine(e.message) }));
    return { action, status: this.status, requeue, events };
  }
}

export const owner = (object: EndpointObject): Owner => ({ uid: object.uid, namespace: object.namespace, name: object.name });
export const jittered = (ms: number, spread: number, random: number): Requeue => ({ after: Math.round(ms * (1 - spread + 2 * spread * random)) });
/** Nothing of this generation was carried out before this look: not handled yet, or held by a refusal (handleRequest). */
export const isNewGeneration = ({ object, desiredChanged }: Pick<PlanInput, 'object' | 'desiredChanged'>): boolean =>
  object.status.observedGeneration !== object.generation || desiredChanged === true || object.status.heldGeneration === object.generation;

/** `startedAt`: when the rollout began (now for one this plan starts; default: the recorded pending config's start). */
export const progressRequeue = (input: PlanInput, startedAt: string | undefined = input.object.status.pending?.startTime): Requeue => ({
  after: progressRequeueMs(input.settings.progressIntervalMs, rolloutAgeMs(input.now.getTime(), startedAt, readySince(input.object.status)), input.random),
});

/**
 * The object no longer has the endpoint (deleted outside Kubernetes, or taken over by another object): status no
 * longer shows it serving or rolling out, so kubectl get pte shows nothing served.
 */
export function forgetServing(status: EndpointStatus): void {
  delete status.served;
  delete status.servedGeneration;
  delete status.state;
  delete status.pending;
  delete status.endpointUrl;
}

/** A state Databricks reports (READY, IN_PROGRESS...), as status keeps it: short, one visible line. */
export const shownState = (state: string | undefined): string | undefined => shortLine(state);

/** The endpoint's own invocation URL when it is one (http or https, nothing a terminal acts on); else undefined. */
export function invocationUrl(url: string | undefined): string | undefined {
  if (url === undefined || url.length > 2048 || oneLine(url) !== url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records in `status` what Databricks reports of the endpoint: URL, state, served and pending config. `holds`: the
 * object holds the endpoint (created or adopted it), so its ID and workspace are recorded too; an endpoint only
 * observed (observe-only.ts) is not, since status.endpointId is a claim the ownership rules read.
 */
export function recordEndpoint(input: PlanInput, status: EndpointStatus, endpoint: ServingEndpointDetailed, holds: boolean): void {
  if (holds && endpoint.id) status.endpointId = endpoint.id;
  const workspace = workspaceIdentity(input.workspace.host);
  if (holds && endpoint.id && workspace) status.workspaceHost = workspace;
  const host = input.workspace.host?.replace(/\/+$/, '');
  status.endpointUrl = invocationUrl(endpoint.endpoint_url) ?? (host ? `${host}/serving-endpoints/${endpoint.name}/invocations` : undefined);
  if (status.endpointUrl === undefined) delete status.endpointUrl;
  status.state = { ready: shownState(endpoint.state.ready), configUpdate: shownState(endpoint.state.config_update) };
  // Databricks does not echo burst_scaling_enabled, so status remembers what the operator asked for.
  const previous = input.object.status;
  const served = observeConfig(endpoint.config);
  if (served) {
    served.burstScaling ??= previous.served?.configVersion === served.configVersion ? previous.served?.burstScaling : previous.pending?.burstScaling;
    status.served = statusFields(served);
  } else delete status.served;
  const pending = observeConfig(endpoint.pending_config, input.object.spec.model.version);
  if (pending) {
    pending.burstScaling ??= previous.pending?.burstScaling;
    const startTime = endpoint.pending_config?.start_time;
    status.pending = { ...statusFields(pending), startTime: startTime ? kubeTime(new Date(startTime)) : status.pending?.startTime };
    if (status.pending.startTime === undefined) delete status.pending.startTime;
  } else if (endpoint.state.config_update !== 'IN_PROGRESS') {
    delete status.pending;
  }
}
