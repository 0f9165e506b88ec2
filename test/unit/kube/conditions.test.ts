import { describe, expect, it } from 'vitest';
import { findCondition, isConditionTrue, setCondition } from '../../../src/kube/conditions.js';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T01:00:00Z');

describe('setCondition', () => {
  it('adds a new condition with observedGeneration and a transition time (seconds precision)', () => {
    const c = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Creating', message: 'm' }, 3, t0);
    expect(c).toEqual([
      { type: 'Ready', status: 'False', reason: 'Creating', message: 'm', observedGeneration: 3, lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
  });

  it('keeps lastTransitionTime when the status does not flip, but updates reason, message and generation', () => {
    const before = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Creating' }, 1, t0);
    const after = setCondition(before, { type: 'Ready', status: 'False', reason: 'Updating', message: 'x' }, 2, t1);
    expect(after[0]).toMatchObject({ reason: 'Updating', message: 'x', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' });
    expect(before[0]?.reason).toBe('Creating'); // input untouched
  });

  it('moves lastTransitionTime when the status flips', () => {
    const before = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Creating' }, 1, t0);
    const after = setCondition(before, { type: 'Ready', status: 'True', reason: 'Available' }, 1, t1);
    expect(after[0]?.lastTransitionTime).toBe('2026-01-01T01:00:00Z');
  });

  it('is idempotent: applying the same update again yields an identical list', () => {
    const once = setCondition(undefined, { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' }, 4, t0);
    const twice = setCondition(once, { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' }, 4, t1);
    expect(twice).toEqual(once);
  });

  it('leaves other conditions in place and in order', () => {
    let c = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Available' }, 1, t0);
    c = setCondition(c, { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' }, 1, t0);
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'Updating' }, 2, t1);
    expect(c.map((x) => x.type)).toEqual(['Ready', 'Synced']);
    expect(isConditionTrue(c, 'Synced')).toBe(true);
    expect(isConditionTrue(c, 'Ready')).toBe(false);
    expect(findCondition(c, 'Missing')).toBeUndefined();
  });

  it('never puts a credential into a condition message', () => {
    const c = setCondition(undefined, { type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'GET failed: Authorization: Bearer dapi0123456789abcdef0123456789abcdef' }, 1, t0);
    expect(c[0]?.message).not.toContain('dapi0123456789');
    expect(c[0]?.message).toContain('GET failed');
  });

  it('rejects a reason the API would refuse, and truncates huge messages', () => {
    expect(() => setCondition(undefined, { type: 'Ready', status: 'False', reason: 'connection refused' }, 1, t0)).toThrow(/CamelCase/);
    const c = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Err', message: 'x'.repeat(40_000) }, 1, t0);
    expect(c[0]?.message.length).toBe(32_768);
  });
});
