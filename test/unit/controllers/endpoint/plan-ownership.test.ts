// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { type EndpointObject, type Plan, planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import type { ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { ENDPOINT_ID, HOST, HOUR, NOT_FOUND, NOW, OWNER, SECOND, SETTINGS, afterPlan, at, condition, edited, endpointObject, endpointOfAnotherObject, foreignEndpoint, iso, planInput, readyEndpoint, reconcile } from '../fixtures.js';
import { pollWindow, requeueAfter, eventReasons, ownerTagList, settledObject, HOUR_AGO } from './plan-fixtures.js';

describe('ownership', () => {
  it.each([
    ['made outside the operator', foreignEndpoint(), /endpoint llama-chat exists in Databricks but was not created by this object/],
    ['tagged by another object', endpointOfAnotherObject(), /endpoint llama-chat belongs to team-b\.llama-copy, another object/],
  ])('an endpoint %s, no adopt → NotOwned, no action; looked at again every poll interval', (_, endpoint, claim) => {
    const plan = reconcile(endpointObject(), { endpoint });
    expect(plan.action).toEqual({ type: 'none' });
    // The endpoint holding the name may be deleted in Databricks (the user cleans up the old one): this object's is
    // then created without a poke, as the condition's message promises nothing else.
    expect(requeueAfter(plan)).toBeGreaterThanOrEqual(pollWindow[0]);
    expect(requeueAfter(plan)).toBeLessThanOrEqual(pollWindow[1]);
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringMatching(claim) });
    expect(condition(plan, 'Synced')?.message).toContain(`${EndpointAnnotation.adopt}="true"`);
    expect(condition(plan, 'Ready')?.status).toBe('False');
    // Nothing of the other endpoint leaks into this object's status.
    expect(plan.status.endpointId).toBeUndefined();
    expect(plan.status.served).toBeUndefined();
  });

  it('an endpoint made outside the operator, with adopt → adopted in status.adoption with no Databricks call, an Adopted event', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    // It serves the spec, tags included: nothing needs to change.
    const untouched = readyEndpoint({}, { owner: null });
    const plan = reconcile(object, { endpoint: untouched });
    expect(plan.action).toEqual({ type: 'adopt', name: 'llama-chat' });
    expect(plan.status.adoption).toEqual({ endpointId: ENDPOINT_ID, time: iso(NOW), uid: OWNER.uid });
    expect(plan.status.managedTagKeys).toEqual(['team']);
    expect(eventReasons(plan)).toContain('Normal Adopted');
    expect(plan.requeue).toEqual({ after: 0 });
    // From then on it is this object's by the record alone: Ready, and still no write (no owner tags, no drift).
    const next = reconcile(afterPlan(object, plan), { endpoint: untouched, now: at(SECOND) });
    expect(next.action).toEqual({ type: 'none' });
    expect(condition(next, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(next.status.endpointId).toBe(ENDPOINT_ID);
    expect(next.events.map((e) => e.reason)).not.toContain('DriftDetected');
    // A restarted operator has only the status: the same plan from it, and again no write.
    const restarted = reconcile({ ...afterPlan(object, next) }, { endpoint: untouched, now: at(HOUR) });
    expect(restarted.action).toEqual({ type: 'none' });
  });

  // Read as ptoperator.io/paused and ptoperator.io/canary are: a "True" that adopted nothing left the user with NotOwned
  // advice to set what they had set.
  it.each(['True', ' TRUE '])('ptoperator.io/adopt=%j adopts too: case and surrounding spaces do not matter', (value) => {
    const plan = reconcile(endpointObject({ annotations: { [EndpointAnnotation.adopt]: value } }), { endpoint: readyEndpoint({}, { owner: null }) });
    expect(plan.action).toEqual({ type: 'adopt', name: 'llama-chat' });
  });

  it('an adopted endpoint that needs a config change: the owner tags go first (status unchanged), then the update', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const older = readyEndpoint({ version: '2' }, { owner: null });
    const adopted = afterPlan(object, reconcile(object, { endpoint: older }));
    const first = reconcile(adopted, { endpoint: older });
    expect(first.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: ownerTagList, remove: [] });
    expect(first.deferred).toBe(true);
    expect(first.status).toEqual({ ...adopted.status, tagPatchGeneration: adopted.generation });
    expect(first.events).toEqual([]);
    expect(first.requeue).toEqual({ after: 0 });
    const tagged = { ...older, tags: [...(older.tags ?? []), ...ownerTagList] };
    const second = reconcile(afterPlan(adopted, first), { endpoint: tagged });
    expect(second.action.type).toBe('updateConfig');
    expect(second.deferred).toBeUndefined();
  });

  // CI (permission.test.ts): a refused tag patch counted as sent, so the next reconcile sent the config change too,
  // two refused mutations per reconcile instead of one.
  it('an owner-tag patch Databricks refused does not count as sent: the next reconcile patches the tags again, not the config', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const older = readyEndpoint({ version: '2' }, { owner: null });
    const adopted = afterPlan(object, reconcile(object, { endpoint: older }));
    const first = reconcile(adopted, { endpoint: older });
    expect(first.action.type).toBe('patchTags');
    const refused = planActionFailure(planInput(adopted, { endpoint: older }), first, { kind: 'PermissionDenied', message: '403 PERMISSION_DENIED' });
    expect(refused.status.tagPatchGeneration).toBeUndefined();
    expect(reconcile(afterPlan(adopted, refused), { endpoint: older }).action.type).toBe('patchTags');
  });

  it('an adopted endpoint whose spec tags differ: one tag patch carries the spec tags and the owner tags', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const adopted = afterPlan(object, reconcile(object, { endpoint: foreignEndpoint() }));
    const plan = reconcile(adopted, { endpoint: foreignEndpoint() });
    expect(plan.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: [{ key: 'team', value: 'genai' }, ...ownerTagList], remove: [] });
  });

  it.each([
    ['made again under the same name (another ID)', { ...readyEndpoint({}, { owner: null }), id: 'f00d' }, 'NotOwned'],
    ['tagged since for a live object', endpointOfAnotherObject(), 'NotOwned'],
  ])('an adopted endpoint %s is no longer this object\'s: NotOwned, nothing sent (adopt removed)', (_, endpoint, reason) => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const adopted = afterPlan(object, reconcile(object, { endpoint: readyEndpoint({}, { owner: null }) }));
    const plan = reconcile({ ...adopted, annotations: {} }, { endpoint, tenancy: { taggedOwnerPresence: 'live' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')?.reason).toBe(reason);
  });

  // Someone deleted this object's endpoint and made another under its name (a Terraform re-create, a notebook): kubectl
  // get pte went on showing the version and throughput of the endpoint that is gone, and NotOwned said the endpoint
  // "was not created by this object" to a user who knows it was, without saying that theirs no longer exists.
  it('the endpoint this object created deleted and another made under its name: NotOwned says so, and status shows nothing served', () => {
    const recreated = { ...readyEndpoint({ version: '2', min: 980, max: 980 }, { owner: null, tags: [] }), id: '0123456789abcdef0123456789abcdef' };
    const plan = reconcile(settledObject(), { endpoint: recreated });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({
      status: 'False',
      reason: 'NotOwned',
      message: expect.stringMatching(new RegExp(`^endpoint llama-chat \\(id ${ENDPOINT_ID}\\), which this object created, no longer exists: the endpoint now named llama-chat \\(id 0123456789abcdef0123456789abcdef\\) was made by someone else`)),
    });
    expect(plan.status.served).toBeUndefined();
    expect(plan.status.state).toBeUndefined();
    expect(plan.status.endpointUrl).toBeUndefined();
  });

  // The refusal once said twice that the endpoint was not this object's: "... was made by someone else. endpoint
  // llama-chat exists in Databricks but was not created by this object. ...". One account of it, then what to do.
  it.each([
    { name: 'made by someone else', base: readyEndpoint({}, { owner: null, tags: [] }), presence: 'unknown' as const, now: 'was made by someone else' },
    { name: 'tagged for another object that is gone', base: endpointOfAnotherObject(), presence: 'gone' as const, now: 'belongs to team-b.llama-copy, another object\\.' },
  ])('the endpoint this object created replaced by one $name: NotOwned tells it once, then what to do', ({ base, presence, now }) => {
    const plan = reconcile(settledObject(), { endpoint: { ...base, id: '0123456789abcdef0123456789abcdef' }, tenancy: { taggedOwnerPresence: presence } });
    const message = condition(plan, 'Synced')?.message ?? '';
    expect(message).toMatch(new RegExp(`^endpoint llama-chat \\(id ${ENDPOINT_ID}\\), which this object created, no longer exists: the endpoint now named llama-chat \\(id 0123456789abcdef0123456789abcdef\\) ${now}`));
    expect(message.match(/endpoint llama-chat/g)).toHaveLength(1);
    expect(message).not.toMatch(/not created by this object/);
    expect(message).toMatch(/The operator will not modify or delete it\. Set annotation ptoperator\.io\/adopt="true" to take it over, or serve the spec from a new object with another spec\.endpointName/);
  });

  it('an endpoint this object created whose owner tags were removed out of band: still its own, the tags restored as drift, Ready', () => {
    const settled = settledObject();
    const stripped = readyEndpoint({}, { owner: null, tags: [] });
    const plan = reconcile(settled, { endpoint: stripped });
    expect(plan.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: [{ key: 'team', value: 'genai' }, ...ownerTagList], remove: [] });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftDetected' }));
    // The same endpoint made again under the name (another ID) is not this object's.
    expect(condition(reconcile(settled, { endpoint: { ...stripped, id: 'f00d' } }), 'Synced')?.reason).toBe('NotOwned');
  });

  it('an endpoint this object created, its owner tags removed out of band, no spec tags: the owner tags are written back now, as drift', () => {
    const object = endpointObject({ spec: { tags: undefined } });
    const settled = afterPlan(object, reconcile(object, { endpoint: readyEndpoint({}, { tags: ownerTagList }), now: at(-HOUR_AGO) }));
    const stripped = readyEndpoint({}, { owner: null, tags: [] });
    const plan = reconcile(settled, { endpoint: stripped });
    expect(plan.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: ownerTagList, remove: [] });
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftDetected' }));
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
  });

  // A host (or a proxy before it) that never shows the owner tags: the tag patch and the change must not starve each
  // other (docs/security.md rule 5: one patch per poll interval, never in a loop).
  it.each<[string, () => EndpointObject, ServingEndpointDetailed, string]>([
    ['created, a throughput change', () => edited(settledObject(), { throughput: { tokensPerSecond: { min: 1960, max: 3920 } } }), readyEndpoint({}, { owner: null }), 'updateConfig'],
    ['created, a settings change', () => edited(settledObject(), { notifications: { onUpdateFailure: ['oncall@company.com'] } }), readyEndpoint({}, { owner: null }), 'updateNotifications'],
    [
      'adopted, a config change',
      () => {
        const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
        return afterPlan(object, reconcile(object, { endpoint: readyEndpoint({ version: '2' }, { owner: null }) }));
      },
      readyEndpoint({ version: '2' }, { owner: null }),
      'updateConfig',
    ],
  ])('owner tags the host never shows, %s: at most one tag patch, then the change; never {after: 0} twice in a row', (_, make, endpoint, change) => {
    let object = make();
    const steps: Plan[] = [];
    for (let i = 0; i < 3; i++) {
      const step = reconcile(object, { endpoint, now: at(i * SECOND) });
      steps.push(step);
      object = afterPlan(object, step);
    }
    expect(steps.slice(0, 2).map((s) => s.action.type)).toEqual(['patchTags', change]);
    expect(steps[1]?.status.observedGeneration).toBe(object.generation);
    for (let i = 1; i < steps.length; i++) expect([steps[i - 1]?.requeue, steps[i]?.requeue]).not.toEqual([{ after: 0 }, { after: 0 }]);
  });

  it('an adopted endpoint that serves the spec, no spec tags: still never written to (its owner tags wait for a change)', () => {
    const object = endpointObject({ spec: { tags: undefined }, annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const untouched = readyEndpoint({}, { owner: null, tags: [] });
    const adopted = afterPlan(object, reconcile(object, { endpoint: untouched }));
    const seen = afterPlan(adopted, reconcile(adopted, { endpoint: untouched, now: at(SECOND) }));
    expect(seen.status.endpointId).toBe(ENDPOINT_ID);
    expect(reconcile(seen, { endpoint: untouched, now: at(2 * SECOND) }).action).toEqual({ type: 'none' });
  });

  it('adoption records where the endpoint lives (status.workspaceHost) with its ID', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    expect(reconcile(object, { endpoint: foreignEndpoint() }).status).toMatchObject({ adoption: { endpointId: ENDPOINT_ID }, endpointId: ENDPOINT_ID, workspaceHost: HOST });
  });

  // Status written before status.workspaceHost existed: a bare ID could have been seen at any host, so it holds
  // nothing; the object's own tag (written by the operator where the endpoint lives) does, and records the host.
  it('a status without status.workspaceHost: a bare ID holds nothing, an endpoint tagged for this object records the host', () => {
    const legacy = (o: EndpointObject): EndpointObject => {
      const { workspaceHost: _, ...status } = o.status;
      return { ...o, status };
    };
    const bare = reconcile(legacy(settledObject()), { endpoint: foreignEndpoint() });
    expect(bare.action).toEqual({ type: 'none' });
    expect(condition(bare, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(reconcile(legacy({ ...settledObject(), deleting: true }), { endpoint: foreignEndpoint() }).action).toEqual({ type: 'removeFinalizer' });
    const tagged = reconcile(legacy(settledObject()), { endpoint: readyEndpoint() });
    expect(tagged.status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: HOST });
  });

  // An adoption an earlier release recorded without the host, of an endpoint it never needed to change (no owner tags):
  // the record alone holds nothing, the annotation adopts it again at the next look (docs/upgrade.md). A deletion
  // coming first (the object deleted across the upgrade) deletes it as that look would have let it, not orphans it.
  it('an adoption recorded before status.workspaceHost, the object deleted before its next look: with adopt the endpoint is deleted; without, left', () => {
    const adopting = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const untouched = readyEndpoint({}, { owner: null });
    const adopted = afterPlan(adopting, reconcile(adopting, { endpoint: untouched }));
    const { workspaceHost: _, adoption, ...status } = adopted.status;
    const legacy: EndpointObject = { ...adopted, status: { ...status, ...(adoption && { adoption: { endpointId: adoption.endpointId, time: adoption.time } }) }, deleting: true };
    expect(reconcile(legacy, { endpoint: untouched, now: at(HOUR) }).action).toEqual({ type: 'delete', name: 'llama-chat' });
    const withoutAdopt: EndpointObject = { ...legacy, annotations: {} };
    expect(reconcile(withoutAdopt, { endpoint: untouched, now: at(HOUR) }).action).toEqual({ type: 'removeFinalizer' });
  });

  it('an endpoint another live object created (its status.endpointId): NotOwned naming it, even with adopt', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const plan = reconcile(object, { endpoint: readyEndpoint({}, { owner: null }), tenancy: { recordedHolder: 'team-b.maker', recordedBy: 'creation' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringContaining('belongs to team-b.maker, which created it and still exists') });
  });

  it('an endpoint another live object adopted: NotOwned naming it, whatever the annotations or age', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const plan = reconcile(object, { endpoint: readyEndpoint({}, { owner: null }), tenancy: { recordedHolder: 'team-b.importer' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringContaining('belongs to team-b.importer, which adopted it and still exists') });
  });

  it.each([
    ['its owner still exists', { taggedOwnerPresence: 'live' as const, allowCrossNamespaceAdoption: true }, 'which still exists'],
    ['its owner was of another namespace', { taggedOwnerPresence: 'gone' as const }, '--allow-cross-namespace-adoption'],
    ['an older object claims it', { taggedOwnerPresence: 'gone' as const, allowCrossNamespaceAdoption: true, olderClaimant: 'ml.older' }, 'claimed in this workspace by ml.older'],
  ])('adopt is refused when %s: NotOwned, no action (finding 1)', (_, tenancy, says) => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const plan = reconcile(object, { endpoint: endpointOfAnotherObject(), tenancy });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringContaining(says) });
  });

  it('an endpoint of a deleted object of another namespace is adopted when the operator allows it', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const plan = reconcile(object, { endpoint: endpointOfAnotherObject(), tenancy: { taggedOwnerPresence: 'gone', allowCrossNamespaceAdoption: true } });
    expect(plan.action).toEqual({ type: 'adopt', name: 'llama-chat' });
    expect(plan.status.adoption?.endpointId).toBe(ENDPOINT_ID);
  });

  it('no endpoint yet and an older object claims the name: NotOwned, no create, looked at again at the poll interval (finding 3)', () => {
    const plan = reconcile(endpointObject(), { endpoint: NOT_FOUND, tenancy: { olderClaimant: 'team-b.llama-copy' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringContaining('claimed in this workspace by team-b.llama-copy, an older object') });
    expect(plan.requeue).toEqual({ after: SETTINGS.pollIntervalMs });
  });

  it('a new object that is alone in claiming its name creates at once: the reconciler waited for claims to settle before it looked', () => {
    const object = { ...endpointObject(), creationTimestamp: iso(NOW) };
    const plan = reconcile(object, { endpoint: NOT_FOUND, now: at(300) });
    expect(plan.action.type).toBe('create');
    expect(plan.events.map((e) => e.reason)).toEqual(['CreatingEndpoint']);
  });

  it('a create records the spec tag keys the operator manages from then on', () => {
    const plan = reconcile(endpointObject({ spec: { tags: { team: 'genai', env: 'prod' } } }), { endpoint: NOT_FOUND });
    expect(plan.action.type).toBe('create');
    expect(plan.status.managedTagKeys).toEqual(['env', 'team']);
  });
});
