// DatabricksWorkspace, driven with kubectl: a missing Secret, then the Secret created; a wrong PAT,
// then the Secret rotated; OAuth M2M; and no credential ever shows in kubectl output or the logs.
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../src/emulator/auth.js';
import { type AttemptContext, attemptName } from '../support/attempt.js';
import { startEmulator } from '../../src/emulator/server.js';
import { eventually } from '../support/cluster.js';
import { type E2E, type OperatorProcess, TEST_PAT, addFaults, condition, emulatorCalls, endpointManifest, fromYaml, isReady, removeFault, startE2E } from './harness.js';

/** The only PAT the workspace accepts besides the operator's default one. */
const GOOD_PAT = 'dapi5e1ec7ed0000aaaabbbbccccddddeeee';
/** Looks like a PAT, but the workspace does not know it. */
const WRONG_PAT = 'dapi0bad0bad0bad0bad0bad0bad0bad0bad';
const CREDENTIALS = [GOOD_PAT, WRONG_PAT, DEFAULT_CLIENT_SECRET, TEST_PAT];

let e2e: E2E & { startOperator(): OperatorProcess };

beforeAll(async () => {
  e2e = await startE2E({
    prefix: 'e2e-ws',
    speed: 480,
    scenario: { auth: { pats: [TEST_PAT, GOOD_PAT] } },
    // An unreachable host is retried until this deadline before it is reported.
    operatorArgs: ['--databricks-timeout=5s'],
  });
});

afterAll(async () => {
  await e2e?.stop();
});

function workspaceManifest(name: string, auth: Record<string, unknown>): object {
  return {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { name },
    // http is accepted for loopback hosts: the emulator.
    spec: { host: e2e.emulator.url, auth },
  };
}

const readyReason = (o: Record<string, unknown>) => condition(o, 'Ready')?.reason;
const generationOf = (o: Record<string, unknown>) => (o['metadata'] as { generation: number }).generation;

/** `kubectl create secret generic` as a user types it; with `replace`, rotates an existing one via apply. */
async function createSecret(name: string, literals: Record<string, string>, replace = false): Promise<void> {
  const args = ['create', 'secret', 'generic', name, ...Object.entries(literals).map(([k, v]) => `--from-literal=${k}=${v}`)];
  if (!replace) {
    await e2e.kubectl(args);
    return;
  }
  await e2e.apply(fromYaml(await e2e.kubectl([...args, '--dry-run=client', '-o', 'yaml'])));
}

/**
 * `run` with a second workspace host (an emulator taking GOOD_PAT) and, named for this attempt, a Secret of GOOD_PAT
 * created, a workspace and an endpoint name: `<name>`, `dbx-<name>`, `<name>-llama`. The host is closed afterwards.
 */
async function atAnotherHost(
  context: AttemptContext,
  name: string,
  run: (names: { other: Awaited<ReturnType<typeof startEmulator>>; secret: string; workspace: string; endpoint: string }) => Promise<void>,
): Promise<void> {
  const other = await startEmulator({ scenario: { auth: { pats: [GOOD_PAT] } }, speed: 480 });
  try {
    const secret = attemptName(context, `dbx-${name}`);
    await createSecret(secret, { token: GOOD_PAT });
    await run({ other, secret, workspace: attemptName(context, name), endpoint: attemptName(context, `${name}-llama`) });
  } finally {
    await other.close();
  }
}

describe('DatabricksWorkspace', () => {
  it('a missing Secret: workspace SecretNotFound, endpoint Stalled (WorkspaceStalled, kstatus Failed); creating the Secret makes both Ready without a restart', async (context) => {
    // A retry starts without the Secret (its failed attempt may have created it), and with a workspace and an
    // endpoint of its own: the first attempt's are Ready already, and their calls are in the log. The later tests
    // use the Secret and the first attempt's workspace and endpoint.
    await e2e.kubectl(['delete', 'secret', 'dbx-pat', '--ignore-not-found']);
    const workspace = attemptName(context, 'prod');
    const endpoint = attemptName(context, 'ws-llama');
    await e2e.apply(workspaceManifest(workspace, { token: { secretRef: { name: 'dbx-pat', key: 'token' } } }));
    await e2e.apply(endpointManifest(endpoint, { workspaceRef: { name: workspace } }));

    const ws = await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'SecretNotFound');
    expect(condition(ws, 'Ready')?.status).toBe('False');
    expect(condition(ws, 'Ready')?.message).toContain(`Secret ${e2e.namespace}/dbx-pat not found`);
    const ep = await e2e.waitUntil('pte', endpoint, (o) => condition(o, 'Synced')?.reason === 'WorkspaceStalled');
    expect(condition(ep, 'Synced')?.status).toBe('False');
    expect(condition(ep, 'Synced')?.message).toMatch(new RegExp(`^DatabricksWorkspace ${e2e.namespace}/${workspace} is not ready \\(SecretNotFound\\): fix its credentials Secret ${e2e.namespace}/dbx-pat; .* The workspace says: Secret ${e2e.namespace}/dbx-pat not found`));
    // Nothing changes until someone fixes the workspace: Flux and Helm 4 --wait see Failed, not InProgress until their timeout.
    expect(condition(ep, 'Stalled')).toMatchObject({ status: 'True', reason: 'WorkspaceStalled' });
    expect(condition(ep, 'Reconciling')).toBeUndefined();
    expect(await e2e.mutations(endpoint)).toEqual([]);

    await createSecret('dbx-pat', { token: GOOD_PAT });
    const ready = await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'Authenticated', 30_000);
    expect(condition(ready, 'Ready')?.status).toBe('True');
    await e2e.kubectl(['wait', `pte/${endpoint}`, '--for=condition=Ready', '--timeout=90s']);
    expect(e2e.operator.exited).toBe(false);
    expect((await e2e.mutations(endpoint)).filter((c) => c.operation === 'create')).toHaveLength(1);

    const table = await e2e.kubectl(['get', 'dbws', workspace]);
    expect(table).toMatch(new RegExp(`${workspace}\\s`));
  });

  it('an endpoint naming a DatabricksWorkspace that does not exist yet waits, and goes Ready once it is created', async (context) => {
    // Names of this attempt's own: a retry would find the first attempt's workspace there and its endpoint Ready.
    const endpoint = attemptName(context, 'early-llama');
    const workspace = attemptName(context, 'later');
    await e2e.apply(endpointManifest(endpoint, { workspaceRef: { name: workspace } }));
    const waiting = await e2e.waitUntil('pte', endpoint, (o) => condition(o, 'Synced')?.reason === 'WorkspaceNotReady');
    expect(condition(waiting, 'Synced')?.message).toMatch(new RegExp(`DatabricksWorkspace .*/${workspace} not found`));
    expect(await e2e.mutations(endpoint)).toEqual([]);

    await e2e.apply(workspaceManifest(workspace, { token: { secretRef: { name: 'dbx-pat' } } }));
    await e2e.kubectl(['wait', `pte/${endpoint}`, '--for=condition=Ready', '--timeout=90s']);
  });

  // A new tenant's Secret made with `--from-literal=pat=...` for a workspace that reads the default key `token`.
  it('a Secret holding the token under another key: SecretNotFound naming the field and the command; the field set to that key, Authenticated', async (context) => {
    const secret = attemptName(context, 'other-key');
    const workspace = attemptName(context, 'other-key');
    await createSecret(secret, { pat: GOOD_PAT });
    await e2e.apply(workspaceManifest(workspace, { token: { secretRef: { name: secret } } }));
    const missing = await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'SecretNotFound', 30_000);
    const message = condition(missing, 'Ready')?.message ?? '';
    expect(message).toContain(`Secret ${e2e.namespace}/${secret} has no non-empty key "token". Set spec.auth.token.secretRef.key to the key that holds the token, or add it: kubectl -n ${e2e.namespace} create secret generic ${secret} --from-literal=token=`);
    expect(message).toContain('--dry-run=client -o yaml | kubectl apply -f -');
    expect(message).not.toContain('"pat"');

    await e2e.apply(workspaceManifest(workspace, { token: { secretRef: { name: secret, key: 'pat' } } }));
    await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'Authenticated', 30_000);
  });

  it('a wrong token: AuthenticationFailed; rotating the Secret to the right token fixes it', async (context) => {
    // Names of this attempt's own: a retry would find the Secret already there (kubectl create: AlreadyExists), rotated.
    const secret = attemptName(context, 'rotating-pat');
    const workspace = attemptName(context, 'rotating');
    await createSecret(secret, { token: WRONG_PAT });
    await e2e.apply(workspaceManifest(workspace, { token: { secretRef: { name: secret } } }));
    const failed = await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'AuthenticationFailed', 30_000);
    expect(condition(failed, 'Ready')?.status).toBe('False');
    expect(condition(failed, 'Ready')?.message).toMatch(/refused the credentials/);

    await createSecret(secret, { token: GOOD_PAT }, true);
    const fixed = await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'Authenticated', 30_000);
    expect(condition(fixed, 'Ready')?.status).toBe('True');
    const described = await e2e.kubectl(['describe', 'dbws', workspace]);
    expect(described).toMatch(/Warning\s+AuthenticationFailed/);
    expect(described).toMatch(/Normal\s+Authenticated/);
  });

  it('OAuth M2M with a service principal Secret: Authenticated, and an endpoint through it is Ready', async (context) => {
    // Names of this attempt's own: a retry would find the Secret already there (kubectl create: AlreadyExists).
    const secret = attemptName(context, 'dbx-sp');
    const workspace = attemptName(context, 'sp');
    const endpoint = attemptName(context, 'sp-llama');
    await createSecret(secret, { 'client-id': DEFAULT_CLIENT_ID, 'client-secret': DEFAULT_CLIENT_SECRET });
    await e2e.apply(workspaceManifest(workspace, { oauthM2M: { secretRef: { name: secret } } }));
    const ws = await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'Authenticated', 30_000);
    expect(condition(ws, 'Ready')?.message).toMatch(/oauth/i);

    await e2e.apply(endpointManifest(endpoint, { workspaceRef: { name: workspace } }));
    await e2e.kubectl(['wait', `pte/${endpoint}`, '--for=condition=Ready', '--timeout=90s']);
    const obj = await e2e.get('pte', endpoint);
    expect(obj && isReady(obj)).toBe(true);
  });

  it('a Secret deleted: SecretNotFound, its endpoint Stalled (WorkspaceStalled) with no Databricks call; recreated, both recover', async (context) => {
    // Names of this attempt's own: a retry would find the Secret already there (kubectl create: AlreadyExists), the
    // endpoint's spec changed and its calls in the log.
    const secret = attemptName(context, 'flaky-pat');
    const workspace = attemptName(context, 'flaky');
    const endpoint = attemptName(context, 'flaky-llama');
    await createSecret(secret, { token: GOOD_PAT });
    await e2e.apply(workspaceManifest(workspace, { token: { secretRef: { name: secret } } }));
    await e2e.apply(endpointManifest(endpoint, { workspaceRef: { name: workspace } }));
    await e2e.kubectl(['wait', `pte/${endpoint}`, '--for=condition=Ready', '--timeout=90s']);

    await e2e.kubectl(['delete', 'secret', secret]);
    await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'SecretNotFound', 30_000);
    const ep = await e2e.waitUntil('pte', endpoint, (o) => condition(o, 'Synced')?.reason === 'WorkspaceStalled', 30_000);
    expect(condition(ep, 'Stalled')).toMatchObject({ status: 'True', reason: 'WorkspaceStalled' });
    // Ready says what was last known: the endpoint itself still serves.
    expect(condition(ep, 'Ready')?.status).toBe('True');
    const calls = async () => (await (await fetch(new URL(`/__emulator/calls?endpoint=${endpoint}`, e2e.emulator.url))).json()) as { calls: unknown[] };
    const before = (await calls()).calls.length;
    // Evidence instead of a pause (which a slow machine may fill with nothing): two more reconciles of it.
    await e2e.reconciledAgain(endpoint);
    expect((await calls()).calls.length).toBe(before);

    // A new spec meanwhile cannot be sent: Ready no longer calls the endpoint Available (it serves the older spec).
    await e2e.kubectl(['patch', 'pte', endpoint, '--type=merge', '-p', JSON.stringify({ spec: { throughput: { chunks: { min: 2, max: 4 } } } })]);
    const held = await e2e.waitUntil('pte', endpoint, (o) => condition(o, 'Synced')?.observedGeneration === generationOf(o), 30_000);
    expect(condition(held, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'WorkspaceStalled', observedGeneration: generationOf(held) });
    expect(condition(held, 'Ready')?.message).toContain(`still serves the spec of generation ${generationOf(held) - 1}`);
    expect(await e2e.kubectl(['get', 'pte', endpoint, '-o', 'wide'])).toMatch(new RegExp(`^${endpoint}\\s+Unknown\\s+False\\s.*\\sWorkspaceStalled\\b`, 'm'));

    await createSecret(secret, { token: GOOD_PAT });
    await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'Authenticated', 30_000);
    await e2e.waitUntil('pte', endpoint, (o) => condition(o, 'Synced')?.reason === 'ReconcileSuccess' && isReady(o) && condition(o, 'Ready')?.observedGeneration === generationOf(o), 30_000);
  });

  it('a host nobody listens on: HostUnreachable, reported within the operator\'s --databricks-timeout', async (context) => {
    // Names of this attempt's own: a retry would find the Secret already there (kubectl create: AlreadyExists).
    const secret = attemptName(context, 'nowhere-pat');
    const workspace = attemptName(context, 'nowhere');
    await createSecret(secret, { token: GOOD_PAT });
    const appliedAt = Date.now();
    await e2e.apply({
      ...(workspaceManifest(workspace, { token: { secretRef: { name: secret } } }) as { spec: object }),
      spec: { host: 'http://127.0.0.1:1', auth: { token: { secretRef: { name: secret } } } },
    });
    const ws = await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'HostUnreachable', 60_000);
    // 5 s of retries, plus the informer and status write: well before the client's own 30 s default.
    expect(Date.now() - appliedAt).toBeLessThan(15_000);
    expect(condition(ws, 'Ready')).toMatchObject({ status: 'False' });
    expect(condition(ws, 'Ready')?.message).toContain('cannot reach http://127.0.0.1:1');
  });

  // One tenant's workspaces on a host that never answers must not hold up another's: each holds a worker until
  // --databricks-timeout (session 11: one worker for every workspace, so each such host delayed all the others).
  it('workspaces whose host hangs are verified side by side, and a working one is Ready meanwhile', async (context) => {
    // Names of this attempt's own: a retry would find the first attempt's workspaces still being deleted.
    const hangingNames = ['hang-1', 'hang-2', 'hang-3'].map((name) => attemptName(context, name));
    const beside = attemptName(context, 'beside');
    const open = new Set<Socket>();
    const hanging = createServer((socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const port = (hanging.address() as AddressInfo).port;
    try {
      for (const name of hangingNames) {
        await e2e.apply({ ...workspaceManifest(name, { token: { secretRef: { name: 'dbx-pat', key: 'token' } } }), spec: { host: `http://127.0.0.1:${port}`, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } } });
      }
      // Evidence of three verifications in flight at once: three connections held open together.
      await eventually(
        async () => {
          if (open.size < 3) throw new Error(`${open.size} verification(s) in flight`);
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      // Verified before any of the three ended (--databricks-timeout=5s): it waited for none of them. Timed by the
      // operator's own log lines, not by this test seeing the status: kubectl on a loaded machine may take seconds.
      await e2e.apply(workspaceManifest(beside, { token: { secretRef: { name: 'dbx-pat', key: 'token' } } }));
      await e2e.waitUntil('dbws', beside, (o) => readyReason(o) === 'Authenticated', 30_000);
      const verifiedAt = (name: string) => {
        const line = e2e.operator
          .logs()
          .split('\n')
          .find((l) => l.includes('"msg":"workspace verified"') && l.includes(`"key":"${e2e.namespace}/${name}"`));
        return line === undefined ? undefined : Date.parse((JSON.parse(line) as { time: string }).time);
      };
      const hangsEnded = await eventually(
        async () => {
          const ended = hangingNames.map(verifiedAt);
          if (ended.some((t) => t === undefined)) throw new Error('a hanging verification has not ended yet');
          return ended as number[];
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(verifiedAt(beside)).toBeLessThan(Math.min(...hangsEnded));
    } finally {
      for (const socket of open) socket.destroy();
      hanging.close();
      await e2e.kubectl(['delete', 'dbws', ...hangingNames, beside, '--wait=false', '--ignore-not-found']);
    }
  });

  // Created again under its name (generation 1 again) with its Secret unchanged, it was given the client of the object
  // it replaced: verified, and its endpoints created, at the old host, while its status and theirs named the new one.
  it('deleted and created again under its name at another host: verified there, and its endpoints are created there', (context) =>
    atAnotherHost(context, 'again', async ({ other, secret, workspace, endpoint }) => {
      const manifest = (host: string) => ({ ...(workspaceManifest(workspace, { token: { secretRef: { name: secret } } }) as { spec: object }), spec: { host, auth: { token: { secretRef: { name: secret } } } } });
      await e2e.apply(manifest(e2e.emulator.url));
      await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'Authenticated', 30_000);
      await e2e.kubectl(['delete', 'dbws', workspace, '--timeout=30s']);

      await e2e.apply(manifest(other.url));
      await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'Authenticated', 30_000);
      expect(await emulatorCalls(other.url, { operation: 'list' })).not.toEqual([]);
      await e2e.apply(endpointManifest(endpoint, { workspaceRef: { name: workspace } }));
      await e2e.kubectl(['wait', `pte/${endpoint}`, '--for=condition=Ready', '--timeout=90s']);
      const names = async (url: string) => ((await (await fetch(new URL('/__emulator/state', url))).json()) as { endpoints: { name: string }[] }).endpoints.map((e) => e.name);
      expect(await names(other.url)).toContain(endpoint);
      expect(await names(e2e.emulator.url)).not.toContain(endpoint);
      expect((await e2e.get('pte', endpoint))?.['status']).toMatchObject({ workspaceHost: expect.stringContaining(new URL(other.url).port) });
      await e2e.kubectl(['delete', 'pte', endpoint, '--timeout=60s']);
    }));

  // Its endpoint objects delete their endpoints only through a Ready workspace, and one being deleted was never
  // verified again: deleted during an outage, it held them (and itself) for ever after the host answered again.
  it('deleted with its endpoint during an outage of its host: once the host answers again, both go and the endpoint is deleted', (context) =>
    atAnotherHost(context, 'outage', async ({ other, secret, workspace, endpoint }) => {
      await e2e.apply({ ...(workspaceManifest(workspace, {}) as object), spec: { host: other.url, auth: { token: { secretRef: { name: secret } } } } });
      await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'Authenticated', 30_000);
      await e2e.apply(endpointManifest(endpoint, { workspaceRef: { name: workspace } }));
      await e2e.kubectl(['wait', `pte/${endpoint}`, '--for=condition=Ready', '--timeout=90s']);

      const [outage] = await addFaults(other.url, { type: 'unavailable', rate: 1 });
      // verified now (an annotation change), and found unavailable
      await e2e.kubectl(['annotate', 'dbws', workspace, `ptoperator.io/requested-at=${Date.now()}`, '--overwrite']);
      await e2e.waitUntil('dbws', workspace, (o) => readyReason(o) === 'HostUnreachable', 30_000);
      await e2e.kubectl(['delete', 'pte', endpoint, '--wait=false']);
      await e2e.kubectl(['delete', 'dbws', workspace, '--wait=false']);
      const held = await e2e.waitUntil('pte', endpoint, (o) => condition(o, 'Synced')?.message.includes('cannot delete endpoint') === true, 30_000);
      // The deletion bumped the generation; no spec was edited, so what Ready says waits is the deletion.
      expect(condition(held, 'Ready')?.message).toMatch(/^the endpoint still serves the spec of generation 1; the deletion waits: cannot delete endpoint/);

      await removeFault(other.url, outage as string);
      await eventually(
        async () => {
          const left = await e2e.kubectl(['get', `pte/${endpoint}`, `dbws/${workspace}`, '--ignore-not-found', '-o', 'name']);
          if (left.trim() !== '') throw new Error(`still there: ${left}`);
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(await emulatorCalls(other.url, { operation: 'delete', endpoint, status: 200 })).toHaveLength(1);
    }));

  // Session 11: each restart gave every endpoint reconciled at once a false "Secret … not found" Warning and a
  // Synced=False flicker (the Secret had not been read yet), and so did any edit of the workspace's spec
  // ("its credentials have not been verified yet") until the workspace was verified again.
  it('an operator restart, and an edit of the workspace, give its endpoints no WorkspaceNotReady', async () => {
    const since = Math.floor(Date.now() / 1000) * 1000;
    const falseAlarms = async () => {
      const events = JSON.parse(await e2e.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=ws-llama,reason=WorkspaceNotReady', '-o', 'json'])) as {
        items: { lastTimestamp?: string; message: string }[];
      };
      return events.items.filter((e) => Date.parse(e.lastTimestamp ?? '') >= since).map((e) => e.message);
    };
    await e2e.kubectl(['wait', 'pte/ws-llama', 'dbws/prod', '--for=condition=Ready', '--timeout=60s']);
    type Shown = { metadata: { resourceVersion: string }; status: { identity?: string } };
    const before = await eventually(async () => {
      const workspace = (await e2e.get<Shown>('dbws', 'prod'))!;
      if (!workspace.status.identity) throw new Error('dbws/prod shows no identity yet');
      return workspace;
    });
    const scimBefore = (await emulatorCalls(e2e.emulator.url, { operation: 'currentUser', status: 200 })).length;

    await e2e.operator.stop();
    await e2e.kubectl(['patch', 'pte', 'ws-llama', '--type=merge', '-p', JSON.stringify({ spec: { throughput: { chunks: { min: 1, max: 3 } } } })]);
    e2e.startOperator();
    const generation = (await e2e.get<{ metadata: { generation: number } }>('pte', 'ws-llama'))?.metadata.generation;
    await e2e.waitUntil('pte', 'ws-llama', (o) => condition(o, 'Ready')?.status === 'True' && condition(o, 'Ready')?.observedGeneration === generation, 60_000);
    expect(await falseAlarms()).toEqual([]);
    // The restarted operator verified the workspace and asked SCIM Me again (its memo starts empty): an unchanged
    // workspace is not written, its identity shown throughout (it was dropped, then written back).
    await eventually(async () => {
      const verified = e2e.operator.logs().split('\n').filter((line) => line.includes('"msg":"workspace verified"') && line.includes('"name":"prod"'));
      if (verified.length === 0) throw new Error('the restarted operator has not verified dbws/prod yet');
      const scim = (await emulatorCalls(e2e.emulator.url, { operation: 'currentUser', status: 200 })).length;
      if (scim <= scimBefore) throw new Error('SCIM Me not answered since the restart');
    });
    await e2e.reconciledAgain('ws-llama');
    const after = (await e2e.get<Shown>('dbws', 'prod'))!;
    expect(after.status.identity).toBe(before.status.identity);
    expect(after.metadata.resourceVersion, 'dbws/prod written at the restart').toBe(before.metadata.resourceVersion);

    await e2e.kubectl(['patch', 'dbws', 'prod', '--type=merge', '-p', JSON.stringify({ spec: { rateLimits: { readsPerSecond: 10 } } })]);
    const wsGeneration = (await e2e.get<{ metadata: { generation: number } }>('dbws', 'prod'))?.metadata.generation;
    await e2e.waitUntil('dbws', 'prod', (o) => condition(o, 'Ready')?.status === 'True' && condition(o, 'Ready')?.observedGeneration === wsGeneration);
    await e2e.reconciledAgain('ws-llama');
    expect(await falseAlarms()).toEqual([]);
    expect(condition(await e2e.get('pte', 'ws-llama'), 'Synced')).toMatchObject({ status: 'True' });
  });

  it('no token or client secret appears in kubectl get -o yaml, describe, Events, or the operator log', async () => {
    const outputs = {
      'get dbws -o yaml': await e2e.kubectl(['get', 'dbws', '-o', 'yaml']),
      'get pte -o yaml': await e2e.kubectl(['get', 'pte', '-o', 'yaml']),
      'describe dbws': await e2e.kubectl(['describe', 'dbws']),
      'describe pte': await e2e.kubectl(['describe', 'pte']),
      'get events -o yaml': await e2e.kubectl(['get', 'events', '-o', 'yaml']),
      'operator log': e2e.operator.logs(),
    };
    // The checks are only meaningful if there was something to leak into.
    expect(outputs['get events -o yaml']).toContain('AuthenticationFailed');
    expect(outputs['operator log'].length).toBeGreaterThan(1000);
    for (const [where, text] of Object.entries(outputs)) {
      for (const secret of CREDENTIALS) expect(text.includes(secret), `${where} contains a credential`).toBe(false);
    }
  });
});
