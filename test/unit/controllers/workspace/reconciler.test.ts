// The DatabricksWorkspace reconciler's I/O shell, fast: a stub client and connections, a fake API server behind
// the real StatusWriter. What it writes, which Event it records, and when it looks again (issue 16, 13).
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { DatabricksWorkspace } from '../../../../src/api/v1alpha1/index.js';
import type { WorkspaceConnections } from '../../../../src/controllers/workspace/connections.js';
import { WORKSPACE_FINALIZER } from '../../../../src/controllers/resources.js';
import { workspaceReconciler } from '../../../../src/controllers/workspace/reconciler.js';
import { ReferencedSecrets } from '../../../../src/controllers/workspace/secrets.js';
import { DatabricksError } from '../../../../src/databricks/index.js';
import { type EventRecorder, type KubeClient, KubeApiError, type KubeObject, StatusWriter } from '../../../../src/kube/index.js';

type Workspace = DatabricksWorkspace & KubeObject;
type Condition = { type: string; status: string; reason: string };
const HOST = 'https://adb-1234567890123456.7.azuredatabricks.net';

const workspace = (): Workspace =>
  ({
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { name: 'prod', namespace: 'ml', uid: 'u-1', generation: 1, resourceVersion: '5', finalizers: [WORKSPACE_FINALIZER] },
    spec: { host: HOST, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
  }) as unknown as Workspace;

function harness(options: { identity?: string; identityAnswer?: Promise<string | undefined>; check?: () => unknown; clientError?: { reason: string; message: string }; statusPatch?: () => unknown; object?: Workspace | null; users?: { name: string; deleting: boolean }[]; lost?: string; others?: Workspace[]; secrets?: ReferencedSecrets; refused?: boolean } = {}) {
  const written: { conditions: Condition[]; identity?: string }[] = [];
  const kube = {
    patch: vi.fn(async (_rt: unknown, _ns: unknown, _name: unknown, body: { status: { conditions: Condition[] } }) => {
      if (options.statusPatch) return options.statusPatch();
      written.push(body.status);
      return { ...workspace(), status: body.status };
    }),
    get: vi.fn(async () => workspace()),
  } as unknown as KubeClient;
  const client = { checkCredentials: vi.fn(async () => (options.check ? options.check() : { authType: 'pat', endpointCount: 3 })) };
  const connections = {
    clientFor: () => (options.clientError ? { error: { ok: false, ...options.clientError } } : { client }),
    lostCredentials: () => options.lost,
    // the memo of operator-identity.ts, in short: known once an ask has been answered
    operatorIdentity: async () => {
      asking = true;
      known = await (options.identityAnswer ?? Promise.resolve(options.identity));
      asking = false;
      return known;
    },
    knownOperatorIdentity: () => known,
    operatorIdentityAsked: () => asking,
  } as unknown as WorkspaceConnections;
  let known: string | undefined;
  let asking = false;
  const learnt: string[] = [];
  const events: string[] = [];
  const eventMessages: string[] = [];
  const forgotten: string[] = [];
  const gone: string[] = [];
  const reconcile = workspaceReconciler({
    workspaces: {
      get: () => (options.object === null ? undefined : (options.object ?? workspace())),
      list: () => [...(options.object === null ? [] : [options.object ?? workspace()]), ...(options.others ?? [])],
    },
    usersOf: () => options.users ?? [],
    kube,
    crdDeleting: async () => false,
    secrets: options.secrets ?? { get: () => undefined, refresh: async () => undefined, forget: (namespace: string, name: string) => void forgotten.push(`${namespace}/${name}`) },
    connections,
    statusWriter: new StatusWriter(kube),
    events: {
      record: async (_o: unknown, type: string, reason: string, message: string) => {
        events.push(`${type} ${reason}`);
        eventMessages.push(message);
      },
    } as unknown as EventRecorder,
    verifyIntervalMs: 600_000,
    retryIntervalMs: 30_000,
    callDeadlineMs: 20_000,
    now: () => new Date('2026-03-01T12:00:00Z'),
    gone: (key) => gone.push(key),
    refusedSinceVerdict: () => options.refused === true,
    identityLearnt: (key) => learnt.push(key),
  });
  const run = () => reconcile('ml/prod', { signal: new AbortController().signal, log: pino({ level: 'silent' }) });
  const summary = () => Object.fromEntries((written.at(-1)?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));
  return { run, written, events, eventMessages, forgotten, summary, client, gone, learnt };
}

describe('workspace reconciler (I/O shell)', () => {
  it('working credentials: Ready True Authenticated, one Normal Event, verified again after the verify interval', async () => {
    const h = harness();
    await expect(h.run()).resolves.toEqual({ requeueAfterMs: 600_000 });
    expect(h.summary()).toEqual({ Ready: 'True Authenticated' });
    expect(h.events).toEqual(['Normal Authenticated']);
  });

  it('status.identity names who the credentials stand for (SCIM Me), once learnt: asked beside the verdict, which it never holds up', async () => {
    const known = harness({ identity: '6f1f3c1e-8d2a-4c51-9a57-0c1d2e3f4a5b' });
    await known.run();
    expect(known.summary()).toEqual({ Ready: 'True Authenticated' });
    await vi.waitFor(() => expect(known.learnt).toEqual(['ml/prod']));
    await known.run();
    expect(known.written.at(-1)?.identity).toBe('6f1f3c1e-8d2a-4c51-9a57-0c1d2e3f4a5b');
    const unknown = harness({});
    await expect(unknown.run()).resolves.toEqual({ requeueAfterMs: 600_000 });
    expect(unknown.summary()).toEqual({ Ready: 'True Authenticated' });
    expect(unknown.written.at(-1)).not.toHaveProperty('identity');
    expect(unknown.learnt).toEqual([]);
  });

  it('a host that answers the endpoint list but never SCIM Me is Ready at once (the identity does not hold up the verdict)', async () => {
    let answer: (identity: string) => void = () => undefined;
    const h = harness({ identityAnswer: new Promise<string>((resolve) => (answer = resolve)) });
    const verdict = await Promise.race([h.run(), new Promise((resolve) => setTimeout(() => resolve('still waiting for SCIM Me'), 1_000))]);
    expect(verdict).toEqual({ requeueAfterMs: 600_000 });
    expect(h.summary()).toEqual({ Ready: 'True Authenticated' });
    answer('ops@example.com');
    await vi.waitFor(() => expect(h.learnt).toEqual(['ml/prod']));
  });

  it('a missing Secret is Stalled (a person must create it) and says so once', async () => {
    const h = harness({ clientError: { reason: 'SecretNotFound', message: 'Secret ml/dbx-pat not found' } });
    await expect(h.run()).resolves.toEqual({ requeueAfterMs: 30_000 });
    expect(h.summary()).toEqual({ Ready: 'False SecretNotFound', Stalled: 'True SecretNotFound' });
    expect(h.events).toEqual(['Warning SecretNotFound']);
    expect(h.client.checkCredentials).not.toHaveBeenCalled();
  });

  it('refused credentials are Stalled; an unreachable host is Reconciling (retried by itself)', async () => {
    // an unknown PAT is a 403 (PermissionDenied), an expired token a 401 (Auth): both are the credentials
    for (const error of [
      new DatabricksError({ kind: 'PermissionDenied', status: 403, message: 'PERMISSION_DENIED: Invalid access token.' }),
      new DatabricksError({ kind: 'Auth', status: 401, message: 'UNAUTHENTICATED: The access token has expired.' }),
    ]) {
      const refused = harness({ check: () => Promise.reject(error) });
      await refused.run();
      expect(refused.summary()).toEqual({ Ready: 'False AuthenticationFailed', Stalled: 'True AuthenticationFailed' });
    }
    const unreachable = harness({ check: () => Promise.reject(new DatabricksError({ kind: 'Transient', message: 'connect ECONNREFUSED' })) });
    await unreachable.run();
    expect(unreachable.summary()).toEqual({ Ready: 'False HostUnreachable', Reconciling: 'True HostUnreachable' });
  });

  // A host that answers, but not as Databricks does, was reported as one that "cannot be reached" (session 11).
  it('a host that answers what is not a Databricks answer says so (still retried by itself)', async () => {
    const odd = harness({ check: () => Promise.reject(new DatabricksError({ kind: 'InvalidResponse', status: 200, message: 'GET /api/2.0/serving-endpoints answered 200 with a body that does not fit listEndpoints: more than 100000 elements in "endpoints"' })) });
    await odd.run();
    expect(odd.summary()).toEqual({ Ready: 'False HostUnreachable', Reconciling: 'True HostUnreachable' });
    const message = (odd.written.at(-1)?.conditions.find((c) => c.type === 'Ready') as { message?: string } | undefined)?.message ?? '';
    expect(message).toMatch(/answered, but not as a Databricks workspace does/);
    expect(message).not.toMatch(/cannot reach/);
  });

  // A Databricks outage answers 5xx: the host was reached, so "cannot reach" (and the docs' "check spec.host and the
  // network path") sent the user after the wrong cause.
  it('a host that answers 5xx (a Databricks outage) says it answered and is unavailable, not that it cannot be reached', async () => {
    const down = harness({ check: () => Promise.reject(new DatabricksError({ kind: 'Transient', status: 503, message: 'GET /api/2.0/serving-endpoints failed (503, Transient): TEMPORARILY_UNAVAILABLE: The service is temporarily unavailable. Please try again later.' })) });
    await down.run();
    expect(down.summary()).toEqual({ Ready: 'False HostUnreachable', Reconciling: 'True HostUnreachable' });
    const message = (down.written.at(-1)?.conditions.find((c) => c.type === 'Ready') as { message?: string } | undefined)?.message ?? '';
    expect(message).toMatch(/is unavailable: it answered 503/);
    expect(message).not.toMatch(/cannot reach/);
  });

  it('rate limited: nothing learnt, nothing written, back after Retry-After', async () => {
    const h = harness({ check: () => Promise.reject(new DatabricksError({ kind: 'RateLimited', status: 429, message: '429', retryAfterMs: 9_000 })) });
    await expect(h.run()).resolves.toEqual({ requeueAfterMs: 9_000 });
    expect(h.written).toEqual([]);
    expect(h.events).toEqual([]);
  });

  it('being deleted, its users waiting, its Secret gone (a namespace deletion after a restart): Ready False SecretNotFound, a Warning, the way out named', async () => {
    const deleting = { ...workspace(), metadata: { ...workspace().metadata, deletionTimestamp: '2026-03-01T11:59:00Z' }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Authenticated' }] } } as unknown as Workspace;
    const h = harness({ object: deleting, users: [{ name: 'ns1', deleting: true }], lost: 'its Secret ml/dbx-pat is gone' });
    await h.run();
    expect(h.summary()).toEqual({ Ready: 'False SecretNotFound', Stalled: 'True SecretNotFound' });
    const ready = h.written.at(-1)?.conditions.find((c) => c.type === 'Ready') as Condition & { message: string };
    expect(ready.message).toMatch(/^its Secret ml\/dbx-pat is gone; deletion waits for 1 endpoint object\(s\) that use this workspace: ns1.*spec\.deletionPolicy to Orphan.*delete their endpoints at https:\/\/adb-\S+ yourself$/);
    expect(h.events).toEqual(['Warning SecretNotFound']);
  });

  // A tenant who deleted a workspace its endpoint objects still use saw it stay Terminating, Ready True, with nothing
  // in kubectl describe to say why: only the operator's log (which tenants seldom can read) named the objects.
  it('being deleted while endpoint objects use it: an Event names them and the way on, nothing else is written', async () => {
    const deleting = { ...workspace(), metadata: { ...workspace().metadata, deletionTimestamp: '2026-03-01T11:59:00Z' }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Authenticated' }] } } as unknown as Workspace;
    const h = harness({ object: deleting, users: [{ name: 'bot', deleting: false }] });
    await h.run();
    expect(h.written).toEqual([]);
    expect(h.events).toEqual(['Normal DeletionWaiting']);
    expect(h.eventMessages[0]).toMatch(/^deletion waits for 1 endpoint object\(s\) that use this workspace: bot; delete them first/);
    // in a namespace deletion they are being deleted already: the Event says so
    const namespaceDeletion = harness({ object: deleting, users: [{ name: 'bot', deleting: true }] });
    await namespaceDeletion.run();
    expect(namespaceDeletion.eventMessages[0]).toContain("they are being deleted with this workspace's credentials");
  });

  // Its users wait for a Ready verdict to delete their endpoints, and a workspace being deleted was never verified
  // again: one deleted during an outage (HostUnreachable), or with a token refused and then rotated, held its endpoint
  // objects for ever, whatever came back or was fixed, though the advice says the operator checks again.
  it.each([
    ['HostUnreachable', 'False', true],
    ['AuthenticationFailed', 'False', true],
    ['Authenticated', 'True', false],
  ])('being deleted, its users waiting, its last verdict %s (Ready %s): verified again: %s', async (reason, status, verifiedAgain) => {
    const deleting = {
      ...workspace(),
      metadata: { ...workspace().metadata, generation: 2, deletionTimestamp: '2026-03-01T11:59:00Z' },
      status: { conditions: [{ type: 'Ready', status, reason, message: 'm', observedGeneration: 1, lastTransitionTime: '2026-03-01T11:00:00Z' }] },
    } as unknown as Workspace;
    const h = harness({ object: deleting, users: [{ name: 'bot', deleting: true }] });
    const result = await h.run();
    expect(h.client.checkCredentials).toHaveBeenCalledTimes(verifiedAgain ? 1 : 0);
    if (verifiedAgain) {
      expect(h.summary()).toEqual({ Ready: 'True Authenticated' });
      expect(result).toEqual({ requeueAfterMs: 600_000 });
    } else {
      expect(h.written).toEqual([]);
    }
  });

  // Each change of a user wakes it: in a namespace deletion of many endpoint objects that was one Event write per
  // wake, each refused (a namespace being deleted takes no new Event) and logged as a warning.
  it('being deleted: the DeletionWaiting Event is told once, and again only when its users start being deleted', async () => {
    const deleting = { ...workspace(), metadata: { ...workspace().metadata, deletionTimestamp: '2026-03-01T11:59:00Z' }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Authenticated' }] } } as unknown as Workspace;
    const options = { object: deleting, users: [{ name: 'a', deleting: false }, { name: 'b', deleting: false }] };
    const h = harness(options);
    await h.run();
    options.users = [{ name: 'a', deleting: false }];
    await h.run();
    expect(h.events).toEqual(['Normal DeletionWaiting']);
    options.users = [{ name: 'a', deleting: true }];
    await h.run();
    await h.run();
    expect(h.events).toEqual(['Normal DeletionWaiting', 'Normal DeletionWaiting']);
    expect(h.eventMessages[1]).toContain('they are being deleted');
  });

  // A workspace being deleted read its Secret only when it had no copy: a token rotated after a refusal (an expired
  // PAT) was never read, so its endpoint objects retried with the refused one for ever, although the WorkspaceNotReady
  // advice (fix the Secret, read again at once) was followed. Gone, its last copy must stay (a namespace deletion).
  it('being deleted while its users are, their calls refused: a rotated Secret is read again, and a deleted one leaves the last copy', async () => {
    const store = new Map<string, KubeObject & { data: Record<string, string> }>();
    const put = (resourceVersion: string) => store.set('ml/dbx-pat', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dbx-pat', namespace: 'ml', resourceVersion }, data: { token: 'ZGFwaQ==' } });
    const secrets = new ReferencedSecrets({
      get: async <T extends KubeObject>(_rt: unknown, _ns: unknown, name: string): Promise<T> => {
        const found = store.get(`ml/${name}`);
        if (!found) throw new KubeApiError(404, 'NotFound', `secrets "${name}" not found`);
        return found as unknown as T;
      },
    } as unknown as KubeClient);
    put('1');
    await secrets.refresh('ml', 'dbx-pat', ['token']);
    const deleting = { ...workspace(), metadata: { ...workspace().metadata, deletionTimestamp: '2026-03-01T11:59:00Z' }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Authenticated' }] } } as unknown as Workspace;
    put('2');
    // not refused: the copy serves (a namespace deletion of many endpoint objects wakes it for each, with no GET)
    await harness({ object: deleting, users: [{ name: 'bot', deleting: true }], secrets }).run();
    expect(secrets.get('ml/dbx-pat')?.metadata.resourceVersion).toBe('1');
    const h = harness({ object: deleting, users: [{ name: 'bot', deleting: true }], secrets, refused: true });
    await h.run();
    expect(secrets.get('ml/dbx-pat')?.metadata.resourceVersion).toBe('2');
    store.delete('ml/dbx-pat');
    await h.run();
    expect(secrets.get('ml/dbx-pat')?.metadata.resourceVersion).toBe('2');
  });

  // Two workspaces of a namespace may name one Secret (one service principal for two Databricks workspaces). The first
  // to go dropped the copy the other still needed: in a namespace deletion, whose Secret is gone by then, the other's
  // endpoint objects could no longer delete their Databricks endpoints ("the operator restarted since", which it had not).
  it('a workspace that goes keeps the copy of its Secret while another workspace of the namespace names it', async () => {
    const deleting = { ...workspace(), metadata: { ...workspace().metadata, deletionTimestamp: '2026-03-01T11:59:00Z' } } as unknown as Workspace;
    const other = { ...workspace(), metadata: { ...workspace().metadata, name: 'dev', uid: 'u-2' }, spec: { host: 'https://adb-2.7.azuredatabricks.net', auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } } } as unknown as Workspace;
    const shared = harness({ object: deleting, others: [other] });
    await shared.run();
    expect(shared.forgotten).toEqual([]);
    const alone = harness({ object: deleting, others: [{ ...other, spec: { ...other.spec, auth: { token: { secretRef: { name: 'other-pat', key: 'token' } } } } } as Workspace] });
    await alone.run();
    expect(alone.forgotten).toEqual(['ml/dbx-pat']);
  });

  // What the operator keeps by workspace key (the endpoints its credentials were refused for) is dropped then: kept,
  // it grows with every workspace ever deleted, and one created again under the name would inherit it.
  it('a workspace gone from the cache (deleted) is reported gone, once, with nothing written', async () => {
    const h = harness({ object: null });
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.gone).toEqual(['ml/prod']);
    expect(h.written).toEqual([]);
    const present = harness();
    await present.run();
    expect(present.gone).toEqual([]);
  });

  it('a workspace deleted while it was checked is not a failure', async () => {
    const h = harness({
      statusPatch: () => {
        throw new KubeApiError(404, 'NotFound', 'databricksworkspaces "prod" not found');
      },
    });
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.events).toEqual([]);
  });
});
