// --ca-bundle over real TLS: a workspace whose certificate a private CA signed (or a TLS-inspecting proxy re-signed),
// reached directly and through an https:// forward proxy with a certificate of that CA. Without the bundle the call
// fails saying the certificate is not trusted and how to trust it; with it, the call goes through; a bundle changed on
// disk (as the kubelet updates a ConfigMap) is used by new connections without a new transport.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrustedCertificates } from '../../../src/databricks/ca-bundle.js';
import { HttpTransport } from '../../../src/databricks/transport.js';
import { proxyFromEnvironment } from '../../../src/databricks/proxy.js';
import { watchTrustedCertificates } from '../../../src/controllers/ca-bundle.js';
import { runImportCli } from '../../../src/import/cli.js';
import { createLogger } from '../../../src/observability/logger.js';
import { type ConnectProxy, startConnectProxy } from '../../support/connect-proxy.js';
import { writeSecretVolume } from '../../support/secret-volume.js';
import { createTestCa, type TestCa } from '../../support/test-ca.js';
import { json, startLocalServer, type LocalServer } from './local-server.js';
import { PAT, failure, testClient } from './support.js';

const ENDPOINT = { name: 'llama-chat', id: '88fd3f75a0d24b0380ddc40484d7a31b', state: { ready: 'READY', config_update: 'NOT_UPDATING' } };

let corporate: TestCa;
let other: TestCa;
let workspace: LocalServer;
let proxy: ConnectProxy;
let dir: string;
/** a file holding the corporate CA's certificate, as --ca-bundle names it */
let bundle: string;
const transports: HttpTransport[] = [];

beforeAll(async () => {
  corporate = createTestCa('Corp Inspection CA');
  other = createTestCa('Some Other CA');
  workspace = await startLocalServer({ tls: corporate.issue(['127.0.0.1', 'localhost']) });
  proxy = await startConnectProxy({ tls: corporate.issue(['127.0.0.1'], 'proxy.corp') });
  dir = mkdtempSync(join(tmpdir(), 'pt-ca-bundle-'));
  bundle = join(dir, 'corp.pem');
  writeFileSync(bundle, corporate.certificate);
});

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await proxy.close();
  await workspace.close();
  corporate.remove();
  other.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** A transport trusting `trust` (none: Node's defaults), through the https:// proxy when `viaProxy`. */
function transport(trust: TrustedCertificates | undefined, viaProxy = false): HttpTransport {
  const made = new HttpTransport({ ...(trust && { trust }), ...(viaProxy && { proxy: proxyFromEnvironment({ HTTPS_PROXY: proxy.url }) }) });
  transports.push(made);
  return made;
}

const trustOf = (file: string) => new TrustedCertificates({ file, source: '--ca-bundle (CA_BUNDLE)' });

describe('a workspace whose certificate a private CA signed', () => {
  it('without --ca-bundle: the call fails as untrusted, nothing is sent, and the message says to give the CA with --ca-bundle', async () => {
    workspace.script(json(200, ENDPOINT));
    const err = await failure(testClient(workspace.url, transport(undefined), { retryDeadlineMs: 500 }).getEndpoint('llama-chat'));
    expect(err.kind).toBe('Transient');
    expect(err.errorCode).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(err.requestMaybeSent).toBe(false);
    expect(err.message).toMatch(/the TLS certificate of the host \(or of the https:\/\/ proxy\) is not trusted; nothing was sent\. If a TLS-inspecting proxy or a private CA signs it, trust that CA's certificate \(PEM\) with --ca-bundle \(CA_BUNDLE; chart value caBundle\)/);
    expect(workspace.requests).toHaveLength(0);
  });

  it('with --ca-bundle holding the CA: the call goes through', async () => {
    workspace.script(json(200, ENDPOINT));
    const got = await testClient(workspace.url, transport(trustOf(bundle))).getEndpoint('llama-chat');
    expect(got.name).toBe('llama-chat');
    expect(workspace.requests.map((r) => r.headers['authorization'])).toEqual([`Bearer ${PAT}`]);
  });

  it('with a bundle of another CA only: still untrusted (the bundle adds trust, it does not switch verification off)', async () => {
    const file = join(dir, 'other.pem');
    writeFileSync(file, other.certificate);
    workspace.script(json(200, ENDPOINT));
    const err = await failure(testClient(workspace.url, transport(trustOf(file)), { retryDeadlineMs: 500 }).getEndpoint('llama-chat'));
    expect(err.message).toContain('is not trusted');
    expect(workspace.requests).toHaveLength(0);
  });
});

describe('through an https:// forward proxy whose certificate the same CA signed', () => {
  it('without --ca-bundle: the TLS to the proxy fails as untrusted, with the same advice; the proxy tunnels nothing', async () => {
    const before = proxy.tunnels.length;
    workspace.script(json(200, ENDPOINT));
    const err = await failure(testClient(workspace.url, transport(undefined, true), { retryDeadlineMs: 500 }).getEndpoint('llama-chat'));
    expect(err.message).toContain('is not trusted; nothing was sent. If a TLS-inspecting proxy or a private CA signs it, trust that CA');
    expect(err.requestMaybeSent).toBe(false);
    expect(proxy.tunnels.length).toBe(before);
    expect(workspace.requests).toHaveLength(0);
  });

  it('with --ca-bundle: the proxy (proxyTls) and the workspace through its tunnel (requestTls) are both trusted', async () => {
    const before = proxy.tunnels.length;
    workspace.script(json(200, ENDPOINT));
    const got = await testClient(workspace.url, transport(trustOf(bundle), true)).getEndpoint('llama-chat');
    expect(got.name).toBe('llama-chat');
    expect(proxy.tunnels.slice(before)).toEqual([{ target: new URL(workspace.url).host, allowed: true }]);
    expect(workspace.requests).toHaveLength(1);
  });
});

describe('a bundle that changes on disk (a ConfigMap the kubelet updates)', () => {
  it('new connections trust the new certificates, seen by the watch, with the same transport and no restart', async () => {
    const volume = mkdtempSync(join(dir, 'volume-'));
    writeSecretVolume(volume, { 'ca.crt': other.certificate });
    const trust = trustOf(join(volume, 'ca.crt'));
    const shared = transport(trust);
    const client = testClient(workspace.url, shared, { retryDeadlineMs: 500 });
    workspace.script(json(200, ENDPOINT));
    expect((await failure(client.getEndpoint('llama-chat'))).message).toContain('is not trusted');

    const log = createLogger({ level: 'fatal' });
    const changed = new Promise<void>((resolve) => {
      const watcher = watchTrustedCertificates(trust, log, () => {
        watcher.close();
        resolve();
      });
    });
    writeSecretVolume(volume, { 'ca.crt': `${other.certificate}${corporate.certificate}` });
    await changed;
    expect(trust.extra.subjects).toEqual(['O=pt-operator tests, CN=Some Other CA', 'O=pt-operator tests, CN=Corp Inspection CA']);
    expect((await client.getEndpoint('llama-chat')).name).toBe('llama-chat');
  });

  it('a change nothing signals in the watched directory (the file a symlink to another place) is read at the next timed re-read', async () => {
    const elsewhere = mkdtempSync(join(dir, 'elsewhere-'));
    const volume = mkdtempSync(join(dir, 'volume-'));
    writeFileSync(join(elsewhere, 'ca.crt'), other.certificate);
    symlinkSync(join(elsewhere, 'ca.crt'), join(volume, 'ca.crt'));
    const trust = trustOf(join(volume, 'ca.crt'));
    const client = testClient(workspace.url, transport(trust), { retryDeadlineMs: 500 });
    let changes = 0;
    const watch = watchTrustedCertificates(trust, createLogger({ level: 'fatal' }), () => changes++, { rereadEveryMs: 100 });
    try {
      writeFileSync(join(elsewhere, 'ca.crt'), corporate.certificate);
      await expect.poll(() => changes, { timeout: 5_000 }).toBe(1);
      workspace.script(json(200, ENDPOINT));
      expect((await client.getEndpoint('llama-chat')).name).toBe('llama-chat');
    } finally {
      watch.close();
    }
  });

  it('a change to a file without a certificate keeps the certificates trusted so far (said once)', async () => {
    const volume = mkdtempSync(join(dir, 'volume-'));
    writeSecretVolume(volume, { 'ca.crt': corporate.certificate });
    const trust = trustOf(join(volume, 'ca.crt'));
    writeSecretVolume(volume, { 'ca.crt': 'not yet written\n' });
    expect(trust.reload()).toEqual({ changed: false, problem: `--ca-bundle (CA_BUNDLE) ${join(volume, 'ca.crt')}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)` });
    expect(trust.reload()).toEqual({ changed: false });
    workspace.script(json(200, ENDPOINT));
    expect((await testClient(workspace.url, transport(trust)).getEndpoint('llama-chat')).name).toBe('llama-chat');
  });
});

describe('pt-operator import behind the same CA', () => {
  const quietly = async <T>(run: () => Promise<T>): Promise<T> => {
    const [error, write] = [console.error, process.stdout.write.bind(process.stdout)];
    console.error = () => undefined;
    process.stdout.write = () => true;
    try {
      return await run();
    } finally {
      console.error = error;
      process.stdout.write = write;
    }
  };
  const importArgs = ['--host', '', '--namespace', 'ml', '--name', 'llama-chat'];
  const args = (extra: string[] = []) => [...importArgs.map((a) => (a === '' ? workspace.url : a)), '--timeout', '2s', ...extra];

  it('without --ca-bundle: stops with the untrusted-certificate advice', async () => {
    workspace.script(json(200, ENDPOINT));
    await expect(quietly(() => runImportCli(args(), { DATABRICKS_TOKEN: PAT }))).rejects.toThrow(/is not trusted.*--ca-bundle/);
    expect(workspace.requests).toHaveLength(0);
  });

  it.each([
    ['--ca-bundle', (file: string) => ({ argv: ['--ca-bundle', file], env: {} })],
    ['CA_BUNDLE', (file: string) => ({ argv: [], env: { CA_BUNDLE: file } })],
  ])('with %s: reads the workspace through it', async (_how, given) => {
    workspace.script(json(200, ENDPOINT), json(404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such model' }));
    const { argv, env } = given(bundle);
    await quietly(() => runImportCli(args(argv), { DATABRICKS_TOKEN: PAT, ...env }));
    expect(workspace.requests[0]?.url).toBe('/api/2.0/serving-endpoints/llama-chat');
  });

  it('a bundle that does not exist stops it before any call, naming the flag and the file', async () => {
    workspace.script(json(200, ENDPOINT));
    await expect(runImportCli(args(['--ca-bundle', join(dir, 'missing.pem')]), { DATABRICKS_TOKEN: PAT })).rejects.toThrow(
      `--ca-bundle (CA_BUNDLE) ${join(dir, 'missing.pem')}: no such file (is the ConfigMap or Secret mounted there?)`,
    );
    expect(workspace.requests).toHaveLength(0);
  });
});
