// --allowed-workspace-hosts (docs/security.md): a DatabricksWorkspace may name only the host names the cluster admin
// lists. Here the operator allows "localhost" alone; a second emulator on 127.0.0.1 stands for an address of the
// cluster network that a tenant must not have the operator call, and its call log must stay empty.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { condition, emulatorCalls, startE2E, TEST_PAT } from './harness.js';

let e2e: Awaited<ReturnType<typeof startE2E>>;
let internal: RunningEmulator;

beforeAll(async () => {
  internal = await startEmulator({ scenario: {}, speed: 120 });
  e2e = await startE2E({ prefix: 'e2e-hosts', operatorArgs: ['--allowed-workspace-hosts=localhost'] });
  await e2e.kubectl(['create', 'secret', 'generic', 'dbx', `--from-literal=token=${TEST_PAT}`]);
});

afterAll(async () => {
  await e2e?.stop();
  await internal?.close();
});

const workspace = (name: string, host: string) => ({
  apiVersion: 'serving.ptoperator.io/v1alpha1',
  kind: 'DatabricksWorkspace',
  metadata: { name },
  spec: { host, auth: { token: { secretRef: { name: 'dbx', key: 'token' } } } },
});
const verified = (o: Record<string, unknown>) => condition(o, 'Ready') !== undefined;

describe('workspace hosts the cluster admin allows', () => {
  it('a workspace naming another host is InvalidSpec, saying which hosts are allowed, and that host gets no call', async () => {
    await e2e.apply(workspace('internal', internal.url));
    const ws = await e2e.waitUntil('dbws', 'internal', verified);
    expect(condition(ws, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(condition(ws, 'Ready')?.message).toContain('--allowed-workspace-hosts: localhost');
    expect(await emulatorCalls(internal.url)).toEqual([]);
  });

  it('a workspace naming an allowed host is verified as before', async () => {
    const allowed = e2e.emulator.url.replace('127.0.0.1', 'localhost');
    await e2e.apply(workspace('allowed', allowed));
    const ws = await e2e.waitUntil('dbws', 'allowed', verified);
    expect(condition(ws, 'Ready')).toMatchObject({ status: 'True', reason: 'Authenticated' });
    expect(await emulatorCalls(internal.url)).toEqual([]);
  });
});
