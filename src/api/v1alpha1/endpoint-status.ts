// The status of a ProvisionedThroughputEndpoint (written by the operator only) and the reasons of its conditions;
// the spec, which users write and admission checks, is in endpoint.ts.
import { z } from 'zod';
import { Conditions } from './common.js';
import { SettingsStatus } from './endpoint-settings.js';

const ServedConfig = {
  modelVersion: z.string().optional().describe('Model version of the config.'),
  minTokensPerSecond: z.int().optional().describe('Minimum provisioned throughput in tokens per second.'),
  maxTokensPerSecond: z.int().optional().describe('Maximum provisioned throughput in tokens per second.'),
  modelUnits: z.int().optional().describe('Provisioned model units.'),
  burstScaling: z
    .boolean()
    .optional()
    .describe('Burst scaling of a model-unit config, as the operator requested it (Databricks does not echo it).'),
  configVersion: z.int().optional().describe("Databricks' config_version of this config."),
};

export const EndpointStatus = z
  .strictObject({
    observedGeneration: z.int().optional().describe('The metadata.generation the operator last acted on.'),
    endpointName: z.string().optional().describe('Name of the Databricks endpoint this object manages.'),
    endpointId: z.string().optional().describe('Databricks endpoint id.'),
    workspaceHost: z
      .string()
      .optional()
      .describe(
        'The workspace (normalised host) the endpoint of endpointId lives in. Should the object name another workspace later and the endpoint not be there, the operator does not create a second one (Synced=False WorkspaceChanged).',
      ),
    adoption: z
      .strictObject({
        endpointId: z.string().describe('ID of the Databricks endpoint this object adopted.'),
        time: z.string().describe('When it was adopted (RFC 3339).'),
        uid: z
          .string()
          .optional()
          .describe(
            'UID of the object that adopted it. A status restored onto another object (a backup restored with its status, new UID) takes over no endpoint tagged for another object: that needs ptoperator.io/adopt again.',
          ),
        fromUid: z
          .string()
          .optional()
          .describe(
            "The UID the endpoint's owner tag named when it was adopted (an earlier object's), if any. Once the tag names any other object, someone else's operator took the endpoint over: this record holds it no more.",
          ),
      })
      .optional()
      .describe(
        "Set when this object took over an existing endpoint (annotation ptoperator.io/adopt): the endpoint it holds, by ID. Adoption itself sends nothing to Databricks; the owner tags are written with the endpoint's next change. While this object exists, no other object adopts or changes that endpoint.",
      ),
    endpointUrl: z.string().optional().describe('Invocation URL of the endpoint.'),
    state: z
      .strictObject({
        ready: z.string().optional().describe('Databricks state.ready: READY or NOT_READY.'),
        configUpdate: z
          .string()
          .optional()
          .describe('Databricks state.config_update: NOT_UPDATING, IN_PROGRESS, UPDATE_FAILED or UPDATE_CANCELED.'),
      })
      .optional()
      .describe("The endpoint state in Databricks' own words."),
    optimization: z
      .strictObject({
        modelType: z.string().optional().describe('Model type reported by Databricks, e.g. llama.'),
        chunkSize: z.int().optional().describe('Throughput chunk size in tokens per second.'),
        modelUnitChunkSize: z.int().optional().describe('Model-unit chunk size, for model-unit models.'),
        appliedChunkSize: z
          .int()
          .optional()
          .describe(
            'Set only after Databricks changed the model\'s throughput chunk size under a served spec: the chunk size this generation was applied with, which the operator keeps reading the spec in (nothing is changed in Databricks) until the spec changes or a requested-at asks for a new attempt.',
          ),
        appliedModelUnitChunkSize: z
          .int()
          .optional()
          .describe('Likewise for the model-unit chunk size: the one this generation was applied with, set only while it differs from modelUnitChunkSize.'),
      })
      .optional()
      .describe('What Databricks reported for the model (get-model-optimization-info).'),
    served: z.strictObject(ServedConfig).optional().describe('The config Databricks serves now.'),
    pending: z
      .strictObject({
        ...ServedConfig,
        startTime: z.string().optional().describe('When this rollout started (RFC 3339).'),
      })
      .optional()
      .describe(
        "The config Databricks is rolling out, while an update is in progress. During a canary step it names the spec's version, the one that changes (status.canary.versions lists every version with its share).",
      ),
    capacity: z
      .strictObject({
        attempts: z.int().optional().describe('Rollouts of the desired served config that failed for lack of GPU capacity.'),
        firstFailureTime: z.string().optional().describe('First capacity failure of the desired served config (RFC 3339).'),
        nextRetryTime: z.string().optional().describe('When the operator re-issues the config (RFC 3339).'),
        lastMessage: z.string().optional().describe('Databricks message of the last capacity failure.'),
        lastFailedRolloutStart: z
          .string()
          .optional()
          .describe("Start of the rollout whose capacity failure was counted last, in Databricks' clock (RFC 3339): one that failed with another start is a later rollout's failure, counted too."),
        exhausted: z.boolean().optional().describe('True once the retry budget (capacityRetry.timeout) is spent.'),
        retryTimeout: z
          .string()
          .optional()
          .describe('The spec.capacityRetry.timeout these attempts count against: one raised once they are spent starts a new budget; one changed while they go on applies to them.'),
      })
      .optional()
      .describe('GPU-capacity retry state; it survives operator restarts.'),
    lastHandledRequestedAt: z.string().optional().describe('The last ptoperator.io/requested-at value acted on.'),
    schedule: z
      .strictObject({
        activeWindow: z.string().optional().describe('The schedule window whose throughput applies now; absent: spec.throughput applies.'),
        throughput: z.string().optional().describe('The throughput the schedule asks for now, e.g. "chunks 4-6".'),
        nextChangeTime: z.string().optional().describe('When the scheduled throughput changes next (RFC 3339), lead time included.'),
        nextWindow: z.string().optional().describe('What applies from nextChangeTime: a window name, or "(default)" for spec.throughput.'),
      })
      .optional()
      .describe('Where spec.schedule stands.'),
    canary: z
      .strictObject({
        phase: z.string().describe('Progressing (a step rolls out, also when retried for GPU capacity), Paused (a step holds for spec.canary.pause), Holding, Promoting, Succeeded, Aborted, StepFailed (the rollout of the step or of the promotion failed; retried on a spec change or a new ptoperator.io/requested-at), or RollbackFailed (the rollback of an abort to the old version alone failed: both versions keep serving; retried on a new ptoperator.io/requested-at).'),
        model: z.string().optional().describe('The Unity Catalog model whose versions the canary moves traffic between (spec.model.name when it began); a canary of another model is over.'),
        fromVersion: z.string().describe('The version that served before the canary.'),
        toVersion: z.string().describe('The version the canary rolls out.'),
        from: z
          .strictObject({
            entityName: z.string().describe('Name of the old version\'s served entity.'),
            minTokensPerSecond: z.int().optional().describe('Its minimum tokens per second.'),
            maxTokensPerSecond: z.int().optional().describe('Its maximum tokens per second.'),
            modelUnits: z.int().optional().describe('Its model units.'),
          })
          .describe('The served entity of the old version, kept beside the new one, with the throughput it served when the canary started (with spec.schedule: the throughput it serves now, as it follows the schedule).'),
        step: z.int().describe('The current step, 1-based; one past the last step means 100 %; 0 when an abort control kept the canary from starting (phase Aborted).'),
        share: z.int().describe('Percent of the traffic the current step gives the new version.'),
        stepReachedTime: z.string().optional().describe('When the current step began serving (RFC 3339).'),
        message: z.string().optional().describe('What the canary waits for, or why it ended.'),
        versions: z
          .array(
            z.strictObject({
              version: z.string().describe('Model version.'),
              share: z.int().describe('Percent of the traffic it gets.'),
              throughput: z.string().describe('Its throughput, e.g. "1960-2940 tokens/s".'),
            }),
          )
          .optional()
          .describe('Each served version with its traffic share and throughput, as Databricks serves them (the first 15: Databricks serves no more).'),
      })
      .optional()
      .describe('Where a canary rollout (spec.canary) stands.'),
    rejectedGeneration: z
      .int()
      .optional()
      .describe(
        'The generation whose create or update Databricks refused as invalid (HTTP 400); the request is not sent again until the spec or the requested-at annotation changes.',
      ),
    heldGeneration: z
      .int()
      .optional()
      .describe(
        'The generation counted as handled (observedGeneration) though nothing of it was sent: a refusal that needs a person (a permission, the default workspace, a workspace to fix) met it first. Once that refusal ends it is carried out as a new spec.',
      ),
    settings: SettingsStatus.optional(),
    tagPatchGeneration: z
      .int()
      .optional()
      .describe(
        "The generation for which the operator last patched the endpoint's tags: a patch the endpoint still does not show afterwards waits behind the spec's other changes, so neither starves the other.",
      ),
    servedGeneration: z
      .int()
      .optional()
      .describe(
        'Written when a served config changed in Databricks is restored: the generation that had served before it (Ready is Updating meanwhile), so that tags and settings changed in Databricks with it are reported as drift once the restore lands.',
      ),
    managedTagKeys: z
      .array(z.string())
      .optional()
      .describe('Keys of spec.tags the operator applied to the endpoint: only these (and its owner tags) are ever changed or removed; other tags are left alone.'),
    conditions: Conditions,
  })
  .describe('Observed state, written by the operator.');
export type EndpointStatus = z.infer<typeof EndpointStatus>;

/** Reasons of the Ready condition of a ProvisionedThroughputEndpoint. */
export const EndpointReadyReason = {
  Available: 'Available',
  Creating: 'Creating',
  Updating: 'Updating',
  WaitingForCapacity: 'WaitingForCapacity',
  UpdateFailed: 'UpdateFailed',
  Deleting: 'Deleting',
  NotReady: 'NotReady',
  CanaryInProgress: 'CanaryInProgress',
  CanaryAborted: 'CanaryAborted',
  /** managementPolicy Observe and Databricks has no endpoint of the name: the operator creates nothing. */
  EndpointNotFound: 'EndpointNotFound',
} as const;

/** Reasons of the Synced condition of a ProvisionedThroughputEndpoint. */
export const EndpointSyncedReason = {
  ReconcileSuccess: 'ReconcileSuccess',
  ReconcileError: 'ReconcileError',
  InvalidSpec: 'InvalidSpec',
  ModelNotOptimizable: 'ModelNotOptimizable',
  ModelNotFound: 'ModelNotFound',
  NotOwned: 'NotOwned',
  /** The workspace's credentials work, but its identity lacks a permission on this endpoint (a 403). */
  PermissionDenied: 'PermissionDenied',
  /**
   * Databricks refused the request because a workspace limit is reached (its number of serving endpoints): deleting
   * endpoints the workspace no longer needs, or a higher limit, makes room; the operator tries again every poll interval.
   */
  QuotaExceeded: 'QuotaExceeded',
  /** The DatabricksWorkspace is missing, not verified yet, or its host unreachable: the operator retries. */
  WorkspaceNotReady: 'WorkspaceNotReady',
  /**
   * The DatabricksWorkspace needs a person (it is Stalled itself: its Secret, credentials or spec were refused):
   * nothing is sent to Databricks until it is fixed, and the endpoint goes on by itself once it is Ready.
   */
  WorkspaceStalled: 'WorkspaceStalled',
  DefaultWorkspaceNotAllowed: 'DefaultWorkspaceNotAllowed',
  RateLimited: 'RateLimited',
  /**
   * A new spec waits for a rollout to end: one it did not start (an older spec's, or one made outside the operator),
   * or, for an edit of tags or settings alone, the rollout of its own config (they are sent once it is settled).
   */
  WaitingForRollout: 'WaitingForRollout',
  CapacityRetriesExhausted: 'CapacityRetriesExhausted',
  UpdateFailed: 'UpdateFailed',
  ReconcilePaused: 'ReconcilePaused',
  CanaryAborted: 'CanaryAborted',
  WorkspaceChanged: 'WorkspaceChanged',
  /** managementPolicy Observe: the endpoint differs from the spec, and the operator changes nothing (the message says what differs). */
  Drifted: 'Drifted',
  /** managementPolicy Observe and Databricks has no endpoint of the name: the operator creates nothing. */
  EndpointNotFound: 'EndpointNotFound',
} as const;
