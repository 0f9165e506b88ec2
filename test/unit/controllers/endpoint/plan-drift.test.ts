// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { MINUTE, MODEL, afterPlan, at, condition, edited, readyEndpoint, reconcile, updatingEndpoint } from '../fixtures.js';
import { eventReasons, settledObject } from './plan-fixtures.js';

describe('drift is reported only for changes the operator did not ask for', () => {
  /** Version 4 requested at generation 2 and seen rolling out. */
  function rollingOutV4() {
    let object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    object = afterPlan(object, reconcile(object, { endpoint: readyEndpoint(), now: at(-20 * MINUTE) }));
    return afterPlan(object, reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-19 * MINUTE) }));
  }

  it('a spec change made during a rollout: when that rollout finishes, the new spec is sent without a DriftDetected', () => {
    let object = edited(rollingOutV4(), { model: { name: MODEL, version: '5' } });
    const during = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-10 * MINUTE) });
    expect(during.action).toEqual({ type: 'none' });
    object = afterPlan(object, during);
    const finished = reconcile(object, { endpoint: readyEndpoint({ version: '4' }) });
    expect(finished.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '5' }] } } });
    expect(eventReasons({ events: [...during.events, ...finished.events] })).not.toContain('Warning DriftDetected');
  });

  // kubectl wait, Argo CD and kstatus see Updating for the new generation: Ready must not present the rollout that runs
  // (an older spec's, or one made outside the operator) as the spec's own.
  it.each([
    ['our rollout of the older spec (version 4)', () => rollingOutV4()],
    ['a rollout started outside the operator (version 4)', () => settledObject()],
  ])('a spec change (version 5) during %s: Ready says the spec is sent once that rollout finishes', (_, before) => {
    const object = edited(before(), { model: { name: MODEL, version: '5' } });
    const during = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-10 * MINUTE) });
    expect(during.action).toEqual({ type: 'none' });
    expect(condition(during, 'Ready')).toMatchObject({ status: 'False', reason: 'Updating', observedGeneration: object.generation });
    expect(condition(during, 'Ready')?.message).toMatch(/Databricks is rolling out version 4 .*; the spec \(version 5 .*\) is sent once that rollout finishes/);
  });

  // Databricks refuses a config update while another rolls out (reference: 409 ResourceConflict), so the new spec is
  // held back like one a rate limit holds: `kubectl wait --for=condition=Synced` must not return for a generation
  // nothing was sent for, and kstatus and Argo CD must see the operator still working (Reconciling, not Stalled).
  it.each([
    ['our rollout of the older spec (version 4)', () => rollingOutV4()],
    ['a rollout started outside the operator (version 4)', () => settledObject()],
  ])('a spec change (version 5) during %s: Synced is False WaitingForRollout until it is sent', (_, before) => {
    let object = edited(before(), { model: { name: MODEL, version: '5' } });
    const during = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-10 * MINUTE) });
    expect(condition(during, 'Synced')).toMatchObject({ status: 'False', reason: 'WaitingForRollout', observedGeneration: object.generation });
    expect(condition(during, 'Synced')?.message).toMatch(/version 4 .* rolls out in Databricks, which takes no other config update until it finishes; the spec \(version 5 .*\) is sent then/);
    expect(condition(during, 'Ready')).toMatchObject({ status: 'False', reason: 'Updating' });
    expect(during.status.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'True', reason: 'WaitingForRollout' });
    expect(during.status.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
    expect(eventReasons(during)).not.toContain('Warning WaitingForRollout');
    object = afterPlan(object, during);
    const sent = reconcile(object, { endpoint: readyEndpoint({ version: '4' }) });
    expect(sent.action.type).toBe('updateConfig');
    expect(condition(sent, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
  });

  it('our own rollout of the spec still running: Synced stays True, the spec was sent', () => {
    const object = rollingOutV4();
    const during = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-10 * MINUTE) });
    expect(condition(during, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
  });

  // Tags and settings are sent only once the served config is settled (docs/concepts.md): an edit of them alone during
  // our own rollout sends nothing until it ends, so Synced=True would let `kubectl wait --for=condition=Synced` return
  // before any of it reached Databricks. The new generation waits for the rollout like a config it holds back.
  describe('an edit of tags or settings alone during our own rollout', () => {
    const V4 = { model: { name: MODEL, version: '4' } };
    const rolling = () => updatingEndpoint({ version: '3' }, { version: '4' });
    it.each([
      ['a tag added', { tags: { team: 'genai', commit: 'abc123' } }, /^the tags \(commit\) wait for the rollout in progress \(version 4 at 1960-2940 tokens\/s\) and are sent when it ends/],
      ['a tag removed', { tags: {} }, /^the tags \(team\) wait for the rollout in progress/],
      ['the AI Gateway', { aiGateway: { usageTracking: { enabled: true } } }, /^the AI Gateway waits for the rollout in progress \(version 4 .*\) and is sent when it ends/],
      ['the e-mail notifications', { notifications: { onUpdateFailure: ['oncall@company.com'] } }, /^the e-mail notifications wait for the rollout in progress/],
      // The ACL is not read during a rollout: the spec is compared with what status.settings recorded.
      ['the permissions', { permissions: [{ groupName: 'ml-engineers', permissionLevel: 'CAN_QUERY' as const }] }, /^the permissions wait for the rollout in progress/],
      ['tags and AI Gateway', { tags: { team: 'ml' }, aiGateway: { usageTracking: { enabled: true } } }, /^the tags \(team\) and the AI Gateway wait for the rollout in progress .* and are sent when it ends/],
    ])('%s → Synced False WaitingForRollout (Reconciling), kept at the next look, until the rollout ends', (_, change, message) => {
      const object = edited(rollingOutV4(), { ...V4, ...change });
      const during = reconcile(object, { endpoint: rolling(), now: at(-10 * MINUTE) });
      expect(during.action).toEqual({ type: 'none' });
      expect(condition(during, 'Synced')).toMatchObject({ status: 'False', reason: 'WaitingForRollout', observedGeneration: object.generation, message: expect.stringMatching(message) });
      expect(condition(during, 'Ready')).toMatchObject({ status: 'False', reason: 'Updating', observedGeneration: object.generation });
      expect(during.status.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'True', reason: 'WaitingForRollout' });
      expect(during.status.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
      expect(during.status.observedGeneration).toBe(object.generation);
      // A later look that reads the endpoint (a schedule or canary object reads it at every look) says the same.
      const again = reconcile(afterPlan(object, during), { endpoint: rolling(), now: at(-9 * MINUTE) });
      expect(condition(again, 'Synced')).toEqual(condition(during, 'Synced'));
      expect(again.events).toEqual([]);
    });

    it('the tags are sent when the rollout ends, and only that plan says Synced=True', () => {
      let object = edited(rollingOutV4(), { ...V4, tags: { team: 'genai', commit: 'abc123' } });
      object = afterPlan(object, reconcile(object, { endpoint: rolling(), now: at(-10 * MINUTE) }));
      const ended = reconcile(object, { endpoint: readyEndpoint({ version: '4' }) });
      expect(ended.action).toMatchObject({ type: 'patchTags', add: [{ key: 'commit', value: 'abc123' }], remove: [] });
      expect(condition(ended, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess', observedGeneration: object.generation });
      expect(eventReasons(ended)).not.toContain('Warning DriftDetected');
    });

    // A config and tags edited together: the config is sent, so Synced is True, and its message names the tags that
    // follow the rollout (Ready=True comes with the tags in Databricks).
    it('a config and a tag edited together: Synced True says the tags follow the rollout, when sent and while it runs', () => {
      let object = edited(settledObject(), { ...V4, tags: { team: 'genai', commit: 'abc123' } });
      const sent = reconcile(object, { endpoint: readyEndpoint() });
      expect(sent.action).toMatchObject({ type: 'updateConfig' });
      expect(condition(sent, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess', message: expect.stringMatching(/^config update requested; the tags \(commit\) wait for the rollout/) });
      object = afterPlan(object, sent);
      const during = reconcile(object, { endpoint: rolling(), now: at(-10 * MINUTE) });
      expect(condition(during, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess', message: expect.stringMatching(/^waiting for the rollout to finish; the tags \(commit\) wait for the rollout/) });
    });

    it('an edit that leaves tags and settings as the endpoint has them holds nothing back: Synced stays True', () => {
      const object = edited(rollingOutV4(), { ...V4, capacityRetry: { timeout: '2h' } });
      const during = reconcile(object, { endpoint: rolling(), now: at(-10 * MINUTE) });
      expect(condition(during, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess', observedGeneration: object.generation });
    });
  });

  it('an update made outside the operator is reported once, while it rolls out, and corrected when it finishes', () => {
    let object = settledObject();
    const seen = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '2' }), now: at(-5 * MINUTE) });
    expect(seen.action).toEqual({ type: 'none' });
    expect(seen.events).toContainEqual({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining('version 2 → 3') });
    object = afterPlan(object, seen);
    const again = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '2' }), now: at(-4 * MINUTE) });
    expect(again.events).toEqual([]);
    object = afterPlan(object, again);
    const finished = reconcile(object, { endpoint: readyEndpoint({ version: '2' }) });
    expect(finished.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3' }] } } });
  });
});
