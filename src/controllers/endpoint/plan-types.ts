// The planner's inputs and outputs (plan.ts and the part planners beside it share them). Types only.
import type { EndpointSpec, EndpointStatus, Throughput } from '../../api/v1alpha1/index.js';
import type { ModelOptimizationInfo, ServingEndpointDetailed, ServingEndpointPermissions } from '../../databricks/api-types.js';
import type { ClientBudgetWait, DatabricksErrorKind } from '../../databricks/errors.js';
import type { CanarySplit, CreateRequest, UpdateRequest } from './desired.js';
import type { CanaryStanding } from './canary.js';
import type { OwnerPresence } from './ownership.js';
import type { PartObserved, SchemaCheck, SettingsAction } from './settings.js';

export interface EndpointObject {
  uid: string;
  namespace: string;
  name: string;
  generation: number;
  annotations: Record<string, string>;
  /** metadata.creationTimestamp (RFC 3339, seconds): the age that decides claims of one endpoint name. */
  creationTimestamp?: string;
  deleting: boolean;
  /** metadata.deletionTimestamp: when the deletion was asked for (how old a delete in progress is). */
  deletionTimestamp?: string;
  /** The endpoint CRD itself is being deleted (only looked up for an object being deleted with our finalizer). */
  crdDeleting?: boolean;
  hasFinalizer: boolean;
  spec: EndpointSpec;
  status: EndpointStatus;
}

export interface CallFailure {
  kind: DatabricksErrorKind;
  message: string;
  retryAfterMs?: number;
  /** refused by our own rate budget (nothing sent; a slot is reserved for this object) */
  fromClientBudget?: boolean;
  /** with fromClientBudget: which budget, and whether a 429 from Databricks paused it */
  clientBudget?: ClientBudgetWait;
  /** a create sent and never answered: Databricks may still carry it out */
  outcomeUnknown?: boolean;
}

export type Observed<T> = { kind: 'found'; value: T } | { kind: 'notFound' } | { kind: 'failed'; error: CallFailure } | { kind: 'skipped' };

export interface WorkspaceState {
  ready: boolean;
  /** Synced reason when not ready (default WorkspaceNotReady). */
  reason?: string;
  /** Why it is not ready, for the endpoint's message. */
  message?: string;
  /** Base URL, for status.endpointUrl. */
  host?: string;
  /** Who the operator is in the workspace, as whoever grants it permissions finds it (for a 403's message). */
  identity?: string;
  /** Who the operator is there as Databricks names it (SCIM Me's userName), when known: kept at CAN_MANAGE (permissions.ts). */
  principal?: string;
  /** Being deleted with its credentials gone (connections.ts): only Orphan lets a deleting object go. */
  credentialsLost?: boolean;
}

export interface PlanSettings {
  /** How often a settled endpoint is re-read to catch drift. */
  pollIntervalMs: number;
  /** How often a rollout in progress is re-read. */
  progressIntervalMs: number;
  /** Backoff while the workspace is not ready (its own watch also wakes us). */
  workspaceRetryMs: number;
  capacityPatterns: readonly RegExp[];
}

/** What the informer cache tells about other objects (docs/security.md, ownership rules). */
export interface TenancyView {
  /** Whether the object named by the observed endpoint's owner tags still exists. */
  taggedOwnerPresence: OwnerPresence;
  /** Another object that still exists and holds the observed endpoint (its status.adoption or status.endpointId records its ID). */
  recordedHolder: string | undefined;
  /** Which of the two records it: 'adoption' or 'creation' (status.endpointId). */
  recordedBy?: 'adoption' | 'creation' | undefined;
  /** An older object claiming the same endpoint name in the same workspace ("namespace.name"). */
  olderClaimant: string | undefined;
  /** --allow-cross-namespace-adoption */
  allowCrossNamespaceAdoption: boolean;
}

export interface PlanInput {
  object: EndpointObject;
  workspace: WorkspaceState;
  tenancy: TenancyView;
  endpoint: Observed<ServingEndpointDetailed>;
  model: Observed<ModelOptimizationInfo>;
  /** The endpoint's ACL, read only when spec or status involve permissions (settings.ts needsPermissions). */
  permissions?: PartObserved<ServingEndpointPermissions>;
  /** The schema an inference table is to be enabled in, read before the gateway PUT (ai-gateway.ts inferenceTableTarget). */
  inferenceTableSchema?: SchemaCheck;
  now: Date;
  /** A number in [0, 1) for jitter; the caller passes Math.random(), tests a constant. */
  random: number;
  settings: PlanSettings;
  /** The desired config changed without a new generation (a schedule window opened or closed): act as on a new spec. */
  desiredChanged?: boolean;
  /** spec.throughput while a schedule window open now replaces it in object.spec: checked all the same (schedule.ts). */
  unscheduledThroughput?: Throughput;
  /** Why the spec cannot be applied, found outside the planner (an invalid schedule): InvalidSpec. */
  specProblem?: string;
  /** A canary step: the previous version serves beside the spec's (canary.ts). */
  split?: CanarySplit;
  /** The canary of the spec's version was aborted (or kept from starting): why, and how to go on (canary.ts). */
  canaryAborted?: string;
  /** After an abort, the old version does not serve alone yet: the rollback, named for a failure's message (canary.ts). */
  canaryRollback?: string;
  /** A create of this object went unanswered and may still land in Databricks until then (unconfirmed-creates.ts). */
  createMayLandUntil?: Date;
  /** The canary of the spec's version runs: where it stands, said by Ready and Synced once its step serves (canary.ts). */
  canaryInProgress?: CanaryStanding;
  /** An abort control whose rollback target is not known (canary.ts abortOfUnknownSplit): nothing is sent, Synced CanaryAborted says why. */
  canaryUnresolved?: string;
}

export type EndpointAction =
  | { type: 'none' }
  | { type: 'create'; request: CreateRequest }
  | { type: 'updateConfig'; request: UpdateRequest }
  | { type: 'patchTags'; name: string; add: { key: string; value: string }[]; remove: string[] }
  | { type: 'delete'; name: string }
  /** Take over an existing endpoint: the finalizer goes on and status.adoption records it; no Databricks call. */
  | { type: 'adopt'; name: string }
  | { type: 'removeFinalizer' }
  | SettingsAction;

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/**
 * `after`: requeue in ms; `backoff`: requeue with the workqueue's per-key exponential backoff, never longer than
 * `maxMs` when set (a Databricks host that fails is tried again at least that often, so the end of its outage is
 * seen); none: wait for a change.
 */
export type Requeue = { after: number } | { backoff: true; maxMs?: number } | undefined;

export interface Plan {
  action: EndpointAction;
  status: EndpointStatus;
  requeue: Requeue;
  events: PlannedEvent[];
  /**
   * The change this plan was made for waits one step: the owner tags of an adopted endpoint go first (adoption.ts),
   * so status keeps what it had and the parts that follow a change (schedule, canary) treat it as not sent.
   */
  deferred?: boolean;
  /**
   * The spec could not be resolved (its model read failed, or the model or spec was refused before any call): nothing
   * was sent for it, so the parts that follow a change (the canary) stay where they were until it is fixed.
   */
  specUnresolved?: boolean;
}
