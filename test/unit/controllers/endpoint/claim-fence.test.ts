import { describe, expect, it } from 'vitest';
import { CLAIM_COMMIT_MARGIN_MS, ClaimFences, claimWaits } from '../../../../src/controllers/endpoint/claim-fence.js';
import { CLAIM_DELIVERY_MARGIN_MS } from '../../../../src/controllers/endpoint/ownership.js';
import { ENDPOINT_FINALIZER } from '../../../../src/controllers/resources.js';
import type { KubeObject } from '../../../../src/kube/index.js';

const object = (finalizers: string[]): KubeObject => ({ apiVersion: 'v1', kind: 'X', metadata: { name: 'a', namespace: 'ns', finalizers } });

describe('claimWaits: the commit margin, then the fence or the delivery margin', () => {
  const created = '2026-03-01T12:00:00Z';
  it.each([
    ['400 ms into the creation second: both still to come', Date.parse('2026-03-01T12:00:00.400Z'), 600 + CLAIM_COMMIT_MARGIN_MS, 600 + CLAIM_DELIVERY_MARGIN_MS],
    ['past the commit margin: only the delivery margin (or the fence)', Date.parse('2026-03-01T12:00:01.600Z'), 0, 400],
    ['past both', Date.parse('2026-03-01T12:00:02.000Z'), 0, 0],
  ])('%s', (_case, apiserverNow, commitInMs, settledInMs) => {
    expect(claimWaits(created, apiserverNow, apiserverNow)).toEqual({ commitInMs, settledInMs });
  });
});

describe('ClaimFences', () => {
  it('a fence passes once the informer delivers the object with our finalizer, once', () => {
    const fences = new ClaimFences();
    fences.wrote('ns/a');
    expect(fences.passed('ns/a', object([]))).toBe(false);
    expect(fences.delivered('ns/a', object(['other']))).toBe(false);
    expect(fences.delivered('ns/a', object(['other', ENDPOINT_FINALIZER]))).toBe(true);
    expect(fences.delivered('ns/a', object([ENDPOINT_FINALIZER]))).toBe(false); // already passed: no second wake
    expect(fences.passed('ns/a', object([ENDPOINT_FINALIZER]))).toBe(true);
  });

  it('a finalizer we did not write as a fence passes nothing', () => {
    const fences = new ClaimFences();
    expect(fences.delivered('ns/a', object([ENDPOINT_FINALIZER]))).toBe(false);
    expect(fences.passed('ns/a', object([ENDPOINT_FINALIZER]))).toBe(false);
  });

  it('the finalizer is only a fence until the object acts; forgotten, nothing is known', () => {
    const fences = new ClaimFences();
    expect(fences.onlyFence('ns/a')).toBe(false);
    fences.wrote('ns/a');
    expect(fences.onlyFence('ns/a')).toBe(true);
    fences.settled('ns/a'); // settled by time before it acted: what the finalizer is stays known
    expect(fences.onlyFence('ns/a')).toBe(true);
    fences.acted('ns/a');
    expect(fences.onlyFence('ns/a')).toBe(false);
    fences.settled('ns/a');
    expect(fences.passed('ns/a', undefined)).toBe(false);
    fences.forget('ns/a');
    expect(fences.passed('ns/a', undefined)).toBe(false);
  });
});
