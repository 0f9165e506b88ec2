// A platform team rotates the default workspace's PAT: the old one is revoked in Databricks and the Secret the chart
// mounts (defaultWorkspace.existingSecret) gets the new one, which the kubelet writes into the mounted files. The
// operator must use it within seconds, without a restart, and the endpoints the revoked PAT held back must recover
// by themselves (before: the credentials were environment variables read once at start, so every default-workspace
// endpoint stayed Synced=False WorkspaceNotReady until someone restarted the operator).
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, condition, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

const OLD_PAT = 'dapi-rotation-old-0123456789abcdef';
const NEW_PAT = 'dapi-rotation-new-fedcba9876543210';

/** Writes `files` into `dir` as the kubelet updates a mounted Secret: a new timestamped dir, then one atomic rename of ..data. */
function writeLikeKubelet(dir: string, files: Record<string, string>): void {
  const version = `..${Date.now()}_${Math.random().toString(36).slice(2)}`;
  mkdirSync(join(dir, version));
  for (const [name, value] of Object.entries(files)) writeFileSync(join(dir, version, name), value);
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // already linked through ..data
    }
  }
}

let e2e: E2E;
let credentialsDir: string;

beforeAll(async () => {
  credentialsDir = mkdtempSync(join(tmpdir(), 'pt-default-creds-'));
  writeLikeKubelet(credentialsDir, { token: `${OLD_PAT}\n` });
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

describe("the default workspace's PAT rotated in its mounted Secret", () => {
  it('is used within seconds of the kubelet updating the files, and the held-back endpoint recovers with no restart', async () => {
    await e2e.apply(endpointManifest('rotated'));
    await e2e.waitUntil('pte', 'rotated', isReady, 90_000);

    // The platform team revokes the old PAT; the endpoint's next reads are refused (403 Invalid access token).
    await fetch(new URL('/__emulator/auth', e2e.emulator.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pats: [NEW_PAT] }) });
    await e2e.kubectl(['patch', 'pte', 'rotated', '--type=merge', '-p', JSON.stringify({ spec: { throughput: { chunks: { min: 2, max: 4 } } } })]);
    await e2e.waitUntil('pte', 'rotated', (o) => condition(o, 'Synced')?.reason === 'WorkspaceNotReady', 30_000);

    // The Secret now holds the new PAT, and the kubelet swaps it into the mounted files.
    const rotatedAt = Date.now();
    writeLikeKubelet(credentialsDir, { token: `${NEW_PAT}\n` });

    await e2e.waitUntil('pte', 'rotated', (o) => condition(o, 'Synced')?.reason === 'ReconcileSuccess' && condition(o, 'Synced')?.observedGeneration === 2, 60_000);
    expect(Date.now() - rotatedAt, 'from the files updated to the change applied (ms)').toBeLessThan(15_000);
    await e2e.waitUntil('pte', 'rotated', (o) => isReady(o) && condition(o, 'Ready')?.observedGeneration === 2, 60_000);
    const update = await eventually(async () => {
      const [call] = await emulatorCalls(e2e.emulator.url, { endpoint: 'rotated', method: 'PUT', status: 200 });
      if (!call) throw new Error('no accepted update of rotated yet');
      return call;
    });
    expect(update.realTime).toBeGreaterThanOrEqual(rotatedAt);

    expect(e2e.operator.exited, 'the operator was not restarted').toBe(false);
    const logs = e2e.operator.logs();
    expect(logs).not.toContain(OLD_PAT);
    expect(logs).not.toContain(NEW_PAT);
  }, 180_000);
});
