import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabricksError } from '../../../src/databricks/errors.js';
import { proxyFor, proxyFromEnvironment, proxyShownAs } from '../../../src/databricks/proxy.js';
import { HttpTransport } from '../../../src/databricks/transport.js';
import { type ConnectProxy, startConnectProxy } from '../../support/connect-proxy.js';

// The Terraform provider and the Databricks Go SDK take their proxy from Go's net/http ProxyFromEnvironment, that is
// golang.org/x/net/http/httpproxy (proxy.go). Each row says what Go answers; "unlike Go" rows are our deliberate
// differences (docs/security.md, Forward proxy).
const WS = 'https://adb-1.2.azuredatabricks.net';
const PROXY = 'http://proxy.corp:3128';
const choice = (env: NodeJS.ProcessEnv, url: string) => {
  const settings = proxyFromEnvironment(env);
  return settings === undefined ? 'direct' : (proxyFor(new URL(url), settings) ?? 'direct');
};

describe('proxyFor: which proxy a call to a workspace takes', () => {
  it.each<[string, NodeJS.ProcessEnv, string, string]>([
    // which variable
    ['like Go: an https:// host takes HTTPS_PROXY', { HTTPS_PROXY: PROXY, HTTP_PROXY: 'http://other.corp:1' }, WS, 'http://proxy.corp:3128/'],
    ['like Go: an https:// host never takes HTTP_PROXY: HTTP_PROXY alone, it is reached directly', { HTTP_PROXY: PROXY }, WS, 'direct'],
    ['like Go: lower case https_proxy when HTTPS_PROXY is unset', { https_proxy: PROXY }, WS, 'http://proxy.corp:3128/'],
    ['like Go: HTTPS_PROXY before https_proxy', { HTTPS_PROXY: PROXY, https_proxy: 'http://lower.corp:1' }, WS, 'http://proxy.corp:3128/'],
    ['like Go: an empty HTTPS_PROXY is unset, https_proxy is read', { HTTPS_PROXY: '', https_proxy: PROXY }, WS, 'http://proxy.corp:3128/'],
    ['like Go: nothing set, direct', {}, WS, 'direct'],
    // the proxy's own URL
    ['like Go: a proxy without a scheme is http://', { HTTPS_PROXY: 'proxy.corp:3128' }, WS, 'http://proxy.corp:3128/'],
    ['like Go: an IP address and port without a scheme is http://', { HTTPS_PROXY: '10.9.8.7:3128' }, WS, 'http://10.9.8.7:3128/'],
    ['like Go: credentials without a scheme are kept', { HTTPS_PROXY: 'ops:pw@proxy.corp:3128' }, WS, 'http://ops:pw@proxy.corp:3128/'],
    ['like Go: an https:// proxy (TLS to the proxy)', { HTTPS_PROXY: 'https://proxy.corp:3129' }, WS, 'https://proxy.corp:3129/'],
    // NO_PROXY
    ['like Go: NO_PROXY * sends every host directly', { HTTPS_PROXY: PROXY, NO_PROXY: '*' }, WS, 'direct'],
    ['like Go: NO_PROXY * among other entries', { HTTPS_PROXY: PROXY, NO_PROXY: 'a.example, *' }, WS, 'direct'],
    ['like Go: lower case no_proxy when NO_PROXY is unset', { HTTPS_PROXY: PROXY, no_proxy: '*' }, WS, 'direct'],
    ['like Go: a domain matches its subdomains', { HTTPS_PROXY: PROXY, NO_PROXY: 'azuredatabricks.net' }, WS, 'direct'],
    ['like Go: a domain matches itself', { HTTPS_PROXY: PROXY, NO_PROXY: 'azuredatabricks.net' }, 'https://azuredatabricks.net', 'direct'],
    ['like Go: a domain matches whole labels only (databricks.net is not azuredatabricks.net)', { HTTPS_PROXY: PROXY, NO_PROXY: 'databricks.net' }, WS, 'http://proxy.corp:3128/'],
    ['like Go: a leading dot matches subdomains', { HTTPS_PROXY: PROXY, NO_PROXY: '.azuredatabricks.net' }, WS, 'direct'],
    ['like Go: a leading dot does not match the domain itself', { HTTPS_PROXY: PROXY, NO_PROXY: '.azuredatabricks.net' }, 'https://azuredatabricks.net', 'http://proxy.corp:3128/'],
    ['like Go: a leading *. is a leading dot', { HTTPS_PROXY: PROXY, NO_PROXY: '*.azuredatabricks.net' }, 'https://azuredatabricks.net', 'http://proxy.corp:3128/'],
    ['like Go: *. matches subdomains', { HTTPS_PROXY: PROXY, NO_PROXY: '*.azuredatabricks.net' }, WS, 'direct'],
    ['like Go: entries compare without case and with spaces trimmed', { HTTPS_PROXY: PROXY, NO_PROXY: ' x.example ,  ADB-1.2.AzureDatabricks.NET ' }, WS, 'direct'],
    ['like Go: empty entries are skipped', { HTTPS_PROXY: PROXY, NO_PROXY: ',, .azuredatabricks.net,' }, WS, 'direct'],
    ['like Go: an entry with :443 matches an https:// host without a port', { HTTPS_PROXY: PROXY, NO_PROXY: 'adb-1.2.azuredatabricks.net:443' }, WS, 'direct'],
    ['like Go: an entry with another port does not match', { HTTPS_PROXY: PROXY, NO_PROXY: '.azuredatabricks.net:8443' }, WS, 'http://proxy.corp:3128/'],
    ['like Go: an entry with the host port matches', { HTTPS_PROXY: PROXY, NO_PROXY: '.azuredatabricks.net:8443' }, `${WS}:8443`, 'direct'],
    ['like Go: an internationalised name matches its punycode host', { HTTPS_PROXY: PROXY, NO_PROXY: 'bücher.example' }, 'https://ws.xn--bcher-kva.example', 'direct'],
    ['like Go: an IP address matches that address', { HTTPS_PROXY: PROXY, NO_PROXY: '10.1.2.3' }, 'https://10.1.2.3', 'direct'],
    ['like Go: an IP address matches no other', { HTTPS_PROXY: PROXY, NO_PROXY: '10.1.2.3' }, 'https://10.1.2.4', 'http://proxy.corp:3128/'],
    ['like Go: an IP address with :port matches that port only', { HTTPS_PROXY: PROXY, NO_PROXY: '10.1.2.3:8443' }, 'https://10.1.2.3', 'http://proxy.corp:3128/'],
    ['like Go: an IPv6 address', { HTTPS_PROXY: PROXY, NO_PROXY: '2001:db8::7' }, 'https://[2001:db8::7]', 'direct'],
    ['like Go: an IPv6 address in brackets with :port', { HTTPS_PROXY: PROXY, NO_PROXY: '[2001:db8::7]:443' }, 'https://[2001:db8::7]', 'direct'],
    ['like Go: a CIDR range matches the addresses in it', { HTTPS_PROXY: PROXY, NO_PROXY: '10.0.0.0/8' }, 'https://10.200.3.4', 'direct'],
    ['like Go: a CIDR range matches whatever the port', { HTTPS_PROXY: PROXY, NO_PROXY: '10.0.0.0/8' }, 'https://10.200.3.4:8443', 'direct'],
    ['like Go: a CIDR range matches no address outside it', { HTTPS_PROXY: PROXY, NO_PROXY: '10.0.0.0/8' }, 'https://11.0.0.1', 'http://proxy.corp:3128/'],
    ['like Go: a CIDR range with host bits set is its network', { HTTPS_PROXY: PROXY, NO_PROXY: '192.168.7.1/16' }, 'https://192.168.200.1', 'direct'],
    ['like Go: an IPv6 CIDR range', { HTTPS_PROXY: PROXY, NO_PROXY: 'fd00::/8' }, 'https://[fd12:3456::1]', 'direct'],
    ['like Go: an IPv6 CIDR range matches no address outside it', { HTTPS_PROXY: PROXY, NO_PROXY: 'fd00::/8' }, 'https://[2001:db8::1]', 'http://proxy.corp:3128/'],
    ['like Go: a CIDR range never matches a name (nothing is resolved)', { HTTPS_PROXY: PROXY, NO_PROXY: '0.0.0.0/0' }, WS, 'http://proxy.corp:3128/'],
    ['like Go: a name never matches an IP address host', { HTTPS_PROXY: PROXY, NO_PROXY: 'azuredatabricks.net' }, 'https://10.1.2.3', 'http://proxy.corp:3128/'],
    // loopback hosts (the emulator)
    ['like Go: localhost is reached directly, not through a proxy on another machine', { HTTPS_PROXY: PROXY }, 'https://localhost:8443', 'direct'],
    ['like Go: 127.x.x.x is reached directly', { HTTPS_PROXY: PROXY }, 'https://127.0.0.2:8443', 'direct'],
    ['like Go: [::1] is reached directly', { HTTPS_PROXY: PROXY }, 'https://[::1]:8443', 'direct'],
    ['like Go: an http:// loopback host with HTTPS_PROXY only is reached directly', { HTTPS_PROXY: 'http://127.0.0.1:3128' }, 'http://127.0.0.1:8080', 'direct'],
    ['unlike Go: a proxy on loopback (a sidecar) gets a loopback host', { HTTPS_PROXY: 'http://127.0.0.1:3128' }, 'https://localhost:8443', 'http://127.0.0.1:3128/'],
    ['unlike Go: an http:// loopback host takes HTTP_PROXY on loopback, never HTTPS_PROXY', { HTTPS_PROXY: 'http://127.0.0.1:3128', HTTP_PROXY: 'http://127.0.0.1:3129' }, 'http://127.0.0.1:8080', 'http://127.0.0.1:3129/'],
    ['like Go: NO_PROXY still sends a loopback host directly past a proxy on loopback', { HTTPS_PROXY: 'http://127.0.0.1:3128', NO_PROXY: '127.0.0.0/8' }, 'https://127.0.0.1:8443', 'direct'],
    ['unlike Go: a name under .localhost is loopback too', { HTTPS_PROXY: PROXY }, 'https://ws.localhost:8443', 'direct'],
    ['like Go: [::ffff:127.0.0.1] (IPv4-mapped loopback) is reached directly', { HTTPS_PROXY: PROXY }, 'https://[::ffff:127.0.0.1]:8443', 'direct'],
    ['like Go: 127.1 (a short IPv4 form URL reads as 127.0.0.1) is reached directly', { HTTPS_PROXY: PROXY }, 'https://127.1:8443', 'direct'],
    // A connection to the unspecified address reaches the connecting machine's own loopback (Linux), so through a proxy
    // on another machine it names the proxy's loopback as 127.0.0.1 does. Go sends it through the proxy.
    ['unlike Go: 0.0.0.0 (the proxy machine\'s own loopback when connected to) is reached directly', { HTTPS_PROXY: PROXY }, 'https://0.0.0.0:8443', 'direct'],
    ['unlike Go: [::] is reached directly', { HTTPS_PROXY: PROXY }, 'https://[::]:8443', 'direct'],
    ['unlike Go: [::ffff:0.0.0.0] is reached directly', { HTTPS_PROXY: PROXY }, 'https://[::ffff:0.0.0.0]:8443', 'direct'],
    ['unlike Go: 0 (0.0.0.0 as URL reads it) is reached directly', { HTTPS_PROXY: PROXY }, 'https://0:8443', 'direct'],
    ['unlike Go: a proxy on loopback (a sidecar) gets 0.0.0.0 too', { HTTPS_PROXY: 'http://127.0.0.1:3128' }, 'https://0.0.0.0:8443', 'http://127.0.0.1:3128/'],
    ['like Go: 0.0.0.1 is no loopback: the proxy', { HTTPS_PROXY: PROXY }, 'https://0.0.0.1:8443', 'http://proxy.corp:3128/'],
  ])('%s', (_, env, url, expected) => {
    expect(choice(env, url)).toBe(expected);
  });
});

describe('proxyFromEnvironment refuses at start what it cannot honour, naming the variable, never a credential', () => {
  const refusal = (env: NodeJS.ProcessEnv): string => {
    try {
      proxyFromEnvironment(env);
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ['unlike Go (which supports it): a SOCKS5 proxy', { HTTPS_PROXY: 'socks5://ops:s3cret@p.corp:1080' }, /^HTTPS_PROXY names a SOCKS proxy \(socks5:\/\/\), which pt-operator does not support: .*http:\/\//],
    ['unlike Go (which supports it): a socks5h proxy', { https_proxy: 'socks5h://ops:s3cret@p.corp:1080' }, /^https_proxy names a SOCKS proxy \(socks5h:\/\/\)/],
    ['unlike Go (which fails each call): another scheme', { HTTPS_PROXY: 'ftp://ops:s3cret@p.corp:21' }, /^HTTPS_PROXY is not a proxy URL: .*http:\/\/host:port/],
    ['unlike Go (which ignores it): no host', { HTTPS_PROXY: 'http://' }, /^HTTPS_PROXY is not a proxy URL/],
    ['unlike Go (which ignores it): an unparsable URL', { HTTP_PROXY: 'http://ops:s3cret@[proxy.corp' }, /^HTTP_PROXY is not a proxy URL/],
    ['unlike Go (which ignores it): a bad escape in the credentials', { HTTPS_PROXY: 'http://ops:s3cret%zz@proxy.corp:3128' }, /^HTTPS_PROXY is not a proxy URL/],
    ['unlike Go (which ignores it): a CIDR range that is none', { HTTPS_PROXY: PROXY, NO_PROXY: '.svc, 10.0.0.0/33' }, /^NO_PROXY entry "10.0.0.0\/33" is not understood: /],
    ['unlike Go (which ignores it): an address that is none', { HTTPS_PROXY: PROXY, NO_PROXY: '10.0.0.256' }, /^NO_PROXY entry "10.0.0.256" is not understood/],
    ['unlike Go (which ignores it): entries separated by spaces, not commas', { HTTPS_PROXY: PROXY, no_proxy: '.svc .corp' }, /^no_proxy entry ".svc .corp" is not understood: .*commas/],
    ['unlike Go (which ignores it): a port without a host', { HTTPS_PROXY: PROXY, NO_PROXY: ':443' }, /^NO_PROXY entry ":443" is not understood/],
    ['unlike Go (which ignores it): a port that is none', { HTTPS_PROXY: PROXY, NO_PROXY: '.corp:https' }, /^NO_PROXY entry ".corp:https" is not understood/],
    ['unlike Go (which ignores it): an IPv6 address in brackets without a port', { HTTPS_PROXY: PROXY, NO_PROXY: '[2001:db8::7]' }, /^NO_PROXY entry "\[2001:db8::7\]" is not understood/],
    ['unlike Go (which ignores it): a * inside a name', { HTTPS_PROXY: PROXY, NO_PROXY: '*corp.example' }, /^NO_PROXY entry "\*corp.example" is not understood/],
  ])('%s', (_, env, expected) => {
    const message = refusal(env);
    expect(message).toMatch(expected);
    expect(message).not.toContain('s3cret');
  });

  it('like Go: NO_PROXY is not read when no proxy is set', () => {
    expect(proxyFromEnvironment({ NO_PROXY: '10.0.0.0/33' })).toBeUndefined();
  });
});

describe('proxyShownAs', () => {
  it('shows each proxy as host and port only, and NO_PROXY as given', () => {
    const shown = proxyShownAs(proxyFromEnvironment({ HTTPS_PROXY: 'http://ops:s3cret@p.corp:3128', HTTP_PROXY: 'ops:s3cret@127.0.0.1:3129', NO_PROXY: '.svc' })!);
    expect(shown).toEqual({ httpsProxy: 'p.corp:3128', httpProxy: '127.0.0.1:3129', noProxy: '.svc' });
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
  const transportWith = (env: NodeJS.ProcessEnv) => new HttpTransport({ proxy: proxyFromEnvironment(env)! });
  const get = (transport: HttpTransport) => transport.send(origin, { method: 'GET', path: '/api/2.0/serving-endpoints', headers: { Authorization: 'Bearer tok' }, timeoutMs: 5_000 });
  /** The error a GET through `transport` fails with (undefined if it succeeds); the transport is closed after. */
  const failureOf = async (transport: HttpTransport): Promise<unknown> => {
    try {
      await get(transport);
      return undefined;
    } catch (err) {
      return err;
    } finally {
      await transport.close();
    }
  };

  it('tunnels every call (CONNECT, even to an http:// host: the proxy never sees the token), with the proxy credentials', async () => {
    const transport = transportWith({ HTTP_PROXY: withCredentials('s3cret') });
    const before = proxy.tunnels.length;
    try {
      expect((await get(transport)).bodyText).toBe('seen /api/2.0/serving-endpoints auth=Bearer tok');
    } finally {
      await transport.close();
    }
    expect(proxy.tunnels.slice(before)).toEqual([{ target: new URL(origin).host, allowed: true, authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` }]);
  });

  it.each([
    ['a host name', 'localhost, 127.0.0.1'],
    ['a CIDR range', '10.0.0.0/8, 127.0.0.0/8'],
  ])('goes direct to a host NO_PROXY names by %s', async (_, noProxy) => {
    const transport = transportWith({ HTTP_PROXY: withCredentials('s3cret'), NO_PROXY: noProxy });
    const before = proxy.tunnels.length;
    try {
      expect((await get(transport)).status).toBe(200);
    } finally {
      await transport.close();
    }
    expect(proxy.tunnels.length).toBe(before);
  });

  it('a proxy refusing the credentials (407) is an error that sent nothing, is not retried, and does not show the password', async () => {
    const transport = transportWith({ HTTP_PROXY: withCredentials('wrong-pass') });
    const error = await failureOf(transport);
    expect(error).toBeInstanceOf(DatabricksError);
    expect(error).toMatchObject({ errorCode: 'PROXY_CREDENTIALS_REFUSED', requestMaybeSent: false });
    expect(JSON.stringify({ message: (error as Error).message, ...(error as object) })).not.toContain('wrong-pass');
  });

  it('a proxy that cannot be reached is an error naming no credential', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const transport = transportWith({ HTTP_PROXY: `http://ops:unreachable-s3cret@127.0.0.1:${port}` });
    const error = await failureOf(transport);
    expect(error).toBeInstanceOf(DatabricksError);
    expect(JSON.stringify({ message: (error as Error).message, ...(error as object) })).not.toContain('unreachable-s3cret');
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
  const transportVia = () => new HttpTransport({ proxy: proxyFromEnvironment({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: '' })! });

  it.each([
    ['http://127.0.0.1', () => `http://127.0.0.1:${port}`],
    ['https://localhost', () => `https://localhost:${port}`],
    // connected to, the unspecified address is the machine's own loopback: the proxy's, through a proxy
    ['https://0.0.0.0', () => `https://0.0.0.0:${port}`],
    ['https://[::]', () => `https://[::]:${port}`],
    ['https://[::ffff:0.0.0.0]', () => `https://[::ffff:0.0.0.0]:${port}`],
    ['https://localhost. (a trailing dot)', () => `https://localhost.:${port}`],
  ])('%s is reached directly, not through the proxy, whatever NO_PROXY says', async (_, origin) => {
    const transport = transportVia();
    const before = proxy.tunnels.length;
    try {
      await transport.send(origin(), { method: 'GET', path: '/api/2.0/serving-endpoints', headers: { Authorization: 'Bearer tok' }, timeoutMs: 5_000 }).catch(() => undefined);
    } finally {
      await transport.close();
    }
    expect(proxy.tunnels.slice(before)).toEqual([]);
  });

  it('another host still goes through that proxy', async () => {
    const transport = transportVia();
    const before = proxy.tunnels.length;
    try {
      await transport.send('https://adb-1.azuredatabricks.net', { method: 'GET', path: '/api/2.0/serving-endpoints', headers: {}, timeoutMs: 5_000 }).catch(() => undefined);
    } finally {
      await transport.close();
    }
    expect(proxy.tunnels.slice(before).map((t) => t.target)).toEqual(['adb-1.azuredatabricks.net:443']);
  });
});
