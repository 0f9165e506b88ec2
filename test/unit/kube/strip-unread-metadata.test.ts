import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../src/api/v1alpha1/endpoint.js';
import { LAST_APPLIED_ANNOTATION, stripUnreadMetadata } from '../../../src/kube/informer.js';

// Every metadata field a controller reads (grep src/controllers src/kube for `metadata.`), with a value.
const readMetadata = {
  name: 'a',
  namespace: 'ns',
  uid: 'u-1',
  resourceVersion: '7',
  generation: 3,
  creationTimestamp: '2026-01-01T00:00:00Z',
  deletionTimestamp: '2026-01-02T00:00:00Z',
  finalizers: ['serving.ptoperator.io/endpoint'],
  labels: { team: 'x' },
  ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: 'o-1' }],
  // every annotation the operator reads, and a user's own
  annotations: { ...Object.fromEntries(Object.values(EndpointAnnotation).map((a) => [a, 'true'])), 'example.com/note': 'kept' },
};

describe('the informer cache keeps what controllers read', () => {
  it('drops managedFields and the last-applied copy, keeps every field the operator reads', () => {
    const obj = {
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'ProvisionedThroughputEndpoint',
      metadata: {
        ...readMetadata,
        annotations: { ...readMetadata.annotations, [LAST_APPLIED_ANNOTATION]: '{"spec":{"a":1}}' },
        managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
      },
      spec: { a: 1 },
      status: { b: 2 },
    };
    const stripped = stripUnreadMetadata(obj);
    expect(stripped).toEqual({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: readMetadata, spec: { a: 1 }, status: { b: 2 } });
    expect(stripped.spec).toBe(obj.spec);
    expect(stripped.status).toBe(obj.status);
    // the informer's input is not changed (it may be shared)
    expect(obj.metadata.annotations[LAST_APPLIED_ANNOTATION]).toBeDefined();
  });

  it('an object with nothing to drop is returned as it is', () => {
    const obj = { apiVersion: 'v1', kind: 'X', metadata: readMetadata };
    expect(stripUnreadMetadata(obj)).toBe(obj);
  });
});
