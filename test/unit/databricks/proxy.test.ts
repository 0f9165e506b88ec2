import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabricksError } from '../../../src/databricks/errors.js';
import { proxyFromEnvironment, proxyShownAs } from '../../../src/databricks/proxy.js';
import { HttpTransport } from '../../../src/databricks/transport.js';
import { type ConnectProxy, startConnectProxy } from '../../support/connect-proxy.js';

describe('proxyFromEnvironment', () => {
  it('reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY, upper case before lower case, and nothing when no proxy is set', () => {
    expect(proxyFromEnvironment({})).toBeUndefined();
    expect(proxyFromEnvironment({ NO_PROXY: 'x' })).toBeUndefined();
    expect(proxyFromEnvironment({ HTTPS_PROXY: 'http://p:3128', https_proxy: 'http://lower:1', no_proxy: '.corp' })).toEqual({
      httpsProxy: 'http://p:3128',
      noProxy: '.corp',
    });
    expect(proxyFromEnvironment({ http_proxy: 'http://lower:1' })).toEqual({ httpProxy: 'http://lower:1', noProxy: '' });
    // an empty value is unset, as in Go
    expect(proxyFromEnvironment({ HTTPS_PROXY: '', https_proxy: 'http://lower:1' })).toEqual({ httpsProxy: 'http://lower:1', noProxy: '' });
  });

  it('refuses a value that is no proxy URL, naming the variable and never its value', () => {
    for (const value of ['proxy.corp:3128', 'socks5://u:s3cret@p:1080', 'http://']) {
      let message = '';
      try {
        proxyFromEnvironment({ HTTPS_PROXY: value });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^HTTPS_PROXY is not a proxy URL/);
      expect(message).not.toContain('s3cret');
    }
  });

  it('shows the proxy as host and port only', () => {
    expect(proxyShownAs({ httpsProxy: 'http://ops:s3cret@p.corp:3128', noProxy: '.svc' })).toEqual({ httpsProxy: 'p.corp:3128', noProxy: '.svc' });
  });
});

describe('HttpTransport through a forward proxy', () => {
  let target: Server;
  let origin: string;
  let proxy: ConnectProxy;
  beforeAll(async () => {
    target = createServer((req, res) => res.end(`seen ${req.url} auth=${req.headers['authorization'] ?? ''}`));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
    proxy = await startConnectProxy({ credentials: 'ops:s3cret' });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => target.close(resolve));
  });
  const withCredentials = (password: string) => proxy.url.replace('http://', `http://ops:${password}@`);
  const get = (transport: HttpTransport) => transport.send(origin, { method: 'GET', path: '/api/2.0/serving-endpoints', headers: { Authorization: 'Bearer tok' }, timeoutMs: 5_000 });

  it('tunnels every call (CONNECT, even to an http:// host: the proxy never sees the token), with the proxy credentials', async () => {
    const transport = new HttpTransport({ proxy: { httpProxy: withCredentials('s3cret'), noProxy: '' } });
    const before = proxy.tunnels.length;
    try {
      expect((await get(transport)).bodyText).toBe('seen /api/2.0/serving-endpoints auth=Bearer tok');
    } finally {
      await transport.close();
    }
    expect(proxy.tunnels.slice(before)).toEqual([{ target: new URL(origin).host, allowed: true, authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` }]);
  });

  it('goes direct to a host NO_PROXY names', async () => {
    const transport = new HttpTransport({ proxy: { httpProxy: withCredentials('s3cret'), noProxy: 'localhost, 127.0.0.1' } });
    const before = proxy.tunnels.length;
    try {
      expect((await get(transport)).status).toBe(200);
    } finally {
      await transport.close();
    }
    expect(proxy.tunnels.length).toBe(before);
  });

  it('a proxy refusing the credentials (407) is an error that sent nothing, is not retried, and does not show the password', async () => {
    const transport = new HttpTransport({ proxy: { httpProxy: withCredentials('wrong-pass'), noProxy: '' } });
    let error: unknown;
    try {
      await get(transport);
    } catch (err) {
      error = err;
    } finally {
      await transport.close();
    }
    expect(error).toBeInstanceOf(DatabricksError);
    expect(error).toMatchObject({ errorCode: 'PROXY_CREDENTIALS_REFUSED', requestMaybeSent: false });
    expect(JSON.stringify({ message: (error as Error).message, ...(error as object) })).not.toContain('wrong-pass');
  });
});

describe('a loopback workspace host and a proxy on another machine', () => {
  // Through a proxy, a host is reached from the proxy's machine: 127.0.0.1 or localhost there is the proxy's own
  // loopback (its admin port, a service bound to it), which a tenant's workspace host must not name. The Terraform
  // provider and the Go SDK never send a loopback host to a proxy.
  const elsewhere = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  let target: Server;
  let port: number;
  let proxy: ConnectProxy;
  beforeAll(async () => {
    if (elsewhere === undefined) throw new Error('this test needs an IPv4 address besides loopback, for the proxy');
    target = createServer((req, res) => res.end(`seen ${req.url}`));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    port = (target.address() as { port: number }).port;
    proxy = await startConnectProxy({ listenOn: elsewhere });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => target.close(resolve));
  });

  it.each([
    ['http://127.0.0.1', () => `http://127.0.0.1:${port}`],
    ['https://localhost', () => `https://localhost:${port}`],
  ])('%s is reached directly, not through the proxy, whatever NO_PROXY says', async (_, origin) => {
    const transport = new HttpTransport({ proxy: { httpProxy: proxy.url, httpsProxy: proxy.url, noProxy: '' } });
    const before = proxy.tunnels.length;
    try {
      await transport.send(origin(), { method: 'GET', path: '/api/2.0/serving-endpoints', headers: { Authorization: 'Bearer tok' }, timeoutMs: 5_000 }).catch(() => undefined);
    } finally {
      await transport.close();
    }
    expect(proxy.tunnels.slice(before)).toEqual([]);
  });

  it('another host still goes through that proxy', async () => {
    const transport = new HttpTransport({ proxy: { httpProxy: proxy.url, httpsProxy: proxy.url, noProxy: '' } });
    const before = proxy.tunnels.length;
    try {
      await transport.send('https://adb-1.azuredatabricks.net', { method: 'GET', path: '/api/2.0/serving-endpoints', headers: {}, timeoutMs: 5_000 }).catch(() => undefined);
    } finally {
      await transport.close();
    }
    expect(proxy.tunnels.slice(before).map((t) => t.target)).toEqual(['adb-1.azuredatabricks.net:443']);
  });
});
