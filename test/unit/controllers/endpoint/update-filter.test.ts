import { describe, expect, it } from 'vitest';
import { endpointChanged } from '../../../../src/controllers/endpoint/update-filter.js';
import { ENDPOINT_FINALIZER } from '../../../../src/controllers/resources.js';
import type { KubeObject } from '../../../../src/kube/index.js';

const object = (metadata: Partial<KubeObject['metadata']> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'X', metadata: { name: 'a', generation: 1, ...metadata } });

describe('which endpoint updates reconcile', () => {
  it('our own finalizer appearing does not (the reconcile that added it is still running)', () => {
    expect(endpointChanged(object(), object({ finalizers: [ENDPOINT_FINALIZER] }))).toBe(false);
  });

  it.each([
    ['our finalizer removed by someone', object({ finalizers: [ENDPOINT_FINALIZER] }), object()],
    ['our finalizer added together with a new spec', object(), object({ finalizers: [ENDPOINT_FINALIZER], generation: 2 })],
    ['another finalizer added with ours', object(), object({ finalizers: ['other.io/x', ENDPOINT_FINALIZER] })],
    ['a new generation', object(), object({ generation: 2 })],
    ['deletion', object(), object({ deletionTimestamp: '2026-01-01T00:00:00Z' })],
  ])('%s does', (_, before, after) => {
    expect(endpointChanged(before, after)).toBe(true);
  });

  it('a status-only write does not', () => {
    expect(endpointChanged(object({ resourceVersion: '1' }), object({ resourceVersion: '2' }))).toBe(false);
  });
});
