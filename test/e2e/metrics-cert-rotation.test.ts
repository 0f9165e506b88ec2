// Secure metrics with a certificate the platform team manages (metrics.secure.certSecret, e.g. from cert-manager,
// as docs/argocd.md recommends). cert-manager renews the Secret before it expires and the kubelet rewrites the mounted
// files (a new timestamped directory, then the `..data` symlink swapped to it) without restarting the Pod. The
// operator must serve the renewed certificate to new connections: one read only at start would go on serving the old
// certificate until it expires, and every Prometheus scrape would then fail its TLS verification.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type E2E, type OperatorProcess, startE2E } from './harness.js';
import { eventually } from '../support/cluster.js';
import { writeSecretVolume } from '../support/secret-volume.js';

let e2e: E2E & { startOperator(extraArgs?: string[]): OperatorProcess };
let dir: string;
let version = 0;

/** Writes a new self-signed certificate the way the kubelet updates a Secret volume; returns its SHA-256 fingerprint. */
function writeCertificateAsKubelet(): string {
  const scratch = mkdtempSync(join(tmpdir(), 'pt-metrics-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=pt-operator-metrics-${++version}`,
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(scratch, 'tls.key'), '-out', join(scratch, 'tls.crt')], { stdio: 'ignore' });
  writeSecretVolume(dir, { 'tls.crt': readFileSync(join(scratch, 'tls.crt')), 'tls.key': readFileSync(join(scratch, 'tls.key')) });
  const fingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', join(scratch, 'tls.crt')]).toString();
  rmSync(scratch, { recursive: true, force: true });
  return fingerprint.split('=')[1]!.trim();
}

/** The fingerprint of the certificate a new TLS connection to the metrics port is served. */
function servedFingerprint(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pt-metrics-rotation-'));
  e2e = await startE2E({ prefix: 'e2e-metrics-cert', startOperator: false });
});

afterEach(async () => {
  await e2e?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('secure metrics with a renewed certificate', () => {
  it('serves the renewed certificate to new connections without a restart', async () => {
    const first = writeCertificateAsKubelet();
    const operator = e2e.startOperator(['--metrics-secure=true', `--metrics-cert-dir=${dir}`]);
    const url = await eventually(async () => {
      const line = operator.logs().split('\n').find((l) => l.includes('"msg":"serving /metrics"'));
      if (!line) throw new Error('the metrics server has not started');
      return (JSON.parse(line) as { url: string }).url;
    });
    expect(await servedFingerprint(url)).toBe(first);

    const renewed = writeCertificateAsKubelet();
    expect(renewed).not.toBe(first);
    await eventually(async () => expect(await servedFingerprint(url)).toBe(renewed), { timeoutMs: 30_000, intervalMs: 500 });
    expect(operator.exited).toBe(false);
  });
});
