import { describe, expect, it } from 'vitest';
import { QuotaGate, refusedByQuota } from '../../../../src/controllers/endpoint/quota-gate.js';
import type { Condition } from '../../../../src/kube/index.js';

const INTERVAL = 300_000;
const ASK = { generation: 1, token: undefined };

describe('QuotaGate: one create at a time probes a workspace at its quota of endpoints', () => {
  it('after a refusal, the objects it refused wait for the next probe; the first to come when it is due probes', () => {
    const gate = new QuotaGate();
    gate.refused('ml/prod', 'ml/a', ASK, 0);
    gate.refused('ml/prod', 'ml/b', ASK, 1_000);
    expect(gate.probeWaitMs('ml/prod', 'ml/a', ASK, 2_000, INTERVAL)).toBe(INTERVAL - 1_000);
    expect(gate.probeWaitMs('ml/prod', 'ml/b', ASK, 2_000, INTERVAL)).toBe(INTERVAL - 1_000);
    // due: a probes, is refused again; b waits another interval
    expect(gate.probeWaitMs('ml/prod', 'ml/a', ASK, 1_000 + INTERVAL, INTERVAL)).toBeUndefined();
    gate.refused('ml/prod', 'ml/a', ASK, 1_000 + INTERVAL);
    expect(gate.probeWaitMs('ml/prod', 'ml/b', ASK, 2_000 + INTERVAL, INTERVAL)).toBe(INTERVAL - 1_000);
  });

  // Under load a probe's create can take longer than the objects it refused take to come back: each then probed too
  // (15 creates in 30 s from 3 objects at a 5 s poll, in CI). The first to come when the probe is due takes it.
  it('the first object to come when a probe is due takes it: the others wait for the next, before its answer', () => {
    const gate = new QuotaGate();
    gate.refused('ml/prod', 'ml/a', ASK, 0);
    gate.refused('ml/prod', 'ml/b', ASK, 0);
    expect(gate.probeWaitMs('ml/prod', 'ml/a', ASK, INTERVAL, INTERVAL)).toBeUndefined();
    expect(gate.probeWaitMs('ml/prod', 'ml/b', ASK, INTERVAL + 100, INTERVAL)).toBe(INTERVAL - 100);
  });

  it('room made in the workspace (a create succeeded, an endpoint deleted) lets every waiting object go', () => {
    const gate = new QuotaGate();
    gate.refused('ml/prod', 'ml/a', ASK, 0);
    gate.roomMade('ml/prod');
    expect(gate.probeWaitMs('ml/prod', 'ml/a', ASK, 1_000, INTERVAL)).toBeUndefined();
  });

  it('a new spec or requested-at token is a new try: sent at once', () => {
    const gate = new QuotaGate();
    gate.refused('ml/prod', 'ml/a', ASK, 0);
    expect(gate.probeWaitMs('ml/prod', 'ml/a', { generation: 2, token: undefined }, 1_000, INTERVAL)).toBeUndefined();
    expect(gate.probeWaitMs('ml/prod', 'ml/a', { generation: 1, token: 'retry-1' }, 1_000, INTERVAL)).toBeUndefined();
  });

  it('an object never refused, or in another workspace, or forgotten, is not held back', () => {
    const gate = new QuotaGate();
    gate.refused('ml/prod', 'ml/a', ASK, 0);
    expect(gate.probeWaitMs('ml/prod', 'ml/new', ASK, 1_000, INTERVAL)).toBeUndefined();
    expect(gate.probeWaitMs('ml/dev', 'ml/a', ASK, 1_000, INTERVAL)).toBeUndefined();
    gate.forget('ml/a');
    expect(gate.probeWaitMs('ml/prod', 'ml/a', ASK, 1_000, INTERVAL)).toBeUndefined();
  });

  it('after a start, objects whose status shows the quota refused them: the first to come probes, the others wait for the next probe', () => {
    const gate = new QuotaGate();
    const before = { ...ASK, refusedBefore: true };
    expect(gate.probeWaitMs('ml/prod', 'ml/a', before, 0, INTERVAL)).toBeUndefined();
    expect(gate.probeWaitMs('ml/prod', 'ml/b', before, 100, INTERVAL)).toBe(INTERVAL - 100);
    expect(gate.probeWaitMs('ml/prod', 'ml/c', before, 200, INTERVAL)).toBe(INTERVAL - 200);
    // a new spec of one of them is a new try
    expect(gate.probeWaitMs('ml/prod', 'ml/c', { generation: 2, token: undefined }, 300, INTERVAL)).toBeUndefined();
    // the probe lands: room made, the others go
    gate.roomMade('ml/prod');
    expect(gate.probeWaitMs('ml/prod', 'ml/b', before, 400, INTERVAL)).toBeUndefined();
  });
});

describe('refusedByQuota: what status tells of a refusal by a previous process', () => {
  const synced = (reason: string, observedGeneration = 3): Condition[] => [{ type: 'Synced', status: 'False', reason, message: '', observedGeneration, lastTransitionTime: '2026-03-02T07:00:00Z' }];
  it.each([
    ['QuotaExceeded for this generation', { generation: 3, annotations: {}, status: { conditions: synced('QuotaExceeded') } }, true],
    ['QuotaExceeded, its requested-at handled before', { generation: 3, annotations: { 'ptoperator.io/requested-at': 't1' }, status: { conditions: synced('QuotaExceeded'), lastHandledRequestedAt: 't1' } }, true],
    ['QuotaExceeded, a requested-at not handled (set since, or refused: it is tried)', { generation: 3, annotations: { 'ptoperator.io/requested-at': 't2' }, status: { conditions: synced('QuotaExceeded'), lastHandledRequestedAt: 't1' } }, false],
    ['QuotaExceeded for an earlier generation (the spec changed since)', { generation: 4, annotations: {}, status: { conditions: synced('QuotaExceeded') } }, false],
    ['another reason', { generation: 3, annotations: {}, status: { conditions: synced('RateLimited') } }, false],
    ['no conditions', { generation: 3, annotations: {}, status: {} }, false],
  ])('%s: %s', (_, object, expected) => {
    expect(refusedByQuota(object)).toBe(expected);
  });
});
