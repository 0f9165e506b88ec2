// Helpers the tests split from reconciler.test.ts share.
import { pino } from 'pino';
import { vi } from 'vitest';
import { DEFAULT_CAPACITY_PATTERNS } from '../../../../src/controllers/endpoint/capacity.js';
import { type Endpoint, endpointReconciler } from '../../../../src/controllers/endpoint/reconciler.js';
import { OperatorMetrics } from '../../../../src/controllers/metrics.js';
import type { ResolvedWorkspace } from '../../../../src/controllers/workspace/connections.js';
import { ENDPOINT_FINALIZER } from '../../../../src/controllers/resources.js';
import { type DatabricksClient, type ServingEndpointDetailed } from '../../../../src/databricks/index.js';
import { type EventHandlers, type EventRecorder, type KubeClient, KubeApiError, StatusWriter } from '../../../../src/kube/index.js';
import { createRegistry } from '../../../../src/observability/metrics.js';
import { MODEL, NOW, SECOND, TOKEN_BAND_MODEL, readyEndpoint } from '../fixtures.js';

export const KEY = 'ml/llama-chat';

/** An endpoint as Databricks lists it: a summary with its ID, state and tags. */
export const listedItem = (e: ServingEndpointDetailed) => ({ name: e.name, id: e.id, state: e.state, tags: e.tags });

export function endpoint(status: Endpoint['status'] = {}): Endpoint {
  return {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'ProvisionedThroughputEndpoint',
    metadata: { name: 'llama-chat', namespace: 'ml', uid: '6f1c2d7e-93a4-4b1e-8c55-0d6b2b7f1a10', generation: 1, resourceVersion: '10', finalizers: [ENDPOINT_FINALIZER] },
    spec: { model: { name: MODEL, version: '3' }, throughput: { chunks: { min: 2, max: 3 } }, tags: { team: 'genai' } },
    status,
  } as unknown as Endpoint;
}

export type Answer = () => unknown;

/** RFC 7386, as the API server applies a status merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): Endpoint['status'] {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch as Endpoint['status'];
  const result: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result as Endpoint['status'];
}

/** Everything the shell touches, with the API server's answers to status patches programmable. */
export function harness(options: { statusPatch?: Answer; conflictWith?: Endpoint; getEndpoint?: Answer; updateConfig?: Answer; object?: Endpoint; settings?: Record<string, Answer>; crdDeleting?: boolean; apiserverNow?: number | (() => number | undefined); listed?: string[]; managedFields?: boolean; now?: () => Date; informerFollowsWrites?: boolean; current?: () => Endpoint; wake?: (key: string) => void; clockWanted?: () => Promise<void> | undefined; workspace?: () => ResolvedWorkspace; credentialsRead?: () => Promise<void>; operatorIdentity?: () => Promise<string | undefined>; reservedSlot?: () => number | undefined } = {}) {
  const object = options.object ?? endpoint();
  const patches: { subresource?: string; body: unknown }[] = [];
  let stored = object;
  const returned: WeakRef<Endpoint>[] = [];
  const kube = {
    patch: vi.fn(async (_rt: unknown, _ns: unknown, _name: unknown, body: unknown, _type: unknown, opts?: { subresource?: string }) => {
      patches.push({ subresource: opts?.subresource, body });
      if (opts?.subresource === 'status' && options.statusPatch) return options.statusPatch();
      // Someone else's write landed first: the server holds their version, ours answers 409 once.
      if (opts?.subresource === 'status' && options.conflictWith && stored !== options.conflictWith) {
        stored = options.conflictWith;
        conflict();
      }
      // A JSON patch is the finalizer's removal (or addition): the answer carries the finalizers it leaves. A merge
      // patch of the status is applied to the status the fake API server holds.
      const finalizers = Array.isArray(body) ? (body.some((op: { op: string }) => op.op === 'remove') ? [] : [ENDPOINT_FINALIZER]) : stored.metadata.finalizers;
      const status = Array.isArray(body) ? stored.status : applyMergePatch(stored.status ?? {}, (body as { status?: unknown }).status);
      const managedFields = options.managedFields ? { managedFields: [{ manager: 'pt-operator', operation: 'Update', fieldsV1: { 'f:status': {} } }] } : {};
      const answer = { ...stored, metadata: { ...stored.metadata, ...managedFields, finalizers, resourceVersion: String(patches.length + 10) }, status } as Endpoint;
      stored = structuredClone(answer); // the server's copy, not the one it hands out
      returned.push(new WeakRef(answer));
      return answer;
    }),
    get: vi.fn(async () => stored),
  } as unknown as KubeClient;
  const client = {
    getEndpoint: vi.fn(async () => (options.getEndpoint ? options.getEndpoint() : readyEndpoint())),
    getModelOptimizationInfo: vi.fn(async () => TOKEN_BAND_MODEL),
    // A listed name is this object's endpoint (our owner tags) when it is ours, as a list item carries them.
    listEndpoints: vi.fn(async () => (options.listed ?? []).map((name) => (name === 'llama-chat' ? listedItem(readyEndpoint()) : { name }))),
    updateConfig: vi.fn(async () => (options.updateConfig ? options.updateConfig() : readyEndpoint())),
    createEndpoint: vi.fn(),
    deleteEndpoint: vi.fn(),
    patchTags: vi.fn(),
    // where the budget has the object's turn now (another namespace's newcomer may have moved it later)
    reservedSlot: vi.fn(() => options.reservedSlot?.()),
    releaseReservation: vi.fn(),
    ...Object.fromEntries(
      ['getPermissions', 'setPermissions', 'putAiGateway', 'updateNotifications', 'patchTelemetryConfig'].map((name) => [name, vi.fn(async () => options.settings?.[name]?.())]),
    ),
  } as unknown as DatabricksClient;
  const events: { reason: string }[] = [];
  const refused: string[] = [];
  const handlers: EventHandlers<Endpoint>[] = [];
  const reconcile = endpointReconciler({
    endpoints: { get: () => options.current?.() ?? (options.informerFollowsWrites ? stored : object), addHandlers: (h) => void handlers.push(h) },
    connections: {
      forEndpoint: () => options.workspace?.() ?? { name: 'ml/prod', ready: true, host: 'https://adb-1.azuredatabricks.net', client },
      readCredentialsOnce: async () => options.credentialsRead?.(),
      ...(options.operatorIdentity && { operatorIdentity: options.operatorIdentity }),
    },
    kube,
    statusWriter: new StatusWriter(kube),
    events: { record: async (_obj: unknown, _type: unknown, reason: string) => void events.push({ reason }) } as unknown as EventRecorder,
    metrics: new OperatorMetrics(createRegistry()),
    settings: { pollIntervalMs: 300 * SECOND, progressIntervalMs: 20 * SECOND, workspaceRetryMs: 30 * SECOND, capacityPatterns: DEFAULT_CAPACITY_PATTERNS },
    modelInfoTtlMs: 600 * SECOND,
    crdDeleting: vi.fn(async () => options.crdDeleting ?? false),
    credentialsRefused: (workspace: string) => void refused.push(workspace),
    tenancy: { endpoints: { get: () => object, byIndex: () => [object] }, identityOf: () => 'https://adb-1.azuredatabricks.net', seesAllOf: () => true, allowCrossNamespaceAdoption: false },
    now: options.now ?? (() => NOW),
    random: () => 0.5,
    apiserverNow: typeof options.apiserverNow === 'function' ? options.apiserverNow : () => options.apiserverNow as number | undefined,
    ...(options.clockWanted && { apiserverClockWanted: options.clockWanted }),
    ...(options.wake && { wake: options.wake }),
  });
  const logLines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  // The write-back (status, Events, requeue) is part of the reconcile's outcome: wait for it.
  const run = async (key = KEY) => {
    const result = await reconcile(key, { signal: new AbortController().signal, log });
    return result && 'finishing' in result ? result.finishing : result;
  };
  const reconcileRaw = () => reconcile(KEY, { signal: new AbortController().signal, log });
  return { run, reconcileRaw, patches, events, client, logLines, refused, handlers, returned, kube };
}

export const conflict = () => {
  throw new KubeApiError(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again');
};
