// An endpoint object whose spec the operator cannot read: what it says, and when such an object may go.
import { type Condition, hasFinalizer, removeFinalizer, setCondition } from '../../kube/index.js';
import { ENDPOINT_FINALIZER, EndpointResource } from '../resources.js';
import type { Endpoint, EndpointReconcilerOptions } from './reconciler.js';
import { summarizeConditions } from './status-summary.js';

/**
 * The CRD schema should make this impossible (an object stored before a stricter rule can still hold it); if zod
 * disagrees anyway, say so and touch nothing in Databricks. Being deleted, the object goes only if its
 * deletionPolicy says Orphan: with Delete, letting it go would leave its endpoint running with nobody to delete it,
 * so it waits for the field to be fixed (the endpoint is then deleted) or for Orphan.
 */
export async function handleUnparseableSpec(
  options: Pick<EndpointReconcilerOptions, 'events' | 'kube' | 'statusWriter'>,
  obj: Endpoint,
  issues: { path: PropertyKey[]; message: string }[],
  now: Date,
  signal: AbortSignal,
): Promise<void> {
  const spec = (obj.spec ?? {}) as { deletionPolicy?: unknown; endpointName?: unknown };
  const deleting = obj.metadata.deletionTimestamp !== undefined && hasFinalizer(obj, ENDPOINT_FINALIZER);
  const endpointName = typeof spec.endpointName === 'string' ? spec.endpointName : obj.metadata.name;
  if (deleting && spec.deletionPolicy === 'Orphan') {
    await options.events.record(obj, 'Normal', 'Orphaned', `deletionPolicy Orphan: endpoint ${endpointName} is left running in Databricks`);
    await removeFinalizer(options.kube, EndpointResource, obj, ENDPOINT_FINALIZER, signal);
    return;
  }
  const invalid = issues.map((i) => `spec.${i.path.map(String).join('.')}: ${i.message}`).join('; ');
  const orphan = `kubectl -n ${obj.metadata.namespace ?? ''} patch pte ${obj.metadata.name} --type=merge -p '{"spec":{"deletionPolicy":"Orphan"}}'`;
  const message = deleting
    ? `${invalid}. The object is being deleted: endpoint ${endpointName} is deleted in Databricks once the spec can be read: fix the field, or set spec.deletionPolicy to Orphan (${orphan}) to let this object go and leave the endpoint running`
    : invalid;
  const generation = obj.metadata.generation ?? 0;
  const synced = setCondition(obj.status?.conditions as Condition[] | undefined, { type: 'Synced', status: 'False', reason: 'InvalidSpec', message }, generation, now);
  // The refusal is this generation's answer: observed, so kstatus reads its Stalled (an older observedGeneration reads
  // InProgress until the tool's timeout), and held, as a refusal that needs a person holds a new spec (plan.ts
  // handleRequest): nothing of it was sent, so once it can be read it goes out as a new spec. Ready keeps its generation.
  const held = obj.status?.observedGeneration !== generation || obj.status.heldGeneration === generation;
  const conditions = summarizeConditions(synced, generation, now, generation);
  const status = { ...obj.status, observedGeneration: generation, ...(held && { heldGeneration: generation }), conditions };
  await options.statusWriter.write<Endpoint>(EndpointResource, obj, status, signal);
}
