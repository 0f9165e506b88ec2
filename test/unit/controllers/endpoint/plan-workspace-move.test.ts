// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { type EndpointObject, planActionFailure, planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import type {
  reconcile} from '../fixtures.js';
import {
  ENDPOINT_ID,
  HOST,
  NOT_FOUND,
  NOW,
  afterPlan,
  condition,
  edited,
  endpointObject,
  foreignEndpoint,
  iso,
  planInput,
  readyEndpoint
} from '../fixtures.js';
import { settledObject } from './plan-fixtures.js';

describe('an object that names another workspace than the one its endpoint lives in', () => {
  const OTHER_HOST = 'https://adb-999.9.azuredatabricks.net/';
  const inOtherWorkspace = (object: EndpointObject, options: Parameters<typeof reconcile>[1] = {}) => {
    const input = planInput(object, { endpoint: NOT_FOUND, ...options });
    return planEndpoint({ ...input, workspace: { ready: true, host: OTHER_HOST } });
  };

  it('records the workspace of the endpoint with its ID, in normal form', () => {
    expect(settledObject().status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: HOST });
  });

  it('does not create a second endpoint there: Stalled WorkspaceChanged, saying where it lives and how to go on', () => {
    const plan = inOtherWorkspace(settledObject());
    expect(plan.action).toEqual({ type: 'none' });
    const message = `endpoint llama-chat (id ${ENDPOINT_ID}) was created in workspace ${HOST}, but this object now names workspace https://adb-999.9.azuredatabricks.net`;
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(condition(plan, 'Synced')?.message).toContain(message);
    expect(condition(plan, 'Synced')?.message).toContain(`set the annotation ${EndpointAnnotation.requestedAt} to a new value`);
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(plan.status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    // What it knows of the endpoint stays, so pointing the object back finds it again.
    expect(plan.status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: HOST });
  });

  it('another spelling of the same workspace is no move', () => {
    const object = settledObject();
    const input = planInput(object, { endpoint: NOT_FOUND });
    const plan = planEndpoint({ ...input, workspace: { ready: true, host: `${HOST.toUpperCase().replace('HTTPS', 'https')}:443/` } });
    expect(plan.action.type).toBe('create');
  });

  it('a new requested-at token asks for the create there, with a Warning that names both workspaces', () => {
    const object = settledObject();
    const plan = inOtherWorkspace({ ...object, annotations: { [EndpointAnnotation.requestedAt]: 'moved' } });
    expect(plan.action.type).toBe('create');
    expect(plan.status.workspaceHost).toBe('https://adb-999.9.azuredatabricks.net'); // where the create goes
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'EndpointMissing', message: expect.stringContaining(`is not in workspace https://adb-999.9.azuredatabricks.net (it was created, or its create sent, in ${HOST})`) }));
  });

  it("a create whose answer never came counts as the endpoint's workspace: a host change then creates nothing, and a deletion waits", () => {
    const input = planInput(endpointObject());
    const planned = planEndpoint(input);
    expect(planned.action.type).toBe('create');
    expect(planned.status.workspaceHost).toBe(HOST);
    const unanswered = planActionFailure(input, planned, { kind: 'Transient', message: 'no answer', outcomeUnknown: true });
    expect(unanswered.status.workspaceHost).toBe(HOST);
    // A create that surely did not happen leaves no such record.
    expect(planActionFailure(input, planned, { kind: 'Transient', message: 'connection refused' }).status.workspaceHost).toBeUndefined();

    const object = afterPlan(endpointObject(), unanswered);
    const moved = inOtherWorkspace(object);
    expect(moved.action).toEqual({ type: 'none' });
    expect(condition(moved, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(condition(moved, 'Synced')?.message).toContain(`endpoint llama-chat may exist in workspace ${HOST} (a create was sent there and never answered)`);
    const deleting = inOtherWorkspace({ ...object, deleting: true });
    expect(deleting.action).toEqual({ type: 'none' });
    expect(condition(deleting, 'Synced')).toMatchObject({ reason: 'WorkspaceChanged' });
  });

  it('a deletion there does not let the object go as if the endpoint were gone: it says where it lives', () => {
    const plan = inOtherWorkspace({ ...settledObject(), deleting: true });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(condition(plan, 'Synced')?.message).toMatch(/^cannot delete endpoint llama-chat .* was created in workspace .*set spec.deletionPolicy to Orphan to let this object go/);
    // With Orphan it goes, the endpoint left where it is.
    expect(inOtherWorkspace({ ...settledObject(), deleting: true, spec: { ...settledObject().spec, deletionPolicy: 'Orphan' } }).action).toEqual({ type: 'removeFinalizer' });
  });

  // A record made in the first workspace (an ID a tenant's own host may have chosen) holds nothing in the new one.
  it.each([
    ['status.endpointId', (o: EndpointObject) => o],
    ['status.adoption', (o: EndpointObject) => ({ ...o, status: { ...o.status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW) } } })],
  ])('an untagged endpoint found there whose ID the first workspace gave (%s): WorkspaceChanged, nothing sent, nothing recorded', (_, recorded) => {
    const object = edited(recorded(settledObject()), { throughput: { tokensPerSecond: { min: 1960, max: 3920 } } });
    for (const o of [object, { ...object, annotations: { [EndpointAnnotation.adopt]: 'true' } }]) {
      const plan = inOtherWorkspace(o, { endpoint: foreignEndpoint() });
      expect(plan.action).toEqual({ type: 'none' });
      expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
      expect(condition(plan, 'Synced')?.message).toContain(`endpoint llama-chat (id ${ENDPOINT_ID}) was created in workspace ${HOST}, but this object now names workspace https://adb-999.9.azuredatabricks.net, where the endpoint of that name is not this object's`);
      expect(plan.status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: HOST });
    }
  });

  it('an untagged endpoint found there, and a new requested-at with adopt: adopted there like any, recorded in the new workspace', () => {
    const object = { ...settledObject(), annotations: { [EndpointAnnotation.adopt]: 'true', [EndpointAnnotation.requestedAt]: 'moved' } };
    const plan = inOtherWorkspace(object, { endpoint: { ...foreignEndpoint(), id: 'f00d' } });
    expect(plan.action).toEqual({ type: 'adopt', name: 'llama-chat' });
    expect(plan.status).toMatchObject({ adoption: { endpointId: 'f00d' }, endpointId: 'f00d', workspaceHost: 'https://adb-999.9.azuredatabricks.net' });
  });

  it('a deletion with an untagged endpoint found there of the recorded ID: never a DELETE there, it says where the endpoint lives', () => {
    const plan = inOtherWorkspace({ ...settledObject(), deleting: true }, { endpoint: foreignEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(condition(plan, 'Synced')?.message).toMatch(/^cannot delete endpoint llama-chat .* was created in workspace .*set spec.deletionPolicy to Orphan to let this object go/);
    // Its own tag, written in the workspace it names now, is what lets it delete there.
    expect(inOtherWorkspace({ ...settledObject(), deleting: true }, { endpoint: readyEndpoint() }).action).toEqual({ type: 'delete', name: 'llama-chat' });
  });

  it('an endpoint found there by name (the same workspace under another name) is managed as usual and recorded there', () => {
    const plan = inOtherWorkspace(settledObject(), { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.workspaceHost).toBe('https://adb-999.9.azuredatabricks.net');
  });
});
