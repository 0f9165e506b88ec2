import { describe, expect, it } from 'vitest';
import { ReferencedSecrets } from '../../../../src/controllers/workspace/secrets.js';
import { KubeApiError } from '../../../../src/kube/errors.js';
import type { KubeObject, ResourceType } from '../../../../src/kube/types.js';

/** A GET-only client: the only call ReferencedSecrets may make (the chart grants nothing else on Secrets). */
function client(secrets: Record<string, KubeObject & { data?: Record<string, string> }>) {
  const calls: string[] = [];
  return {
    calls,
    get: async <T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string): Promise<T> => {
      calls.push(`GET ${rt.plural} ${namespace}/${name}`);
      const found = secrets[`${namespace}/${name}`];
      if (!found) throw new KubeApiError(404, 'NotFound', `secrets "${name}" not found`);
      return found as unknown as T;
    },
  };
}

describe('ReferencedSecrets (issue 11, finding 9)', () => {
  it('reads one named Secret with a GET and keeps only its type, data and resourceVersion', async () => {
    const api = client({ 'ml/dbx-pat': { metadata: { name: 'dbx-pat', namespace: 'ml', resourceVersion: '7', annotations: { big: 'x' } }, type: 'Opaque', data: { token: 'ZGFwaQ==' } } as KubeObject });
    const secrets = new ReferencedSecrets(api);
    expect(secrets.get('ml/dbx-pat')).toBeUndefined();
    await secrets.refresh('ml', 'dbx-pat', ['token']);
    expect(api.calls).toEqual(['GET secrets ml/dbx-pat']);
    expect(secrets.get('ml/dbx-pat')).toEqual({ metadata: { name: 'dbx-pat', namespace: 'ml', resourceVersion: '7' }, type: 'Opaque', data: { token: 'ZGFwaQ==' } });
  });

  it('forgets a Secret that is gone, and on request', async () => {
    const store: Record<string, KubeObject> = { 'ml/a': { metadata: { name: 'a', namespace: 'ml', resourceVersion: '1' } } };
    const secrets = new ReferencedSecrets(client(store));
    await secrets.refresh('ml', 'a', ['token']);
    delete store['ml/a'];
    await secrets.refresh('ml', 'a', ['token']);
    expect(secrets.get('ml/a')).toBeUndefined();
    store['ml/a'] = { metadata: { name: 'a', namespace: 'ml', resourceVersion: '2' } };
    await secrets.refresh('ml', 'a', ['token']);
    secrets.forget('ml', 'a');
    expect(secrets.get('ml/a')).toBeUndefined();
  });

  // After a restart nothing has been read: "not read yet" is not "missing". readOnce reads a Secret the first time
  // it is asked for (one GET however many ask at once), and never again: later reads are the workspace's verifications.
  it('readOnce: one GET for concurrent first asks, none after, for a Secret present or missing', async () => {
    const api = client({ 'ml/dbx-pat': { metadata: { name: 'dbx-pat', namespace: 'ml', resourceVersion: '7' }, data: { token: 'ZGFwaQ==' } } });
    const secrets = new ReferencedSecrets(api);
    await Promise.all([secrets.readOnce('ml', 'dbx-pat', ['token']), secrets.readOnce('ml', 'dbx-pat', ['token']), secrets.readOnce('ml', 'dbx-pat', ['token'])]);
    await secrets.readOnce('ml', 'dbx-pat', ['token']);
    await secrets.readOnce('ml', 'absent', ['token']);
    await secrets.readOnce('ml', 'absent', ['token']);
    expect(api.calls).toEqual(['GET secrets ml/dbx-pat', 'GET secrets ml/absent']);
    expect(secrets.get('ml/dbx-pat')?.data).toEqual({ token: 'ZGFwaQ==' });
    expect(secrets.get('ml/absent')).toBeUndefined();
  });

  // Two workspaces may name keys of one Secret (a PAT per workspace in one Secret). After a restart their first reads
  // come together: the second asker's key was not kept, and its endpoints were told the Secret has no such key.
  it('readOnce: concurrent first asks for different keys of one Secret keep every key asked for', async () => {
    const data = { 'token-prod': 'ZGFwaTE=', 'token-dev': 'ZGFwaTI=' };
    const api = client({ 'ml/pats': { metadata: { name: 'pats', namespace: 'ml', resourceVersion: '7' }, data } });
    const secrets = new ReferencedSecrets(api);
    await Promise.all([secrets.readOnce('ml', 'pats', ['token-prod']), secrets.readOnce('ml', 'pats', ['token-dev'])]);
    expect(secrets.get('ml/pats')?.data).toEqual(data);
  });

  // A workspace tenant names any Secret of its namespace, up to 1 MiB (the API server's limit), and may create as many
  // workspaces and Secrets as its quota allows: each small workspace object had the operator hold a whole Secret, a
  // thousand of them a gigabyte, past the chart's 512 MiB limit, for every tenant.
  it('keeps only the keys workspaces name, each at most 16 KiB: a Secret of 1 MiB costs no more than its credential', async () => {
    const big = Buffer.alloc(600 * 1024, 'a').toString('base64');
    const api = client({ 'ml/dbx': { metadata: { name: 'dbx', namespace: 'ml', resourceVersion: '3' }, data: { token: 'ZGFwaQ==', 'ca.crt': big, 'huge-token': big } } });
    const secrets = new ReferencedSecrets(api);
    await secrets.refresh('ml', 'dbx', ['token']);
    expect(secrets.get('ml/dbx')?.data).toEqual({ token: 'ZGFwaQ==' });
    // another workspace names another key of the same Secret: both are kept, the big one only as too large
    await secrets.refresh('ml', 'dbx', ['huge-token']);
    expect(secrets.get('ml/dbx')).toMatchObject({ data: { token: 'ZGFwaQ==' }, tooLarge: ['huge-token'] });
    expect(JSON.stringify(secrets.get('ml/dbx')).length).toBeLessThan(1024);
  });

  it('passes other errors on (a 403 is not "the Secret is missing")', async () => {
    const secrets = new ReferencedSecrets({ get: async () => Promise.reject(new KubeApiError(403, 'Forbidden', 'forbidden')) });
    await expect(secrets.refresh('ml', 'a', ['token'])).rejects.toThrow('forbidden');
  });
});
