// The default workspace by namespace label (--default-workspace-namespace-selector): the chart's extra
// namespace-reader RBAC is applied only for this file, and the operator runs with no namespace list at all.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyOk, canI, eventually, kubectlOk, renderChart } from '../support/cluster.js';
import { condition, endpointManifest, startE2E } from './harness.js';

const LABEL = 'ptoperator.io/default-workspace';
const SELECTOR = `${LABEL}=allowed`;

let e2e: Awaited<ReturnType<typeof startE2E>>;
let namespaceReader: string;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-tensel', startOperator: false });
  // The default chart grants no access to Namespaces; the selector value adds exactly get/list/watch. (Eventually:
  // a retry follows the failed attempt's removal of the grant, which the authorizer may not have seen yet.)
  await eventually(async () => expect(await canI('list', 'namespaces', { as: 'operator' })).toBe(false), { timeoutMs: 10_000 });
  namespaceReader = await renderChart({ values: { defaultWorkspace: { host: 'https://adb-1.1.azuredatabricks.net', existingSecret: 'dbx-pat', allowedNamespaceSelector: SELECTOR } }, showOnly: ['templates/namespace-reader-rbac.yaml'] });
  await applyOk(namespaceReader);
  expect(await canI('list', 'namespaces', { as: 'operator' })).toBe(true);
  expect(await canI('delete', 'namespaces', { as: 'operator' })).toBe(false);
  e2e.startOperator(['--default-workspace-namespaces=', `--default-workspace-namespace-selector=${SELECTOR}`]);
});

afterEach(async () => {
  await e2e?.stop();
  if (namespaceReader) await kubectlOk(['delete', '--ignore-not-found', '-f', '-'], { input: namespaceReader });
});

const synced = (o: Record<string, unknown>) => condition(o, 'Synced');

describe('default workspace by namespace label', () => {
  it('an unlabelled namespace is refused without a call; labelling it lets the endpoint through; unlabelling refuses it again', async () => {
    await e2e.apply(endpointManifest('by-label', { endpointName: 'by-label-llama' }));
    const refused = await e2e.waitUntil('pte', 'by-label', (o) => synced(o) !== undefined);
    expect(synced(refused)).toMatchObject({ status: 'False', reason: 'DefaultWorkspaceNotAllowed' });
    expect(synced(refused)?.message).toContain('--default-workspace-namespace-selector');
    // None for the endpoint: the only call is the leader's own at start, who the default workspace's credentials
    // stand for (SCIM Me, logged for the platform team), which no tenant can cause.
    const calls = async () => ((await (await fetch(new URL('/__emulator/calls', e2e.emulator.url))).json()) as { calls: { operation: string }[] }).calls;
    expect((await calls()).filter((call) => call.operation !== 'currentUser')).toEqual([]);
    expect((await calls()).filter((call) => call.operation === 'currentUser').length).toBeLessThanOrEqual(1);

    await kubectlOk(['label', 'namespace', e2e.namespace, `${LABEL}=allowed`]);
    await e2e.kubectl(['wait', 'pte/by-label', '--for=condition=Ready', '--timeout=90s']);

    await kubectlOk(['label', 'namespace', e2e.namespace, `${LABEL}-`]);
    const again = await e2e.waitUntil('pte', 'by-label', (o) => synced(o)?.reason === 'DefaultWorkspaceNotAllowed');
    expect(synced(again)?.status).toBe('False');
    // Nothing was deleted: the endpoint keeps serving in Databricks.
    const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: { name: string }[] };
    expect(state.endpoints.map((e) => e.name)).toContain('by-label-llama');
  });
});
