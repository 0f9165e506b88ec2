// An abort control with status.canary lost or stale (status reset, the object restored from a backup or re-applied
// with its status stripped, an operator restarted mid-canary): the abort decides from what Databricks serves and the
// spec, never from a guess. It rolls back only to the old version of the canary status.canary records, while
// Databricks still serves it; otherwise nothing is sent and Synced says why and how to go on.
import { describe, expect, it } from 'vitest';
import { planCanary } from '../../../../src/controllers/endpoint/canary.js';
import { readyEndpoint } from '../fixtures.js';
import { canaryObject, conditions, input, reconcileCanary, running, served } from './canary-fixtures.js';

const abort = { 'ptoperator.io/canary': 'abort' };
const serving = (shares: Record<string, number>) => ({ ...readyEndpoint(), config: served(shares) });
/** A canary of other versions, finished long ago: what a backup or a stale status may hold. */
const earlier = running({ phase: 'Succeeded', fromVersion: '2', toVersion: '3', from: { entityName: 'meta_llama_v3_1_8b_instruct-2', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 }, step: 3, share: 100 });
const synced = (plan: ReturnType<typeof reconcileCanary>) => plan.status.conditions?.find((c) => c.type === 'Synced')?.message;

describe('an abort control and a status.canary that does not record the canary Databricks serves', () => {
  it.each([
    { name: 'no status.canary', canary: undefined },
    { name: 'status.canary of an earlier canary', canary: earlier },
  ])('$name, the spec\'s version serves alone: nothing to abort, nothing sent', ({ canary }) => {
    const plan = reconcileCanary(canaryObject('4', canary, abort), serving({ '4': 100 }));
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditions(plan)).toMatchObject({ Ready: 'True Available' });
  });

  it.each([
    { name: 'no status.canary, a split at a step\'s share', canary: undefined, version: '4', shares: { '3': 90, '4': 10 } },
    { name: 'no status.canary, a split at a share that is no step', canary: undefined, version: '4', shares: { '3': 70, '4': 30 } },
    { name: 'status.canary of an earlier canary, a split at a step\'s share', canary: earlier, version: '4', shares: { '3': 90, '4': 10 } },
    { name: 'no status.canary, two versions serve and neither is the spec\'s', canary: undefined, version: '5', shares: { '3': 90, '4': 10 } },
    { name: 'status.canary of an earlier canary, two versions serve and neither is the spec\'s', canary: earlier, version: '5', shares: { '3': 90, '4': 10 } },
  ])('$name: which version is the old one is not known, so nothing is sent and Synced says how to go on', ({ canary, version, shares }) => {
    const decision = planCanary(input({ spec: canaryObject(version, undefined).spec, annotations: abort, config: served(shares), ...(canary && { canary }) }));
    expect(decision.unresolved).toBeDefined();
    const plan = reconcileCanary(canaryObject(version, canary, abort), serving(shares));
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditions(plan)).toMatchObject({ Synced: 'False CanaryAborted' });
    expect(synced(plan)).toMatch(
      new RegExp(`annotation ptoperator.io/canary=abort is set, but which version to roll back to is not known: Databricks serves version 3 \\(${shares['3']} %\\) and version 4 \\(${shares['4']} %\\), and status.canary records no canary of version ${version} \\(lost or stale\\)\\. Nothing is sent; set model.version to the version that is to serve, then remove the control`),
    );
    // status.canary stays as it was, with what Databricks serves.
    expect(plan.status.canary && { ...plan.status.canary, versions: undefined }).toEqual(canary && { ...canary, versions: undefined });
  });

  it('status.canary records the canary of the spec\'s version from a version Databricks no longer serves: no rollout of that version, nothing sent', () => {
    // Restored from a backup of a canary 3 → 4; since then version 2 came back beside 4 in Databricks.
    const plan = reconcileCanary(canaryObject('4', running({ phase: 'Paused', stepReachedTime: '2026-03-01T11:00:00Z' }), abort), serving({ '2': 90, '4': 10 }));
    expect(plan.action).toEqual({ type: 'none' });
    expect(synced(plan)).toMatch(/status.canary records the canary of version 4 from version 3, which Databricks no longer serves \(lost or stale\)/);
  });

  it('status.canary records the canary whose split serves: the abort rolls back to its old version, as Databricks serves it', () => {
    const plan = reconcileCanary(canaryObject('4', running({ phase: 'Paused', stepReachedTime: '2026-03-01T11:00:00Z' }), abort), serving({ '3': 90, '4': 10 }));
    expect(plan.action.type).toBe('updateConfig');
    expect(JSON.stringify(plan.action)).not.toMatch(/"entity_version":"4"/);
    expect(plan.status.canary).toMatchObject({ phase: 'Aborted', fromVersion: '3', toVersion: '4' });
  });

  it('without a control, a stale status.canary is no reason to give the spec\'s version all traffic: a split at a step goes on from it', () => {
    const decision = planCanary(input({ canary: earlier, config: served({ '3': 90, '4': 10 }) }));
    expect(decision.status).toMatchObject({ phase: 'Paused', fromVersion: '3', toVersion: '4', step: 1, share: 10 });
    expect(decision.split).toMatchObject({ previous: { entityVersion: '3' }, share: 10 });
  });

  it('model.version set back to the old version of the aborted canary in status: version 3 alone, as asked (the control left set)', () => {
    const aborted = running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' });
    const plan = reconcileCanary(canaryObject('3', aborted, abort), serving({ '3': 90, '4': 10 }));
    expect(plan.action.type).toBe('updateConfig');
    expect(JSON.stringify(plan.action)).not.toMatch(/"entity_version":"4"/);
  });

  it('a swap back that did not land, the abort control left set: status.canary still says which split serves, so the next look sends version 3 alone again', () => {
    const aborted = running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' });
    const first = reconcileCanary(canaryObject('3', aborted, abort), serving({ '3': 90, '4': 10 }));
    expect(first.status.canary).toMatchObject({ phase: 'Aborted', fromVersion: '3', toVersion: '4', message: 'model.version was set back to 3: version 3 serves alone once that rollout lands, which ends this canary of version 4' });
    const again = reconcileCanary(canaryObject('3', first.status.canary, abort), serving({ '3': 90, '4': 10 }));
    expect(again.action.type).toBe('updateConfig');
    expect(JSON.stringify(again.action)).not.toMatch(/"entity_version":"4"/);
    expect(reconcileCanary(canaryObject('3', again.status.canary, abort), serving({ '3': 100 })).status.canary).toBeUndefined();
  });

  it('a stale Paused canary while the new version serves alone, with an abort: the canary is over, nothing sent', () => {
    // status.canary restored from a backup taken at step 1; the canary succeeded since.
    const plan = reconcileCanary(canaryObject('4', running({ phase: 'Paused', stepReachedTime: '2026-03-01T11:00:00Z' }), abort), serving({ '4': 100 }));
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.canary).toMatchObject({ phase: 'Succeeded' });
    expect(conditions(plan)).toMatchObject({ Ready: 'True Available' });
  });
});
