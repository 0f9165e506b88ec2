// A platform team whose egress re-signs TLS with a corporate CA (or whose workspace is a private endpoint with a
// private CA) gives the operator that CA with --ca-bundle, the chart mounting a ConfigMap that trust-manager keeps.
// Here the workspace is the emulator behind a TLS front whose certificate a test CA signed. The bundle mounted first
// holds another CA (the ConfigMap not yet updated): the object says the certificate is not trusted and how to fix it;
// the kubelet then writes the right CA into the mounted files, and the endpoint gets Ready with no restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { eventually } from '../support/cluster.js';
import { writeSecretVolume } from '../support/secret-volume.js';
import { createTestCa, type TestCa } from '../support/test-ca.js';
import { type E2E, TEST_PAT, condition, endpointManifest, isReady, startE2E, startOperator } from './harness.js';

let corporate: TestCa;
let other: TestCa;
let front: Server;
const sockets = new Set<Socket>();
/** the emulator's port, which the TLS front forwards to */
let upstreamPort = 0;
let workspaceUrl: string;
let bundleDir: string;
let e2e: E2E;

beforeAll(async () => {
  corporate = createTestCa('Corp Inspection CA');
  other = createTestCa('Some Other CA');
  front = createTlsServer(corporate.issue(['127.0.0.1']), (client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => [client, upstream].forEach((s) => s.destroy()));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  workspaceUrl = `https://127.0.0.1:${(front.address() as { port: number }).port}`;
  bundleDir = mkdtempSync(join(tmpdir(), 'pt-ca-bundle-e2e-'));
  // the ConfigMap as first mounted: not yet the CA that signs the workspace's certificate
  writeSecretVolume(bundleDir, { 'ca.crt': other.certificate });
  e2e = await startE2E({
    prefix: 'e2e-ca-bundle',
    operatorEnv: { DATABRICKS_HOST: workspaceUrl },
    operatorArgs: [`--ca-bundle=${join(bundleDir, 'ca.crt')}`],
  });
  upstreamPort = Number(new URL(e2e.emulator.url).port);
});

afterAll(async () => {
  await e2e?.stop();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => front.close(() => resolve()));
  corporate.remove();
  other.remove();
  rmSync(bundleDir, { recursive: true, force: true });
});

const messages = (o: Record<string, unknown>) => ((o['status'] as { conditions?: { message?: string }[] } | undefined)?.conditions ?? []).map((c) => c.message ?? '').join('\n');

describe('--ca-bundle with a workspace whose certificate a corporate CA signed', () => {
  it('untrusted: the object says so and names --ca-bundle; the bundle updated in place: Ready with no restart', async (context) => {
    writeSecretVolume(bundleDir, { 'ca.crt': other.certificate });
    const name = attemptName(context, 'behind-inspection');
    await e2e.apply(endpointManifest(name));
    const refused = await e2e.waitUntil('pte', name, (o) => messages(o).includes('is not trusted'), 60_000);
    expect(messages(refused)).toContain("If a TLS-inspecting proxy or a private CA signs it, trust that CA's certificate (PEM) with --ca-bundle (CA_BUNDLE; chart value caBundle)");
    expect(e2e.emulator.emulator.calls.query({ endpoint: name })).toEqual([]);

    // trust-manager adds the corporate CA to the ConfigMap; the kubelet swaps it into the mounted files
    writeSecretVolume(bundleDir, { 'ca.crt': `${other.certificate}${corporate.certificate}` });
    await e2e.waitUntil('pte', name, isReady, 90_000);
    expect(e2e.operator.exited, 'the operator was not restarted').toBe(false);
    const logs = e2e.operator.logs();
    expect(logs).toContain("calls to Databricks trust 1 CA certificate(s) of --ca-bundle besides Node's defaults");
    expect(logs).toContain('the CA bundle changed; new connections to Databricks trust its certificates');
    expect(logs).not.toContain('BEGIN CERTIFICATE');
  });

  it('a DatabricksWorkspace refused for its certificate is verified again as soon as the bundle changes, not after its retry interval', async (context) => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-ca-bundle-wake-'));
    writeSecretVolume(dir, { 'ca.crt': other.certificate });
    // Retry and verify intervals far beyond the test's bounds: only the bundle's change may bring the workspace back.
    const waking = await startE2E({ prefix: attemptName(context, 'e2e-ca-wake'), operatorArgs: [`--ca-bundle=${join(dir, 'ca.crt')}`, '--workspace-retry-interval=5m', '--workspace-verify-interval=5m'] });
    try {
      await waking.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dbx-pat' }, stringData: { token: TEST_PAT } });
      await waking.apply({ apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name: 'corp' }, spec: { host: workspaceUrl, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } } });
      const refused = await waking.waitUntil('dbws', 'corp', (o) => condition(o, 'Ready')?.reason === 'HostUnreachable', 60_000);
      expect(condition(refused, 'Ready')?.message).toContain('is not trusted; nothing was sent. If a TLS-inspecting proxy or a private CA signs it');

      writeSecretVolume(dir, { 'ca.crt': corporate.certificate });
      await waking.waitUntil('dbws', 'corp', (o) => condition(o, 'Ready')?.status === 'True', 30_000);
    } finally {
      await waking.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bundle without a certificate stops the operator at start, in one line naming the flag and the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-ca-bundle-bad-'));
    try {
      writeSecretVolume(dir, { 'ca.crt': 'placeholder until trust-manager writes the bundle\n' });
      const operator = startOperator({ namespace: e2e.namespace, emulatorUrl: workspaceUrl, name: `${e2e.namespace}-bad-bundle`, args: [`--ca-bundle=${join(dir, 'ca.crt')}`] });
      await eventually(
        async () => {
          if (!operator.exited) throw new Error('the operator still runs');
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(operator.exitCode).toBe(1);
      const fatal = operator.logs().split('\n').find((line) => line.includes('"level":"fatal"'));
      expect(JSON.parse(fatal ?? '{}')).toMatchObject({
        msg: 'pt-operator stopped: fatal error',
        err: { message: `--ca-bundle (CA_BUNDLE) ${join(dir, 'ca.crt')}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)` },
      });
      expect(operator.logs()).not.toContain('placeholder until');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
