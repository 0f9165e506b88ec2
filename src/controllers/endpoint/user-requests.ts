// What a user asks through annotations (EndpointAnnotation), as the planner reads them. The start-up spread
// (startup-spread.ts) reads them too: a request made while the operator was down is acted on at once.
import { EndpointAnnotation } from '../../api/v1alpha1/index.js';
import type { EndpointObject } from './plan-types.js';
import { shortLine } from '../../databricks/host-text.js';

type Annotated = Pick<EndpointObject, 'annotations'>;

/**
 * A yes/no annotation is read as ptoperator.io/canary is: case and surrounding spaces do not matter. A "True" that did
 * not pause would let the operator undo what the user does in Databricks meanwhile; one that did not adopt left the
 * user NotOwned advice to set what they had set.
 */
const annotationTrue = (object: Annotated, key: string): boolean => object.annotations[key]?.trim().toLowerCase() === 'true';

/**
 * ptoperator.io/paused="true": no read, no change. Any other value but "false" holds the object too (the user meant
 * something by setting it; a "yes" that did not pause let the operator undo a hand-made change): see pauseProblem.
 */
export function isPaused(object: Annotated): boolean {
  const value = object.annotations[EndpointAnnotation.paused];
  return value !== undefined && value.trim().toLowerCase() !== 'false';
}

/** Why ptoperator.io/paused holds the object though it is not "true", or undefined. */
export function pauseProblem(object: Annotated): string | undefined {
  const value = object.annotations[EndpointAnnotation.paused];
  if (value === undefined || annotationTrue(object, EndpointAnnotation.paused) || !isPaused(object)) return undefined;
  // shown short, as ptoperator.io/canary's: an annotation may hold 256 KiB, and the message must still say what counts
  return `annotation ${EndpointAnnotation.paused}=${JSON.stringify(shortLine(value))} is neither "true" nor "false": the operator holds the endpoint as if paused (it neither reads nor changes it) until the value is "true" or "false" or the annotation is removed`;
}

/** ptoperator.io/adopt="true": an existing endpoint this object did not create may be taken over. */
export const wantsAdoption = (object: Annotated): boolean => annotationTrue(object, EndpointAnnotation.adopt);

/** A ptoperator.io/requested-at value not acted on yet (status.lastHandledRequestedAt records the last one). */
export function newRequest(object: Annotated & { status: Pick<EndpointObject['status'], 'lastHandledRequestedAt'> }): boolean {
  const requestedAt = object.annotations[EndpointAnnotation.requestedAt];
  return requestedAt !== undefined && requestedAt !== object.status.lastHandledRequestedAt;
}
