// Authenticated HTTPS metrics (--metrics-secure) against the real kube-apiserver: a ServiceAccount token is
// checked with a TokenReview, its right to GET /metrics with a SubjectAccessReview (controller-runtime's model).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../src/kube/client.js';
import { delegatedAuthorizer } from '../../../src/kube/delegated-auth.js';
import { createRegistry } from '../../../src/observability/metrics.js';
import { startProbeServer } from '../../../src/observability/server.js';
import { kubectlOk } from '../../support/cluster.js';
import { adminClient, createNamespace, deleteNamespace } from './support.js';

let client: KubeClient;
let ns: string;
let dir: string;
const role = `pt-operator-metrics-reader-test-${Date.now().toString(36)}`;

beforeAll(async () => {
  ({ client } = await adminClient());
  ns = await createNamespace(client, 'secure-metrics');
  dir = mkdtempSync(join(tmpdir(), 'pt-metrics-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  await kubectlOk(['-n', ns, 'create', 'serviceaccount', 'prometheus']);
  await kubectlOk(['-n', ns, 'create', 'serviceaccount', 'stranger']);
  // The ClusterRole the chart ships for scrapers (templates/rbac.yaml, metrics-reader).
  await kubectlOk(['create', 'clusterrole', role, '--verb=get', '--non-resource-url=/metrics']);
  await kubectlOk(['create', 'clusterrolebinding', role, `--clusterrole=${role}`, `--serviceaccount=${ns}:prometheus`]);
});

afterAll(async () => {
  await kubectlOk(['delete', 'clusterrolebinding,clusterrole', role, '--ignore-not-found']);
  await deleteNamespace(client, ns);
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/metrics`, { ca: readFileSync(join(dir, 'tls.crt')), headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('secure metrics', () => {
  it('serves /metrics over TLS to a token allowed to GET /metrics: 401 without a token, 403 for one without the right', async () => {
    const registry = createRegistry();
    new Counter({ name: 'pt_secure_test_total', help: 'a test counter', registers: [registry] }).inc(2);
    const server = await startProbeServer({
      port: 0,
      registry,
      tls: { cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) },
      authorizeMetrics: delegatedAuthorizer(client),
    });
    try {
      expect(server.url).toMatch(/^https:\/\//);
      const allowed = (await kubectlOk(['-n', ns, 'create', 'token', 'prometheus'])).trim();
      const stranger = (await kubectlOk(['-n', ns, 'create', 'token', 'stranger'])).trim();
      expect((await get(server.url)).status).toBe(401);
      expect((await get(server.url, 'not-a-token')).status).toBe(401);
      expect((await get(server.url, stranger)).status).toBe(403);
      const ok = await get(server.url, allowed);
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('pt_secure_test_total 2');
    } finally {
      await server.close();
    }
  });
});
