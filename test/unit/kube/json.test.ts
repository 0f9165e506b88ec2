import { describe, expect, it } from 'vitest';
import { deepEqual, mergePatchBetween } from '../../../src/kube/json.js';

describe('deepEqual', () => {
  it('ignores key order and undefined members, but not array order', () => {
    expect(deepEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1, d: undefined })).toBe(true);
    expect(deepEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(deepEqual([], {})).toBe(false);
  });
});

describe('mergePatchBetween', () => {
  it('sets changed keys, nulls removed keys, replaces arrays whole and leaves equal keys out', () => {
    const from = { phase: 'A', keep: 1, gone: 'x', nested: { a: 1, b: 2 }, list: [1, 2] };
    const to = { phase: 'B', keep: 1, nested: { a: 1, b: 3 }, list: [1], extra: true };
    expect(mergePatchBetween(from, to)).toEqual({ phase: 'B', gone: null, nested: { b: 3 }, list: [1], extra: true });
  });
});
