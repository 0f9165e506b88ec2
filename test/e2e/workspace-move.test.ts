// A DatabricksWorkspace whose spec.host is edited to another workspace, with a Ready endpoint using it: the
// operator does not create a second endpoint there (the first would go on serving with nothing to delete it), says
// where the endpoint lives, and creates it in the new workspace only when the requested-at annotation asks.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { normaliseHost } from '../../src/databricks/host.js';
import { type E2E, TEST_PAT, condition, endpointManifest, isReady, startE2E } from './harness.js';

let e2e: E2E;
let second: RunningEmulator;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-wsmove' });
  second = await startEmulator({ speed: 120 });
});

afterEach(async () => {
  await e2e?.stop();
  await second?.close();
});

type Call = { method: string; operation: string; endpoint?: string; status: number };
const callsOf = async (url: string) => ((await (await fetch(new URL('/__emulator/calls', url))).json()) as { calls: Call[] }).calls;
const endpointsOf = async (url: string) => ((await (await fetch(new URL('/__emulator/state', url))).json()) as { endpoints: { name: string }[] }).endpoints.map((e) => e.name);
const workspace = (host: string) => ({
  apiVersion: 'serving.ptoperator.io/v1alpha1',
  kind: 'DatabricksWorkspace',
  metadata: { name: 'prod' },
  spec: { host, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
});

describe('a workspace whose host is edited to another workspace', () => {
  it('creates nothing there until requested-at asks; says where the endpoint lives', async () => {
    await e2e.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dbx-pat' }, stringData: { token: TEST_PAT } });
    await e2e.apply(workspace(e2e.emulator.url));
    await e2e.apply(endpointManifest('mover', { workspaceRef: { name: 'prod' } }));
    const ready = await e2e.waitUntil('pte', 'mover', isReady, 90_000);
    expect((ready['status'] as { workspaceHost?: string }).workspaceHost).toBe(normaliseHost(e2e.emulator.url));

    await e2e.apply(workspace(second.url));
    const stalled = await e2e.waitUntil('pte', 'mover', (o) => condition(o, 'Synced')?.reason === 'WorkspaceChanged', 60_000);
    expect(condition(stalled, 'Synced')?.message).toContain(`was created in workspace ${normaliseHost(e2e.emulator.url)}, but this object now names workspace ${normaliseHost(second.url)}`);
    expect(condition(stalled, 'Stalled')?.status).toBe('True');
    expect(condition(stalled, 'Ready')?.status).toBe('False');
    // Nothing was sent to the new workspace but reads; the endpoint still serves in the first one.
    expect((await callsOf(second.url)).filter((c) => c.method !== 'GET')).toEqual([]);
    expect(await endpointsOf(e2e.emulator.url)).toContain('mover');

    // The user deleted it in the first workspace and asks for the create in the new one.
    await e2e.kubectl(['annotate', 'pte', 'mover', 'ptoperator.io/requested-at=moved-1']);
    const moved = await e2e.waitUntil('pte', 'mover', (o) => isReady(o) && (o['status'] as { workspaceHost?: string }).workspaceHost === normaliseHost(second.url), 90_000);
    expect(condition(moved, 'Stalled')).toBeUndefined();
    expect((await callsOf(second.url)).filter((c) => c.operation === 'create' && c.endpoint === 'mover')).toHaveLength(1);
    const described = await e2e.kubectl(['describe', 'pte', 'mover']);
    expect(described).toMatch(/Warning\s+EndpointMissing\s+.*is not in workspace/);
  });
});
