import { describe, expect, it } from 'vitest';
import { stripManagedFields } from '../../../src/kube/informer.js';

describe('the informer cache keeps what controllers read', () => {
  it('drops metadata.managedFields and keeps everything else', () => {
    const obj = {
      apiVersion: 'v1',
      kind: 'X',
      metadata: { name: 'a', namespace: 'ns', resourceVersion: '7', finalizers: ['f'], managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }] },
      spec: { a: 1 },
      status: { b: 2 },
    };
    const stripped = stripManagedFields(obj);
    expect(stripped.metadata).toEqual({ name: 'a', namespace: 'ns', resourceVersion: '7', finalizers: ['f'] });
    expect(stripped.spec).toBe(obj.spec);
    expect(stripped.status).toBe(obj.status);
  });

  it('an object without managedFields is returned as it is', () => {
    const obj = { apiVersion: 'v1', kind: 'X', metadata: { name: 'a' } };
    expect(stripManagedFields(obj)).toBe(obj);
  });
});
