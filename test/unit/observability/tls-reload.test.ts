// The secure metrics server reads its certificate again every TLS_RELOAD_INTERVAL_MS (a renewal by cert-manager is
// served without a restart). A renewal it cannot use (a key that does not fit the certificate, files it cannot read)
// keeps the old certificate; the operator must say so, or it serves the old certificate silently until it expires
// and every Prometheus scrape then fails TLS verification with nothing in the operator's log to explain why.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startProbeServer, TLS_RELOAD_INTERVAL_MS, type TlsCertificate } from '../../../src/observability/server.js';

let dir: string;
const certificate = (name: string): TlsCertificate => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { stdio: 'ignore' });
  return { cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) };
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pt-tls-reload-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

describe('secure metrics certificate reload', () => {
  it('reports a renewed certificate it cannot use once it persists, and not a read halfway through a swap', async () => {
    const first = certificate('first');
    const renewed = certificate('renewed');
    let served: TlsCertificate = first;
    const failed = vi.fn<(problem: string) => void>();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const server = await startProbeServer({ port: 0, registry: new Registry(), tls: () => served, tlsReloadFailed: failed });
    try {
      served = { cert: renewed.cert, key: first.key }; // the new certificate with a key that does not fit it
      vi.advanceTimersByTime(TLS_RELOAD_INTERVAL_MS);
      expect(failed).not.toHaveBeenCalled(); // one read: perhaps the kubelet's swap, read halfway
      vi.advanceTimersByTime(TLS_RELOAD_INTERVAL_MS);
      expect(failed).toHaveBeenCalledTimes(1);
      expect(failed.mock.calls[0]?.[0]).toMatch(/key/i);
      vi.advanceTimersByTime(3 * TLS_RELOAD_INTERVAL_MS);
      expect(failed).toHaveBeenCalledTimes(1); // said once, not every 10 s
      served = renewed;
      vi.advanceTimersByTime(TLS_RELOAD_INTERVAL_MS);
      served = { cert: first.cert, key: renewed.key };
      vi.advanceTimersByTime(2 * TLS_RELOAD_INTERVAL_MS);
      expect(failed).toHaveBeenCalledTimes(2); // a new problem after a good reload is said again
    } finally {
      await server.close();
    }
  });
});
