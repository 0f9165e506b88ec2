// A forward proxy for the calls to Databricks: HTTPS_PROXY, HTTP_PROXY and NO_PROXY as the Terraform provider and the
// Databricks SDKs read them. The proxying itself is undici's (EnvHttpProxyAgent, in transport.ts); reading the
// variables is ours, for Go's precedence (upper case first) and so that a bad value is refused at start without
// being shown: a proxy URL may hold the proxy's password.
import { isLoopbackHostname } from './host.js';

/** Where calls go through a forward proxy (HTTP CONNECT tunnels; the TLS session stays end to end). */
export interface ProxySettings {
  /** for http:// hosts (the emulator on loopback) */
  httpProxy?: string;
  /** for https:// hosts: every real workspace */
  httpsProxy?: string;
  /** hosts reached directly: comma- or space-separated names (a leading dot or `*.` for subdomains, `:port`), `*` for all */
  noProxy?: string;
}

/**
 * HTTPS_PROXY, HTTP_PROXY and NO_PROXY (upper case first, then lower, as Go's and so the Terraform provider's and
 * the Go SDK's), or undefined when no proxy is set. A value that is not an http(s) URL is refused, naming the
 * variable but never its value (it may hold the proxy's password).
 */
export function proxyFromEnvironment(env: NodeJS.ProcessEnv): ProxySettings | undefined {
  const read = (name: string): string | undefined => {
    const value = env[name.toUpperCase()] || env[name.toLowerCase()];
    return value ? value.trim() : undefined;
  };
  const httpProxy = read('http_proxy');
  const httpsProxy = read('https_proxy');
  if (httpProxy === undefined && httpsProxy === undefined) return undefined;
  for (const [name, value] of [['HTTP_PROXY', httpProxy], ['HTTPS_PROXY', httpsProxy]] as const) {
    if (value === undefined) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.hostname === '') {
      throw new Error(`${name} is not a proxy URL: give it as http://host:port (or http://user:password@host:port)`);
    }
  }
  return { ...(httpProxy && { httpProxy }), ...(httpsProxy && { httpsProxy }), noProxy: read('no_proxy') ?? '' };
}

/** The proxy's host and port, for a log line: never its credentials. */
export function proxyShownAs(proxy: ProxySettings): { httpsProxy?: string; httpProxy?: string; noProxy?: string } {
  const shown = (value: string | undefined) => (value === undefined ? undefined : new URL(value).host);
  return { ...(proxy.httpsProxy && { httpsProxy: shown(proxy.httpsProxy) }), ...(proxy.httpProxy && { httpProxy: shown(proxy.httpProxy) }), ...(proxy.noProxy && { noProxy: proxy.noProxy }) };
}

/**
 * A loopback host (localhost, 127.x.x.x, [::1]) names this machine; through a proxy on another machine it would name
 * the proxy's own loopback (its admin port, services bound there), which a tenant's workspace host must not reach. So
 * it is reached directly, as the Terraform provider and the Go SDK do, unless the proxy itself is on loopback (a
 * sidecar: the same loopback either way).
 */
export function reachedDirectly(origin: URL, proxy: ProxySettings): boolean {
  if (!isLoopbackHostname(origin.hostname)) return false;
  const via = origin.protocol === 'http:' ? proxy.httpProxy : (proxy.httpsProxy ?? proxy.httpProxy);
  return via === undefined || !isLoopbackHostname(new URL(via).hostname);
}
