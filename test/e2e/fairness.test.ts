// One tenant's Databricks host that answers slowly or never must not hold up another tenant's objects: the
// reviewer's repro (a tenant controlling a workspace host) made another namespace's workspace wait 52 s for Ready
// and its endpoint 1 m 56 s, each reconcile on the silent host holding one of the --concurrency workers until
// --databricks-timeout (20 s, the default, kept here).
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, type Socket, type Server, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { applyOk, ensureNamespace, eventually, kubectlOk, uniqueNamespace } from '../support/cluster.js';
import { TEST_PAT, condition, endpointManifest, isReady, startE2E } from './harness.js';

let e2e: Awaited<ReturnType<typeof startE2E>>;
/** Tenant B; tenant A is e2e.namespace. */
let nsB: string;

beforeAll(async () => {
  nsB = uniqueNamespace('e2e-fair-b');
  await ensureNamespace(nsB);
  e2e = await startE2E({ prefix: 'e2e-fair', startOperator: false, scenario: { auth: { pats: [TEST_PAT] } } });
  e2e.startOperator([`--namespaces=${e2e.namespace},${nsB}`, '--concurrency=4']);
  for (const namespace of [e2e.namespace, nsB]) {
    await kubectlOk(['--namespace', namespace, 'create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${TEST_PAT}`]);
  }
});

afterAll(async () => {
  await e2e?.stop();
  await kubectlOk(['delete', 'namespace', nsB, '--wait=false', '--ignore-not-found']).catch(() => undefined);
});

function workspace(name: string, host: string): object {
  return {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { name },
    spec: { host, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
  };
}

const readyReason = (o: Record<string, unknown>) => condition(o, 'Ready')?.reason;

async function waitInB(kind: string, name: string, ok: (o: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const obj = JSON.parse(await kubectlOk(['--namespace', nsB, 'get', kind, name, '-o', 'json'])) as Record<string, unknown>;
      if (!ok(obj)) throw new Error(`${kind}/${name} in ${nsB}: ${JSON.stringify(obj['status'])}`);
      return obj;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('a tenant whose Databricks host never answers', () => {
  it("12 of its workspaces verifying at once do not delay another namespace's workspace", async (context) => {
    const open = new Set<Socket>();
    const silent = createServer((socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    const host = await listen(silent);
    // Names of this attempt's own: a retry would find the first attempt's "good" Ready already (no evidence) and its
    // hanging workspaces still being deleted.
    const names = Array.from({ length: 12 }, (_, i) => attemptName(context, `hang-${i}`));
    const good = attemptName(context, 'good');
    try {
      await e2e.apply(names.map((name) => workspace(name, host)));
      // Evidence that the silent host holds verifications: every worker's worth of connections open.
      await eventually(
        async () => {
          if (open.size < 4) throw new Error(`${open.size} verification(s) in flight`);
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      const hangingWhenApplied = [...open];
      const appliedAt = Date.now();
      await applyOk(workspace(good, e2e.emulator.url), { namespace: nsB });
      // Before the fix: 20 s at least (a worker freed only when a hanging verification timed out).
      await waitInB('dbws', good, (o) => readyReason(o) === 'Authenticated', 20_000);
      // The evidence: every verification that hung when "good" was applied still hangs (none timed out and gave its
      // worker back), so "good" did not wait for one. The clock bound is loose (a loaded CI machine) but below the
      // 20 s --databricks-timeout.
      expect(hangingWhenApplied.filter((socket) => !open.has(socket))).toEqual([]);
      expect(Date.now() - appliedAt).toBeLessThan(15_000);
    } finally {
      for (const socket of open) socket.destroy();
      silent.close();
      await e2e.kubectl(['delete', 'dbws', ...names, '--wait=false', '--ignore-not-found']);
    }
  });

  it("12 of its endpoints on a host that answers only the endpoint list do not delay another namespace's endpoint", async (context) => {
    const hanging = new Set<ServerResponse>();
    // Answers the list (so the workspace verifies: Ready) and nothing else.
    const partial = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/api/2.0/serving-endpoints') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"endpoints":[]}');
        return;
      }
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
    });
    const host = await listen(partial);
    // Names of this attempt's own: a retry would find the first attempt's b1 Ready already (no evidence), and its
    // endpoints on the hostile host still being deleted.
    const names = Array.from({ length: 12 }, (_, i) => attemptName(context, `a-${i}`));
    const hostile = attemptName(context, 'hostile');
    const b1Name = attemptName(context, 'b1');
    try {
      await applyOk(workspace('good', e2e.emulator.url), { namespace: nsB });
      await waitInB('dbws', 'good', (o) => readyReason(o) === 'Authenticated', 20_000);
      await e2e.apply(workspace(hostile, host));
      await e2e.waitUntil('dbws', hostile, (o) => readyReason(o) === 'Authenticated', 20_000);
      await e2e.apply(names.map((name) => endpointManifest(name, { workspaceRef: { name: hostile } })));
      // Evidence that the host holds them: a call it does not answer (the model's optimization info, read once for
      // all 12, or their endpoints).
      await eventually(
        async () => {
          if (hanging.size < 1) throw new Error('no call hanging yet');
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      const hangingWhenApplied = [...hanging];
      const appliedAt = Date.now();
      await applyOk(endpointManifest(b1Name, { workspaceRef: { name: 'good' } }), { namespace: nsB });
      // Before the fix: 1 m 56 s in the reviewer's repro. Ready while the hostile host's calls still hang, and
      // sooner than one of them times out (--databricks-timeout, 20 s).
      const b1 = await waitInB('pte', b1Name, isReady, 60_000);
      expect(hangingWhenApplied.filter((res) => !hanging.has(res))).toEqual([]);
      // Timed by the operator's own Ready (its lastTransitionTime, whole seconds), not by this test's kubectl polling,
      // which a loaded machine slows down.
      const readySince = (b1['status'] as { conditions: { type: string; lastTransitionTime: string }[] }).conditions.find((c) => c.type === 'Ready')!.lastTransitionTime;
      expect(Date.parse(readySince) - appliedAt, 'from b1 applied to Ready (ms)').toBeLessThan(15_000);
    } finally {
      for (const res of hanging) res.destroy();
      partial.close();
      await e2e.kubectl(['delete', 'pte', ...names, '--wait=false', '--ignore-not-found']);
    }
  });
});
