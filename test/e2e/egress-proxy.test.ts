// A platform team whose cluster reaches the internet only through a forward proxy sets HTTPS_PROXY (and NO_PROXY)
// on the operator, as for every other client (the Terraform provider and the Databricks SDKs read them). Here the
// proxy is a CONNECT-only one that asks for credentials; the workspace is the emulator.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type ConnectProxy, startConnectProxy } from '../support/connect-proxy.js';
import { condition, endpointManifest, isReady, startE2E } from './harness.js';

const PROXY_PASSWORD = 'pr0xy-s3cret-9f2c';
let proxy: ConnectProxy;

beforeAll(async () => {
  proxy = await startConnectProxy({ credentials: `ops:${PROXY_PASSWORD}` });
});
afterAll(async () => {
  await proxy.close();
});

/** A namespace, emulator and operator of the test's own, the operator with `env`; stopped when the test ends. */
async function operatorBehindProxy(prefix: string, env: NodeJS.ProcessEnv) {
  const e2e = await startE2E({ prefix, operatorEnv: env });
  onTestFinished(() => e2e.stop());
  return e2e;
}

/** The proxy's URL with credentials, as a platform team writes it into HTTPS_PROXY. */
const proxyUrl = (password = PROXY_PASSWORD) => proxy.url.replace('http://', `http://ops:${password}@`);

describe('a forward proxy between the operator and Databricks', () => {
  it('HTTPS_PROXY/HTTP_PROXY set: every Databricks call goes through the proxy, with its credentials, and the endpoint gets Ready', async () => {
    const e2e = await operatorBehindProxy('e2e-proxy', { HTTPS_PROXY: proxyUrl(), HTTP_PROXY: proxyUrl(), NO_PROXY: '' });
    const emulatorHostPort = new URL(e2e.emulator.url).host;
    const before = proxy.tunnels.length;
    await e2e.apply([endpointManifest('via-proxy')]);
    await e2e.waitUntil('pte', 'via-proxy', isReady, 90_000);
    const tunnels = proxy.tunnels.slice(before).filter((t) => t.target === emulatorHostPort);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(tunnels.every((t) => t.allowed)).toBe(true);
    // the Kubernetes API server (on loopback too) is never reached through the proxy: only Databricks calls are
    expect(proxy.tunnels.slice(before).filter((t) => t.target !== emulatorHostPort)).toEqual([]);
    expect(e2e.operator.logs()).not.toContain(PROXY_PASSWORD);
  });

  it('NO_PROXY names the workspace host: its calls go direct', async () => {
    const e2e = await operatorBehindProxy('e2e-noproxy', { HTTPS_PROXY: proxyUrl(), HTTP_PROXY: proxyUrl(), NO_PROXY: 'localhost,127.0.0.1' });
    const emulatorHostPort = new URL(e2e.emulator.url).host;
    await e2e.apply([endpointManifest('direct')]);
    await e2e.waitUntil('pte', 'direct', isReady, 90_000);
    expect(proxy.tunnels.filter((t) => t.target === emulatorHostPort && t.allowed)).toHaveLength(0);
  });

  it('NO_PROXY names the workspace host by a CIDR range (as Go reads NO_PROXY): its calls go direct, past a proxy that takes every other host', async () => {
    const e2e = await operatorBehindProxy('e2e-noproxy-cidr', { HTTPS_PROXY: proxyUrl(), HTTP_PROXY: proxyUrl(), NO_PROXY: '10.0.0.0/8, 127.0.0.0/8' });
    const emulatorHostPort = new URL(e2e.emulator.url).host;
    await e2e.apply([endpointManifest('direct-cidr')]);
    await e2e.waitUntil('pte', 'direct-cidr', isReady, 90_000);
    expect(proxy.tunnels.filter((t) => t.target === emulatorHostPort)).toHaveLength(0);
  });

  it('the proxy refuses the credentials (407): the object says the proxy refused, without the password, and nothing reaches Databricks', async () => {
    const e2e = await operatorBehindProxy('e2e-proxy407', { HTTPS_PROXY: proxyUrl('wrong'), HTTP_PROXY: proxyUrl('wrong'), NO_PROXY: '' });
    await e2e.apply([endpointManifest('refused')]);
    const obj = await e2e.waitUntil('pte', 'refused', (o) => /proxy/i.test(condition(o, 'Ready')?.message ?? ''), 90_000);
    const message = condition(obj, 'Ready')?.message ?? '';
    expect(message).toMatch(/407/);
    expect(message).not.toContain('wrong');
    expect(e2e.operator.logs()).not.toContain(`ops:wrong@`);
    expect(e2e.emulator.emulator.calls.query()).toEqual([]);
  });
});
