// status.identity across an operator restart: the memo of who the operator is (operator-identity.ts) starts empty,
// and SCIM Me is asked again beside the first verification. Meanwhile the workspace's status keeps the identity it
// shows, so a restart writes nothing when nothing changed (issue 12: no status write for an unchanged object), and a
// changed principal costs one write, not a drop and a re-add.
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { DatabricksWorkspace } from '../../../../src/api/v1alpha1/index.js';
import type { WorkspaceConnections } from '../../../../src/controllers/workspace/connections.js';
import { OperatorIdentities } from '../../../../src/controllers/workspace/operator-identity.js';
import { WORKSPACE_FINALIZER } from '../../../../src/controllers/resources.js';
import { workspaceReconciler } from '../../../../src/controllers/workspace/reconciler.js';
import { type EventRecorder, type KubeClient, type KubeObject, StatusWriter } from '../../../../src/kube/index.js';

type Workspace = DatabricksWorkspace & KubeObject;
const HOST = 'https://adb-1234567890123456.7.azuredatabricks.net';
const MESSAGE = `authenticated to ${HOST} with pat; 3 serving endpoint(s) visible`;

/** A workspace as the operator left it before the restart: verified, its identity shown. */
const verifiedBefore = (identity: string): Workspace =>
  ({
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { name: 'prod', namespace: 'ml', uid: 'u-1', generation: 1, resourceVersion: '5', finalizers: [WORKSPACE_FINALIZER] },
    spec: { host: HOST, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
    status: {
      observedGeneration: 1,
      identity,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Authenticated', message: MESSAGE, observedGeneration: 1, lastTransitionTime: '2026-02-01T00:00:00Z' }],
    },
  }) as unknown as Workspace;

/** RFC 7386, as the API server applies the StatusWriter's merge patch (null removes). */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (typeof value === 'object' && !Array.isArray(value) && typeof merged[key] === 'object') merged[key] = mergePatch(merged[key] as Record<string, unknown>, value as Record<string, unknown>);
    else merged[key] = value;
  }
  return merged;
}

/** A freshly started operator (empty identity memo) whose SCIM Me answers when `answer` is called. */
function restarted(before: Workspace) {
  let object = before;
  const written: Record<string, unknown>[] = [];
  const kube = {
    patch: vi.fn(async (_rt: unknown, _ns: unknown, _name: unknown, body: { status: Record<string, unknown> }) => {
      written.push(body.status);
      object = { ...object, metadata: { ...object.metadata, resourceVersion: `${written.length + 5}` }, status: mergePatch(object.status ?? {}, body.status) } as Workspace;
      return object;
    }),
    get: vi.fn(async () => object),
  } as unknown as KubeClient;
  let answer: (userName: string) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const client = {
    checkCredentials: vi.fn(async () => ({ authType: 'pat', endpointCount: 3 })),
    currentUser: vi.fn(
      () =>
        new Promise<{ userName: string }>((resolve, reject) => {
          answer = (userName) => resolve({ userName });
          fail = reject;
        }),
    ),
  };
  const identities = new OperatorIdentities();
  const connections = {
    clientFor: () => ({ client }),
    lostCredentials: () => undefined,
    operatorIdentity: (c: typeof client) => identities.of(c),
    knownOperatorIdentity: (c: typeof client) => identities.known(c),
    operatorIdentityAsked: (c: typeof client) => identities.asking(c),
  } as unknown as WorkspaceConnections;
  const learnt: string[] = [];
  const reconcile = workspaceReconciler({
    workspaces: { get: () => object, list: () => [object] },
    usersOf: () => [],
    kube,
    crdDeleting: async () => false,
    secrets: { get: () => undefined, refresh: async () => undefined, forget: () => undefined },
    connections,
    statusWriter: new StatusWriter(kube),
    events: { record: async () => undefined } as unknown as EventRecorder,
    verifyIntervalMs: 600_000,
    retryIntervalMs: 30_000,
    callDeadlineMs: 20_000,
    now: () => new Date('2026-03-01T12:00:00Z'),
    identityLearnt: (key) => learnt.push(key),
  });
  const run = () => reconcile('ml/prod', { signal: new AbortController().signal, log: pino({ level: 'silent' }) });
  return { run, written, learnt, client, answer: (userName: string) => answer(userName), fail: (error: Error) => fail(error), shown: () => object.status?.identity };
}

describe('status.identity across a restart', () => {
  it('an unchanged workspace is not written at a restart: its identity stays shown while SCIM Me is asked again', async () => {
    const h = restarted(verifiedBefore('ops@example.com'));
    await h.run();
    expect(h.client.currentUser).toHaveBeenCalledTimes(1);
    expect(h.shown()).toBe('ops@example.com');
    h.answer('ops@example.com');
    // the same answer: nothing to show, so the workspace is not looked at again
    await vi.waitFor(() => expect(h.client.currentUser.mock.results[0]?.value).resolves.toBeDefined());
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.learnt).toEqual([]);
    expect(h.written).toEqual([]);
  });

  it('a principal changed while the operator was down costs one status write, the new identity (never a drop then a re-add)', async () => {
    const h = restarted(verifiedBefore('old-sp@example.com'));
    await h.run();
    h.answer('new-sp@example.com');
    await vi.waitFor(() => expect(h.learnt).toEqual(['ml/prod']));
    await h.run();
    expect(h.written.map((s) => s.identity)).toEqual(['new-sp@example.com']);
    expect(h.shown()).toBe('new-sp@example.com');
  });

  it('a failed ask drops the kept identity at once (it may be stale), rather than at the next verification', async () => {
    const h = restarted(verifiedBefore('old-sp@example.com'));
    await h.run();
    h.fail(new Error('SCIM Me: 503 Service Unavailable'));
    await vi.waitFor(() => expect(h.learnt).toEqual(['ml/prod']));
    await h.run();
    expect(h.shown()).toBeUndefined();
    expect(h.written).toHaveLength(1);
  });
});
