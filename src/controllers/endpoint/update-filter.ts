// Which updates of an endpoint object are worth a reconcile.
import { type KubeObject, meaningfulChange } from '../../kube/index.js';
import { ENDPOINT_FINALIZER } from '../resources.js';

/**
 * meaningfulChange, except that our own finalizer appearing is not one: it is the write of the reconcile
 * that is still running (it adds the finalizer, then creates). Reconciling again for it sent every new
 * object to the back of the queue, behind every other create, so nothing turned Ready until all creates
 * had been sent (issue 12).
 */
export function endpointChanged(oldObj: KubeObject, newObj: KubeObject): boolean {
  const before = oldObj.metadata.finalizers ?? [];
  const after = newObj.metadata.finalizers ?? [];
  const ourFinalizerAdded = !before.includes(ENDPOINT_FINALIZER) && after.includes(ENDPOINT_FINALIZER);
  if (!ourFinalizerAdded) return meaningfulChange(oldObj, newObj);
  const withoutOurs = after.filter((f) => f !== ENDPOINT_FINALIZER);
  const sameOtherwise = JSON.stringify(withoutOurs) === JSON.stringify(before);
  return !sameOtherwise || meaningfulChange({ ...oldObj, metadata: { ...oldObj.metadata, finalizers: after } }, newObj);
}
