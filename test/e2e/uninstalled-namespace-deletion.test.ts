// After `helm uninstall` (the operator gone, the CRDs and objects kept, docs/upgrade.md), a platform team deletes a
// tenant's namespace. Its objects carry the operator's finalizers, which nobody removes any more, so the namespace
// stays Terminating. docs/troubleshooting.md must say how to get out of that; this test runs the commands it gives,
// as a user would paste them, and checks what they promise: the namespace goes, the Databricks endpoint stays.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cluster, eventually, kubectl, repoRoot, run } from '../support/cluster.js';
import { type E2E, TEST_PAT, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

const HEADING = '## A namespace or object stays Terminating after the operator was uninstalled';

let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-uninstalled' });
});

afterEach(async () => {
  await e2e?.stop();
});

/** The first shell block under the heading, with `<namespace>` filled in. */
function documentedCommands(namespace: string): string {
  const doc = readFileSync(join(repoRoot, 'docs/troubleshooting.md'), 'utf8');
  const section = doc.split(HEADING)[1];
  if (section === undefined) throw new Error(`docs/troubleshooting.md has no section "${HEADING}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(section.split(/^## /m)[0]!);
  if (!block) throw new Error('the section gives no sh block');
  return block[1]!.replaceAll('<namespace>', namespace);
}

describe('a namespace deleted after the operator was uninstalled', () => {
  it('stays Terminating on the finalizers; the documented commands let it go and leave the endpoint running', async () => {
    await e2e.kubectl(['create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${TEST_PAT}`]);
    await e2e.apply({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { name: 'prod' },
      spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
    });
    await e2e.apply(endpointManifest('left-behind', { workspaceRef: { name: 'prod' } }));
    await e2e.waitUntil('pte', 'left-behind', isReady, 90_000);
    await e2e.operator.stop(); // helm uninstall

    await kubectl(['delete', 'namespace', e2e.namespace, '--wait=false']);
    // The namespace controller has deleted what it could and waits for the operator's finalizers.
    await eventually(
      async () => {
        const ns = JSON.parse((await kubectl(['get', 'namespace', e2e.namespace, '-o', 'json'])).stdout) as { status: { conditions?: { type: string; status: string; message: string }[] } };
        const remaining = ns.status.conditions?.find((c) => c.type === 'NamespaceFinalizersRemaining');
        expect(remaining?.status).toBe('True');
        expect(remaining?.message).toContain('serving.ptoperator.io/endpoint');
      },
      { timeoutMs: 60_000 },
    );

    // kubectl on PATH as the user has it: the test cluster's binary and admin kubeconfig.
    const env = { ...process.env, PATH: `${join(cluster().kubectl, '..')}:${process.env.PATH ?? ''}`, KUBECONFIG: cluster().kubeconfigAdmin };
    const result = await run('bash', ['-euo', 'pipefail', '-c', documentedCommands(e2e.namespace)], { env });
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.exitCode).toBe(0);
    await eventually(async () => expect((await kubectl(['get', 'namespace', e2e.namespace])).exitCode).not.toBe(0), { timeoutMs: 60_000 });

    const deletes = (await emulatorCalls(e2e.emulator.url)).filter((c) => c.method === 'DELETE');
    expect(deletes).toEqual([]);
    const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: { name: string }[] };
    expect(state.endpoints.map((e) => e.name)).toContain('left-behind');
  });
});
