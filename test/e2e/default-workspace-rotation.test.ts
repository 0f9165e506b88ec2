// A platform team rotates the default workspace's PAT: the old one is revoked in Databricks and the Secret the chart
// mounts (defaultWorkspace.existingSecret) gets the new one, which the kubelet writes into the mounted files. The
// operator must use it within seconds, without a restart, and the endpoints the revoked PAT held back must recover
// by themselves (before: the credentials were environment variables read once at start, so every default-workspace
// endpoint stayed Synced=False WorkspaceNotReady until someone restarted the operator).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { eventually } from '../support/cluster.js';
import { writeSecretVolume } from '../support/secret-volume.js';
import { type E2E, condition, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

const OLD_PAT = 'dapi-rotation-old-0123456789abcdef';
const NEW_PAT = 'dapi-rotation-new-fedcba9876543210';
const OLD_CLIENT_SECRET = 'sp-secret-old-7f3a91c2';
const NEW_CLIENT_SECRET = 'sp-secret-new-0b5d6e84';

let e2e: E2E;
let credentialsDir: string;

beforeAll(async () => {
  credentialsDir = mkdtempSync(join(tmpdir(), 'pt-default-creds-'));
  writeSecretVolume(credentialsDir, { token: `${OLD_PAT}\n` });
  e2e = await startE2E({
    prefix: 'e2e-rotate',
    // Only the PAT in the files is accepted (not the harness's DATABRICKS_TOKEN): the files are what the operator uses.
    scenario: { auth: { pats: [OLD_PAT] } },
    // Retry and poll intervals far beyond the test's bounds: only the rotation itself may bring the endpoint back.
    operatorArgs: [`--default-workspace-credentials-dir=${credentialsDir}`, '--workspace-retry-interval=5m', '--poll-interval=5m'],
  });
});

afterAll(async () => {
  await e2e?.stop();
  rmSync(credentialsDir, { recursive: true, force: true });
});

/** What the emulator (Databricks) accepts from now on: PATs, OAuth clients. */
const setAcceptedCredentials = (change: object) =>
  fetch(new URL('/__emulator/auth', e2e.emulator.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(change) });

/** The operator's log lines that name who it acts as at the default workspace. */
const identityLines = () => e2e.operator.logs().split('\n').filter((line) => line.includes('default workspace: the operator acts as this identity'));

describe("the default workspace's PAT rotated in its mounted Secret", () => {
  it('is used within seconds of the kubelet updating the files, and the held-back endpoint recovers with no restart', async (context) => {
    // From the old PAT, in the files and in Databricks, and with an endpoint of this attempt's own: a retry meets the
    // rotation its failed attempt made, and an endpoint whose generation and call log that attempt advanced.
    writeSecretVolume(credentialsDir, { token: `${OLD_PAT}\n` });
    await setAcceptedCredentials({ pats: [OLD_PAT] });
    const name = attemptName(context, 'rotated');
    await e2e.apply(endpointManifest(name));
    await e2e.waitUntil('pte', name, isReady, 90_000);

    // The platform team revokes the old PAT; the endpoint's next reads are refused (403 Invalid access token).
    await setAcceptedCredentials({ pats: [NEW_PAT] });
    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { throughput: { chunks: { min: 2, max: 4 } } } })]);
    await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'WorkspaceNotReady', 30_000);

    // The Secret now holds the new PAT, and the kubelet swaps it into the mounted files.
    const identitiesBefore = identityLines().length;
    expect(identitiesBefore, "the default workspace's identity logged once the operator led").toBeGreaterThanOrEqual(1);
    const rotatedAt = Date.now();
    writeSecretVolume(credentialsDir, { token: `${NEW_PAT}\n` });

    await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'ReconcileSuccess' && condition(o, 'Synced')?.observedGeneration === 2, 60_000);
    await e2e.waitUntil('pte', name, (o) => isReady(o) && condition(o, 'Ready')?.observedGeneration === 2, 60_000);
    const update = await eventually(async () => {
      const [call] = await emulatorCalls(e2e.emulator.url, { endpoint: name, method: 'PUT', status: 200 });
      if (!call) throw new Error(`no accepted update of ${name} yet`);
      return call;
    });
    expect(update.realTime).toBeGreaterThanOrEqual(rotatedAt);
    // Timed to the change reaching Databricks, not to this test's kubectl polling seeing it on a loaded machine.
    expect(update.realTime - rotatedAt, 'from the files updated to the change applied (ms)').toBeLessThan(15_000);

    expect(e2e.operator.exited, 'the operator was not restarted').toBe(false);
    const logs = e2e.operator.logs();
    expect(logs).not.toContain(OLD_PAT);
    expect(logs).not.toContain(NEW_PAT);
    // Who the new credentials stand for is logged again (they may be another principal's), as it was at the start.
    await eventually(async () => {
      const said = identityLines().length;
      if (said < identitiesBefore + 1) throw new Error(`the default workspace's identity logged ${said} time(s), ${identitiesBefore} before the rotation`);
    });
  }, 180_000);

  // OAuth M2M: the client secret is exchanged for a token that is cached; a rotation must not go on sending the token
  // of the old secret, nor ask for one with it.
  it('a rotated OAuth M2M client secret is used for a new token within seconds, and the held-back endpoint recovers', async () => {
    const client = (secret: string) => ({ clients: [{ id: 'pt-sp', secret }] });
    const generation = async () => ((await e2e.get('pte', 'rotated')) as { metadata: { generation: number } }).metadata.generation;
    const synced = (gen: number) => (o: Record<string, unknown>) => condition(o, 'Synced')?.reason === 'ReconcileSuccess' && condition(o, 'Synced')?.observedGeneration === gen;
    const setMax = (max: number) => e2e.kubectl(['patch', 'pte', 'rotated', '--type=merge', '-p', JSON.stringify({ spec: { throughput: { chunks: { min: 2, max } } } })]);

    // The platform team moves the default workspace to a service principal.
    await setAcceptedCredentials(client(OLD_CLIENT_SECRET));
    writeSecretVolume(credentialsDir, { 'client-id': 'pt-sp', 'client-secret': OLD_CLIENT_SECRET });
    await setMax(5);
    await e2e.waitUntil('pte', 'rotated', synced(await generation()), 60_000);

    // Its secret is rotated and the tokens issued for the old one revoked: the cached token is refused (403).
    await setAcceptedCredentials(client(NEW_CLIENT_SECRET));
    e2e.emulator.emulator.auth.clearTokens();
    await setMax(6);
    await e2e.waitUntil('pte', 'rotated', (o) => condition(o, 'Synced')?.reason === 'WorkspaceNotReady', 30_000);

    const rotatedAt = Date.now();
    writeSecretVolume(credentialsDir, { 'client-id': 'pt-sp', 'client-secret': NEW_CLIENT_SECRET });
    await e2e.waitUntil('pte', 'rotated', synced(await generation()), 60_000);
    // Timed to the first call of the endpoint Databricks accepted again (a read: the update to max 6 may still wait
    // for the rollout of max 5), not to this test's kubectl polling seeing it on a loaded machine.
    const accepted = (await emulatorCalls(e2e.emulator.url, { endpoint: 'rotated', status: 200 })).find((call) => call.realTime >= rotatedAt);
    expect(accepted, 'a call of rotated accepted since the rotation').toBeDefined();
    expect(accepted!.realTime - rotatedAt, 'from the files updated to the endpoint read again (ms)').toBeLessThan(15_000);
    const tokens = await emulatorCalls(e2e.emulator.url, { operation: 'token', status: 200 });
    expect(tokens.filter((call) => call.realTime >= rotatedAt).length, 'a token asked for with the new secret').toBeGreaterThanOrEqual(1);

    expect(e2e.operator.exited, 'the operator was not restarted').toBe(false);
    const logs = e2e.operator.logs();
    expect(logs).not.toContain(OLD_CLIENT_SECRET);
    expect(logs).not.toContain(NEW_CLIENT_SECRET);
  }, 180_000);
});
