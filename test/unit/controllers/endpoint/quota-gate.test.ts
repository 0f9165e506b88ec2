import { describe, expect, it } from 'vitest';
import { QuotaGate } from '../../../../src/controllers/endpoint/quota-gate.js';

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
});
