import { describe, expect, it } from 'vitest';
import type { DatabricksWorkspace } from '../../../../src/api/v1alpha1/index.js';
import { RefusedCredentials, workspaceChangeAffectsEndpoints } from '../../../../src/controllers/workspace/endpoint-wake.js';
import type { KubeObject } from '../../../../src/kube/index.js';

type Workspace = DatabricksWorkspace & KubeObject;
interface Ready {
  status?: 'True' | 'False';
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

function workspace(ready: Ready | undefined, metadata: Partial<KubeObject['metadata']> = {}, extraStatus: Record<string, unknown> = {}): Workspace {
  const conditions = ready
    ? [{ type: 'Ready', status: 'True', reason: 'Authenticated', message: 'authenticated to h with pat; 1000 serving endpoint(s) visible', observedGeneration: 1, lastTransitionTime: '2026-11-29T00:00:00Z', ...ready }]
    : [];
  return {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { namespace: 'ns', name: 'ws', generation: 1, resourceVersion: '1', ...metadata },
    spec: { host: 'https://h.cloud.databricks.com', auth: { token: { secretRef: { name: 's' } } } },
    status: { observedGeneration: 1, conditions, ...extraStatus },
  } as unknown as Workspace;
}

describe('which workspace changes wake the endpoints that use it', () => {
  const ready = workspace({});
  it.each<[string, Workspace, Workspace, boolean]>([
    // what the periodic re-verification writes: nothing an endpoint reads
    ['Ready message with a new endpoint count', ready, workspace({ message: 'authenticated to h with pat; 1001 serving endpoint(s) visible' }), false],
    ['Ready lastTransitionTime only', ready, workspace({ lastTransitionTime: '2026-11-29T01:00:00Z' }), false],
    ['resourceVersion, labels, annotations, managed fields', ready, workspace({}, { resourceVersion: '2', labels: { a: 'b' }, annotations: { c: 'd' } }), false],
    ['another status field', ready, workspace({}, {}, { somethingElse: 'x' }), false],
    ['our finalizer added', ready, workspace({}, { finalizers: ['serving.ptoperator.io/workspace'] }), false],
    // what an endpoint depends on
    ['spec change (new generation)', ready, workspace({}, { generation: 2 }), true],
    ['deletion starts', ready, workspace({}, { deletionTimestamp: '2026-11-29T01:00:00Z' }), true],
    ['Ready turns False', ready, workspace({ status: 'False', reason: 'AuthenticationFailed', message: 'refused' }), true],
    ['Ready turns True', workspace({ status: 'False', reason: 'HostUnreachable', message: 'x' }), ready, true],
    // endpoints Stalled on a workspace that needed a person (docs/concepts.md) converge once it is fixed
    ['Ready turns True after refused credentials (the Secret fixed)', workspace({ status: 'False', reason: 'AuthenticationFailed', message: 'x' }), ready, true],
    ['Ready turns True after a missing Secret (created)', workspace({ status: 'False', reason: 'SecretNotFound', message: 'x' }), ready, true],
    ['Ready turns True after an invalid spec (fixed: a new generation)', workspace({ status: 'False', reason: 'InvalidSpec', message: 'x' }), workspace({ observedGeneration: 2 }, { generation: 2 }), true],
    ['Ready first verified', workspace(undefined), ready, true],
    ['the verdict is now for the current generation', workspace({ observedGeneration: 1 }, { generation: 2 }), workspace({ observedGeneration: 2 }, { generation: 2 }), true],
    ['reason changes while not Ready', workspace({ status: 'False', reason: 'HostUnreachable', message: 'x' }), workspace({ status: 'False', reason: 'AuthenticationFailed', message: 'x' }), true],
    // endpoints quote the message while the workspace is not Ready
    ['message changes while not Ready', workspace({ status: 'False', reason: 'HostUnreachable', message: 'timeout' }), workspace({ status: 'False', reason: 'HostUnreachable', message: 'connection refused' }), true],
  ])('%s → %s', (_what, oldObj, newObj, wakes) => {
    expect(workspaceChangeAffectsEndpoints(oldObj, newObj)).toBe(wakes);
  });
});

// A verification that a refusal asked for and that finds the credentials working leaves the workspace's status as it
// was: the endpoints whose calls were refused are woken by key, also when the verdict comes before their refused
// reconcile wrote its WorkspaceNotReady (CI, session 14: the status-based choice missed such an endpoint).
describe('RefusedCredentials: the endpoints a refused credential holds back', () => {
  it('a Ready verdict wakes the endpoints refused since the last verdict, once; other workspaces keep theirs', () => {
    const refused = new RefusedCredentials();
    refused.refusedFor('ml/prod', 'ml/a');
    refused.refusedFor('ml/prod', 'ml/b');
    refused.refusedFor('ml/prod', 'ml/a');
    refused.refusedFor('ml/staging', 'ml/c');
    expect(refused.verdict('ml/prod', true)).toEqual(['ml/a', 'ml/b']);
    expect(refused.verdict('ml/prod', true)).toEqual([]);
    expect(refused.verdict('ml/staging', true)).toEqual(['ml/c']);
  });

  it('a verdict that is not Ready wakes none (its status change wakes every endpoint of the workspace) and forgets them', () => {
    const refused = new RefusedCredentials();
    refused.refusedFor('ml/prod', 'ml/a');
    expect(refused.verdict('ml/prod', false)).toEqual([]);
    expect(refused.verdict('ml/prod', true)).toEqual([]);
  });

  it('an endpoint refused again after a Ready verdict woke it does not ask for another verification until the next verdict', () => {
    const refused = new RefusedCredentials();
    expect(refused.refusedFor('ml/prod', 'ml/a')).toBe(true);
    expect(refused.verdict('ml/prod', true)).toEqual(['ml/a']);
    // The host refuses it again though the verification worked: no loop of verifications and wakes.
    expect(refused.refusedFor('ml/prod', 'ml/a')).toBe(false);
    expect(refused.refusedFor('ml/prod', 'ml/b')).toBe(true);
    expect(refused.refusedFor('ml/staging', 'ml/a')).toBe(true);
    // The workspace's next verdict (its periodic verification) wakes it once more, and a later refusal verifies again.
    expect(refused.verdict('ml/prod', true)).toEqual(['ml/a', 'ml/b']);
    expect(refused.verdict('ml/prod', true)).toEqual([]);
    expect(refused.refusedFor('ml/prod', 'ml/a')).toBe(true);
  });

  // Kept by workspace key until the workspace's next verdict, which a deleted workspace never reaches: without
  // forget, a cluster that creates and deletes workspaces keeps every one, and a workspace created again under the
  // name (new credentials) inherits the old one's refusals.
  it('a deleted workspace is forgotten: one created again under its name starts clean', () => {
    const refused = new RefusedCredentials();
    refused.refusedFor('ml/prod', 'ml/a');
    expect(refused.verdict('ml/prod', true)).toEqual(['ml/a']);
    refused.refusedFor('ml/prod', 'ml/a');
    refused.refusedFor('ml/prod', 'ml/b');
    refused.forget('ml/prod');
    // The new workspace's first refusal verifies it at once (the old one's wake no longer holds it back) ...
    expect(refused.refusedFor('ml/prod', 'ml/a')).toBe(true);
    // ... and its verdict wakes what was refused with its own credentials, not with the deleted one's.
    expect(refused.verdict('ml/prod', true)).toEqual(['ml/a']);
  });
});

describe('RefusedCredentials.refusedSinceVerdict', () => {
  it('is true from a refusal until the next verdict or the workspace is gone', () => {
    const refused = new RefusedCredentials();
    expect(refused.refusedSinceVerdict('ml/prod')).toBe(false);
    refused.refusedFor('ml/prod', 'ml/bot');
    expect(refused.refusedSinceVerdict('ml/prod')).toBe(true);
    expect(refused.refusedSinceVerdict('ml/dev')).toBe(false);
    refused.verdict('ml/prod', true);
    expect(refused.refusedSinceVerdict('ml/prod')).toBe(false);
    refused.refusedFor('ml/prod', 'ml/bot');
    refused.forget('ml/prod');
    expect(refused.refusedSinceVerdict('ml/prod')).toBe(false);
  });
});
