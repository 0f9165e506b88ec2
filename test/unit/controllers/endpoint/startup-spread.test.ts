import { describe, expect, it } from 'vitest';
import { StartupSpread, type SettledView } from '../../../../src/controllers/endpoint/startup-spread.js';
import type { Condition } from '../../../../src/kube/index.js';

const POLL = 300_000;
const condition = (type: 'Ready' | 'Synced', status: 'True' | 'False', reason: string, observedGeneration = 2): Condition =>
  ({ type, status, reason, message: '', observedGeneration, lastTransitionTime: '' });
const READY = condition('Ready', 'True', 'Available');
const SYNCED = condition('Synced', 'True', 'ReconcileSuccess');
const settled = (overrides: Partial<SettledView> = {}): SettledView => ({
  generation: 2,
  deleting: false,
  hasSchedule: false,
  annotations: {},
  status: { conditions: [READY, SYNCED], endpointId: 'ep-1' },
  ...overrides,
});
const withStatus = (status: Partial<SettledView['status']>, annotations: Record<string, string> = {}): SettledView =>
  settled({ annotations, status: { ...settled().status, ...status } });
const synced = (status: 'True' | 'False', reason: string, observedGeneration = 2) => ({ conditions: [READY, condition('Synced', status, reason, observedGeneration)] });
const canary = (phase: string) => ({ canary: { phase, fromVersion: '1', toVersion: '2', from: { entityName: 'e-1' }, step: 1, share: 10 } });

describe('start-up spread', () => {
  it('a settled object is first looked at a random point of the poll interval, then as usual', () => {
    const spread = new StartupSpread();
    expect(spread.firstLookDelayMs('ns/a', settled(), POLL, 0.25)).toBe(75_000);
    expect(spread.firstLookDelayMs('ns/a', settled(), POLL, 0.25)).toBeUndefined();
  });

  it('10,000 settled objects: first looks spread evenly over the interval, not all at once', () => {
    const spread = new StartupSpread();
    const delays = Array.from({ length: 10_000 }, (_, i) => spread.firstLookDelayMs(`ns/e${i}`, settled(), POLL, i / 10_000) ?? 0);
    const perTenth = Array.from({ length: 10 }, (_, t) => delays.filter((d) => d >= (t * POLL) / 10 && d < ((t + 1) * POLL) / 10).length);
    expect(perTenth).toEqual(Array(10).fill(1_000));
  });

  // An observed endpoint that differs from its spec (managementPolicy Observe) stays so by design: it is as settled
  // as one in sync, and thousands of them restarting must not be read at once.
  it('an observer whose endpoint differs (Synced=False Drifted for this generation) is spread too', () => {
    expect(new StartupSpread().firstLookDelayMs('ns/a', withStatus(synced('False', 'Drifted')), POLL, 0.25)).toBe(75_000);
    expect(new StartupSpread().firstLookDelayMs('ns/a', withStatus(synced('False', 'Drifted', 1)), POLL, 0.25)).toBeUndefined();
  });

  it.each([
    ['a new generation (spec changed while the operator was down)', settled({ generation: 3 })],
    ['a deletion', settled({ deleting: true })],
    ['a rollout pending', withStatus({ pending: { startTime: 'x' } })],
    ['a schedule (a boundary may have passed)', settled({ hasSchedule: true })],
    ['not Ready', settled({ status: { conditions: [condition('Ready', 'False', 'Creating'), SYNCED] } })],
    // Synced not True for this generation: the operator owes the object a look (and a status that says so)
    ['Synced=False ReconcilePaused, the paused annotation removed while the operator was down', withStatus(synced('False', 'ReconcilePaused'))],
    ['Synced=False WorkspaceNotReady', withStatus(synced('False', 'WorkspaceNotReady'))],
    ['Synced=False RateLimited', withStatus(synced('False', 'RateLimited'))],
    ['Synced=True for an older generation', withStatus(synced('True', 'ReconcileSuccess', 1))],
    ['no Synced condition', withStatus({ conditions: [READY] })],
    // annotations set while the operator was down, which the status does not show handled
    ['paused while the operator was down (Synced still True)', withStatus({}, { 'ptoperator.io/paused': 'true' })],
    ['a new requested-at', withStatus({}, { 'ptoperator.io/requested-at': 'r1' })],
    ['a requested-at other than the last handled one', withStatus({ lastHandledRequestedAt: 'r1' }, { 'ptoperator.io/requested-at': 'r2' })],
    ['a canary hold while a step pauses', withStatus(canary('Paused'), { 'ptoperator.io/canary': 'hold' })],
    ['a canary promote while it holds', withStatus(canary('Holding'), { 'ptoperator.io/canary': 'Promote' })],
    ['adopt set on an object that holds no endpoint yet', settled({ annotations: { 'ptoperator.io/adopt': 'true' }, status: { conditions: [READY, SYNCED] } })],
  ])('%s is looked at at once', (_, object) => {
    expect(new StartupSpread().firstLookDelayMs('ns/a', object, POLL, 0.5)).toBeUndefined();
  });

  it.each([
    ['the requested-at already handled', withStatus({ lastHandledRequestedAt: 'r1' }, { 'ptoperator.io/requested-at': 'r1' })],
    ['paused="false"', withStatus({}, { 'ptoperator.io/paused': 'false' })],
    ['a canary hold it is holding at', withStatus(canary('Holding'), { 'ptoperator.io/canary': 'hold' })],
    ['a canary promote it carried out', withStatus(canary('Succeeded'), { 'ptoperator.io/canary': 'promote' })],
    ['a canary abort it carried out', withStatus(canary('Aborted'), { 'ptoperator.io/canary': 'abort' })],
    // an abort after success does nothing but say so (status.canary's message already does)
    ['a canary abort set after it succeeded', withStatus(canary('Succeeded'), { 'ptoperator.io/canary': 'abort' })],
    ['a canary annotation and no canary', withStatus({}, { 'ptoperator.io/canary': 'hold' })],
    ['adopt left set on the object that adopted the endpoint', settled({ annotations: { 'ptoperator.io/adopt': 'true' }, status: { conditions: [READY, SYNCED], adoption: { endpointId: 'ep-1' } } })],
    ['adopt left set on the object that created the endpoint', withStatus({}, { 'ptoperator.io/adopt': 'true' })],
    ['annotations the operator does not read', withStatus({}, { 'argocd.argoproj.io/sync-wave': '1' })],
    // An observer reads without adopting (pt-operator import writes the annotation; Observe ignores it).
    ['adopt set on an observer (managementPolicy Observe), which holds nothing', settled({ observeOnly: true, annotations: { 'ptoperator.io/adopt': 'true' }, status: { conditions: [READY, SYNCED] } })],
  ])('settled with %s: spread over the poll interval', (_, object) => {
    expect(new StartupSpread().firstLookDelayMs('ns/a', object, POLL, 0.5)).toBe(POLL / 2);
  });
});
