import { describe, expect, it } from 'vitest';
import { addFinalizerPatch, removeFinalizerPatch } from '../../../src/kube/finalizers.js';

const withFinalizers = (finalizers?: string[]) => ({ metadata: { name: 'x', resourceVersion: '42', finalizers } });

describe('finalizer patches', () => {
  it('adding to an object without finalizers is guarded by its resourceVersion', () => {
    expect(addFinalizerPatch(withFinalizers(), 'ours')).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'add', path: '/metadata/finalizers', value: ['ours'] },
    ]);
  });

  it('adding next to existing finalizers appends and tests the whole current array', () => {
    expect(addFinalizerPatch(withFinalizers(['theirs']), 'ours')).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: ['theirs'] },
      { op: 'add', path: '/metadata/finalizers/-', value: 'ours' },
    ]);
  });

  it('removing tests and removes only our own entry by index', () => {
    expect(removeFinalizerPatch(withFinalizers(['a', 'ours', 'b']), 'ours')).toEqual([
      { op: 'test', path: '/metadata/finalizers/1', value: 'ours' },
      { op: 'remove', path: '/metadata/finalizers/1' },
    ]);
    expect(removeFinalizerPatch(withFinalizers(['a']), 'ours')).toEqual([]);
  });
});
