import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectionFromFile, defaultConnection, inClusterConnection, simpleKubeconfig } from '../../../src/kube/kubeconfig.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'main',
    contexts: [
      { name: 'other', context: { cluster: 'other', user: 'other' } },
      { name: 'main', context: { cluster: 'c', user: 'u' } },
    ],
    clusters: [
      { name: 'other', cluster: { server: 'https://wrong.example' } },
      { name: 'c', cluster },
    ],
    users: [
      { name: 'other', user: { token: 'wrong' } },
      { name: 'u', user },
    ],
  });
}

describe('kubeconfig: the connection of the current context', () => {
  it('a client certificate, inline: server, CA, certificate and key of the current context, no auth header', async () => {
    const conn = simpleKubeconfig(
      kubeconfig(
        { server: 'https://127.0.0.1:6443/', 'certificate-authority-data': b64('CA'), 'tls-server-name': 'kubernetes' },
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
      ),
      '/nowhere',
    )!;
    expect(conn.server).toBe('https://127.0.0.1:6443');
    expect(String(conn.tls.ca)).toBe('CA');
    expect(String(conn.tls.cert)).toBe('CERT');
    expect(String(conn.tls.key)).toBe('KEY');
    expect(conn.tls.servername).toBe('kubernetes');
    expect(conn.tls.rejectUnauthorized).toBeUndefined();
    expect(await conn.authHeaders()).toEqual({});
  });

  it('files named relative to the kubeconfig, a token file re-read on every refresh (rotation)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    writeFileSync(join(dir, 'ca.crt'), 'CA-FILE');
    writeFileSync(join(dir, 'token'), 'first\n');
    writeFileSync(join(dir, 'config'), kubeconfig({ server: 'https://api', 'certificate-authority': 'ca.crt', 'insecure-skip-tls-verify': true }, { tokenFile: 'token' }));
    const conn = await connectionFromFile(join(dir, 'config'));
    expect(String(conn.tls.ca)).toBe('CA-FILE');
    expect(conn.tls.rejectUnauthorized).toBe(false);
    expect(await conn.authHeaders()).toEqual({ Authorization: 'Bearer first' });
    writeFileSync(join(dir, 'token'), 'rotated\n');
    expect(await conn.authHeaders()).toEqual({ Authorization: 'Bearer rotated' });
  });

  it('a token wins over a token file; basic auth when there is neither', async () => {
    expect(await simpleKubeconfig(kubeconfig({ server: 'https://a' }, { token: 't', tokenFile: '/missing' }), '/')!.authHeaders()).toEqual({ Authorization: 'Bearer t' });
    expect(await simpleKubeconfig(kubeconfig({ server: 'https://a' }, { username: 'u', password: 'p' }), '/')!.authHeaders()).toEqual({
      Authorization: `Basic ${b64('u:p')}`,
    });
  });

  it('anything it does not read itself (exec plugin, auth provider, proxy) is left to client-node, never half-read', () => {
    expect(simpleKubeconfig(kubeconfig({ server: 'https://a' }, { exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1' } }), '/')).toBeUndefined();
    expect(simpleKubeconfig(kubeconfig({ server: 'https://a' }, { 'auth-provider': { name: 'oidc' } }), '/')).toBeUndefined();
    expect(simpleKubeconfig(kubeconfig({ server: 'https://a', 'proxy-url': 'http://proxy' }, { token: 't' }), '/')).toBeUndefined();
  });

  it('an exec plugin still works, through client-node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-exec' } });
    writeFileSync(join(dir, 'config'), kubeconfig({ server: 'https://a' }, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'echo', args: [credential], interactiveMode: 'Never' } }));
    const conn = await connectionFromFile(join(dir, 'config'));
    expect(conn.server).toBe('https://a');
    expect(await conn.authHeaders()).toEqual({ Authorization: 'Bearer from-exec' });
  });

  it('in a Pod: the service account token (re-read), its CA, and the service address (IPv6 in brackets)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(dir, 'token'), 'sa-token');
    writeFileSync(join(dir, 'ca.crt'), 'SA-CA');
    const conn = inClusterConnection({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    expect(conn.server).toBe('https://[fd00::1]:443');
    expect(String(conn.tls.ca)).toBe('SA-CA');
    expect(await conn.authHeaders()).toEqual({ Authorization: 'Bearer sa-token' });
    writeFileSync(join(dir, 'token'), 'sa-token-2');
    expect(await conn.authHeaders()).toEqual({ Authorization: 'Bearer sa-token-2' });
  });

  it('defaults: $KUBECONFIG first, then ~/.kube/config, then the service account', async () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    const sa = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(sa, 'token'), 'sa');
    writeFileSync(join(sa, 'ca.crt'), 'CA');
    const inPod = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect((await defaultConnection({ env: inPod, home, serviceAccountDir: sa })).server).toBe('https://10.0.0.1:443');
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), kubeconfig({ server: 'https://home' }, { token: 'h' }));
    expect((await defaultConnection({ env: inPod, home, serviceAccountDir: sa })).server).toBe('https://home');
    const explicit = join(home, 'explicit');
    writeFileSync(explicit, kubeconfig({ server: 'https://explicit' }, { token: 'e' }));
    expect((await defaultConnection({ env: { ...inPod, KUBECONFIG: explicit }, home, serviceAccountDir: sa })).server).toBe('https://explicit');
  });

  it('a $KUBECONFIG list skips files that do not exist, as kubectl does, and merges the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-list-'));
    const good = join(dir, 'good');
    writeFileSync(good, kubeconfig({ server: 'https://good' }, { token: 'g' }));
    const missing = join(dir, 'missing');
    for (const list of [`${good}:${missing}`, `${missing}:${good}`]) {
      expect((await defaultConnection({ env: { KUBECONFIG: list }, home: dir })).server).toBe('https://good');
    }
    // two files that exist, merged: the current context of the first names a cluster and user of the second
    const first = join(dir, 'first');
    writeFileSync(first, JSON.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'b', clusters: [], users: [], contexts: [] }));
    const second = join(dir, 'second');
    const secondConfig = { apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'b', cluster: { server: 'https://merged' } }], users: [{ name: 'b', user: { token: 'm' } }] };
    writeFileSync(second, JSON.stringify({ ...secondConfig, contexts: [{ name: 'b', context: { cluster: 'b', user: 'b' } }] }));
    const merged = await defaultConnection({ env: { KUBECONFIG: [first, missing, second].join(':') }, home: dir });
    expect(merged.server).toBe('https://merged');
    expect(await merged.authHeaders()).toEqual({ Authorization: 'Bearer m' });
  });

  // kubectl's rule for a list: the first file to set a value or a name wins (a later current-context or a cluster of
  // the same name does not replace it, nor is it an error).
  it('a $KUBECONFIG list: the first file to set the current context or a name wins, as with kubectl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-first-'));
    const config = (context: string, server: string, token: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': context,
        clusters: [{ name: 'shared', cluster: { server } }],
        users: [{ name: 'shared', user: { token } }],
        contexts: [{ name: context, context: { cluster: 'shared', user: 'shared' } }],
      });
    writeFileSync(join(dir, 'one'), config('one', 'https://one', 't1'));
    writeFileSync(join(dir, 'two'), config('two', 'https://two', 't2'));
    const connection = await defaultConnection({ env: { KUBECONFIG: `${join(dir, 'one')}:${join(dir, 'two')}` }, home: dir });
    expect(connection.server).toBe('https://one');
    expect(await connection.authHeaders()).toEqual({ Authorization: 'Bearer t1' });
  });

  it('a $KUBECONFIG that names no file that exists is a clear error naming the variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-none-'));
    await expect(defaultConnection({ env: { KUBECONFIG: `${dir}/a:${dir}/b` }, home: dir })).rejects.toThrow(
      `KUBECONFIG (or --kubeconfig) names no file that exists: ${dir}/a, ${dir}/b`,
    );
    await expect(defaultConnection({ env: { KUBECONFIG: `${dir}/a` }, home: dir })).rejects.toThrow(/KUBECONFIG \(or --kubeconfig\) names no file that exists/);
  });

  it('the operator does not load @kubernetes/client-node for these set-ups (it costs ~80 MiB of RSS)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    writeFileSync(join(dir, 'config'), kubeconfig({ server: 'https://127.0.0.1:1', 'certificate-authority-data': b64('CA') }, { token: 't' }));
    // A child process that loads the operator's whole `run` command and a client, then lists every module it loaded.
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
      await import('./src/controllers/run.ts');
      const { KubeClient } = await import('./src/kube/client.ts');
      await (await KubeClient.fromFile(${JSON.stringify(join(dir, 'config'))})).close();
      console.log(JSON.stringify(loaded.filter((u) => u.includes('@kubernetes/client-node'))));`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../../..'), encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual([]);
  }, 30_000);
});
