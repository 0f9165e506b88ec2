// The Databricks side of a reconcile: reads observed as the planner takes them (found, not found, failed), and the
// one planned action executed (the finalizer first, before anything can exist in Databricks).
import { type DatabricksClient, isDatabricksError, type ServingEndpointDetailed } from '../../databricks/index.js';
import { addFinalizer, hasFinalizer, type KubeClient, type Logger, removeFinalizer } from '../../kube/index.js';
import { ENDPOINT_FINALIZER, EndpointResource } from '../resources.js';
import type { ResolvedWorkspace } from '../workspace/connections.js';
import type { CallFailure, EndpointAction, Observed } from './plan.js';
import type { Endpoint } from './reconciler.js';
import type { PartObserved, SchemaCheck } from './settings.js';

/** Longest a reconcile waits for a workspace's rate budget before requeueing instead. */
export const MAX_BUDGET_WAIT_MS = 2_000;

/** The action may make something exist in Databricks and the object lacks our finalizer: it goes on first. */
export const needsFinalizerFirst = (action: EndpointAction, object: Endpoint): boolean =>
  action.type !== 'none' && action.type !== 'delete' && action.type !== 'removeFinalizer' && !hasFinalizer(object, ENDPOINT_FINALIZER);

/** Runs the planned action; returns the latest object when Kubernetes changed it (finalizers). */
export async function execute(
  kube: KubeClient,
  action: EndpointAction,
  object: Endpoint,
  workspace: ResolvedWorkspace,
  call: { signal: AbortSignal; budgetHolder: string; budgetTenant: string },
  log: Logger,
): Promise<{ latest: Endpoint; answered?: ServingEndpointDetailed; deleted?: true }> {
  const { signal } = call;
  if (action.type === 'none') return { latest: object };
  if (action.type === 'removeFinalizer') {
    return { latest: await removeFinalizer(kube, EndpointResource, object, ENDPOINT_FINALIZER, signal) };
  }
  const client = workspace.client as DatabricksClient;
  // Named, so a refused create/update keeps its reserved slot for when this object comes back; its namespace takes
  // turns with the others waiting for the host's window.
  const callOptions = { signal, maxBudgetWaitMs: MAX_BUDGET_WAIT_MS, budgetHolder: call.budgetHolder, budgetTenant: call.budgetTenant };
  let latest = object;
  if (needsFinalizerFirst(action, object)) {
    // The finalizer goes on before anything exists in Databricks, so a delete can never leak an endpoint.
    latest = await addFinalizer(kube, EndpointResource, object, ENDPOINT_FINALIZER, signal);
  }
  // Adoption is recorded in status only: the finalizer above is all it takes here.
  if (action.type === 'adopt') return { latest };
  log.info({ action: action.type, workspace: workspace.name }, 'acting on Databricks');
  switch (action.type) {
    case 'create':
      return {
        latest,
        answered:
          action.request.api === 'ptCreate' ? await client.createPtEndpoint(action.request.body, callOptions) : await client.createEndpoint(action.request.body, callOptions),
      };
    case 'updateConfig':
      return {
        latest,
        answered:
          action.request.api === 'ptConfig'
            ? await client.updatePtConfig(action.request.name, action.request.body, callOptions)
            : await client.updateConfig(action.request.name, action.request.body, callOptions),
      };
    case 'patchTags':
      await client.patchTags(action.name, { add_tags: action.add, delete_tags: action.remove }, callOptions);
      break;
    case 'putAiGateway':
      await client.putAiGateway(action.name, action.body, callOptions);
      break;
    case 'setPermissions':
      await client.setPermissions(action.endpointId, action.body, callOptions);
      break;
    case 'updateNotifications':
      await client.updateNotifications(action.name, action.body, callOptions);
      break;
    case 'patchTelemetryConfig':
      // its answer names the profile Databricks applied (telemetry.ts withTelemetryAnswer)
      return { latest, answered: await client.patchTelemetryConfig(action.name, action.body, callOptions) };
    case 'delete':
      try {
        await client.deleteEndpoint(action.name, callOptions);
      } catch (err) {
        if (!(isDatabricksError(err) && err.kind === 'NotFound')) throw err;
      }
      // A 200 (or 404) is taken as done, as the Terraform provider's delete does (it never waits): Databricks has
      // no delete state to poll and no SDK has a delete waiter (reference §3.5, §5.1). The ownership check before
      // it (a list read after the deletion was seen) is the safety check; a second look ~1 s later only held the
      // object and spent a read (issue 12). The finalizer goes in the same reconcile (the reconciler's release).
      return { latest, deleted: true };
  }
  return { latest };
}

export async function observe<T>(read: () => Promise<T>): Promise<Observed<T>> {
  try {
    return { kind: 'found', value: await read() };
  } catch (err) {
    if (isDatabricksError(err) && err.kind === 'NotFound') return { kind: 'notFound' };
    return { kind: 'failed', error: toFailure(err) };
  }
}

export const skipped = <T>(): Promise<Observed<T>> => Promise.resolve({ kind: 'skipped' });

export async function observePart<T>(read: () => Promise<T>): Promise<PartObserved<T>> {
  try {
    return { kind: 'found', value: await read() };
  } catch (err) {
    return { kind: 'failed', message: toFailure(err).message };
  }
}

/** An inference table's target schema (ai-gateway.ts): a 404 says it is missing; a refusal (403) or failure says nothing. */
export async function checkSchema(fullName: string, read: () => Promise<unknown>): Promise<SchemaCheck | undefined> {
  try {
    await read();
    return { fullName, exists: true };
  } catch (err) {
    if (isDatabricksError(err) && err.kind === 'NotFound') return { fullName, exists: false, message: err.serverMessage || err.message };
    return undefined;
  }
}

export function toFailure(err: unknown): CallFailure {
  if (isDatabricksError(err)) {
    return {
      kind: err.kind,
      message: err.message,
      retryAfterMs: err.retryAfterMs,
      fromClientBudget: err.fromClientBudget,
      ...(err.clientBudget && { clientBudget: err.clientBudget }),
      ...(err.createOutcomeUnknown && { outcomeUnknown: true }),
    };
  }
  return { kind: 'Transient', message: err instanceof Error ? err.message : String(err) };
}
