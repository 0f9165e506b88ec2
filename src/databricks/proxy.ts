// The forward proxy for the calls to Databricks, chosen from HTTPS_PROXY, HTTP_PROXY and NO_PROXY as Go's net/http
// ProxyFromEnvironment (golang.org/x/net/http/httpproxy) chooses it: the Terraform provider and the Databricks Go SDK
// use that, so one platform-wide setting means the same to all of them. proxyFor is the one place that decides;
// transport.ts only follows it. The differences from Go are deliberate (docs/security.md, A forward proxy): a value
// Go would ignore or could not use stops the operator at start, and a proxy on loopback (a sidecar) gets loopback
// hosts. A proxy URL may hold the proxy's password: it is never shown, in a log line or an error.
import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { isLoopbackHostname } from './host.js';

/** One NO_PROXY entry: which hosts are reached directly. */
type DirectRule =
  | { kind: 'every' }
  /** an IP address (then maybe with a port) or a CIDR range (any port) */
  | { kind: 'address'; addresses: BlockList; port?: string }
  /** a name: hosts ending in `suffix` (`.example.com`), and the name itself unless written with a leading dot */
  | { kind: 'name'; suffix: string; itself: boolean; port?: string };

/** Where calls go through a forward proxy (HTTP CONNECT tunnels; the TLS session stays end to end). */
export interface ProxySettings {
  /** HTTP_PROXY as a URL (http:// where it had no scheme): for http:// hosts only, the emulator on loopback */
  httpProxy?: string;
  /** HTTPS_PROXY as a URL: for https:// hosts, every real workspace */
  httpsProxy?: string;
  /** NO_PROXY as given, for the start-up log */
  noProxy: string;
  /** NO_PROXY's entries, read */
  direct: readonly DirectRule[];
}

/**
 * HTTPS_PROXY, HTTP_PROXY and NO_PROXY (upper case first, then lower case; empty is unset, as in Go), or undefined
 * when no proxy is set. A value that cannot be honoured is refused: a proxy by the variable's name only (it may hold
 * the proxy's password), a NO_PROXY entry by itself.
 */
export function proxyFromEnvironment(env: NodeJS.ProcessEnv): ProxySettings | undefined {
  const read = (name: string) => {
    for (const variable of [name.toUpperCase(), name.toLowerCase()]) {
      const value = env[variable]?.trim();
      if (value) return { variable, value };
    }
    return undefined;
  };
  const http = read('http_proxy');
  const https = read('https_proxy');
  if (http === undefined && https === undefined) return undefined;
  const noProxy = read('no_proxy');
  return {
    ...(http && { httpProxy: proxyUrl(http.variable, http.value) }),
    ...(https && { httpsProxy: proxyUrl(https.variable, https.value) }),
    noProxy: noProxy?.value ?? '',
    direct: noProxy ? directRules(noProxy.variable, noProxy.value) : [],
  };
}

/**
 * The proxy a call to `url` goes through, or undefined: directly. As Go: an https:// host takes HTTPS_PROXY, an
 * http:// host HTTP_PROXY (never the other one), unless NO_PROXY names it; a loopback host goes directly. Unlike
 * Go, a loopback host still goes to a proxy on loopback itself: the same loopback either way (a sidecar); and the
 * unspecified address (0.0.0.0, [::]) counts as loopback, since a connection to it reaches the machine's own.
 */
export function proxyFor(url: URL, proxy: ProxySettings): string | undefined {
  const via = url.protocol === 'https:' ? proxy.httpsProxy : url.protocol === 'http:' ? proxy.httpProxy : undefined;
  if (via === undefined) return undefined;
  // through a proxy on another machine, a loopback host would name the proxy's own loopback (its admin port)
  if (reachesOwnLoopback(url.hostname) && !reachesOwnLoopback(new URL(via).hostname)) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const family = isIP(host);
  const named = (rule: DirectRule): boolean => {
    if (rule.kind === 'every') return true;
    if (rule.port !== undefined && rule.port !== port) return false;
    if (rule.kind === 'address') return family !== 0 && rule.addresses.check(host, family === 4 ? 'ipv4' : 'ipv6');
    return family === 0 && (host.endsWith(rule.suffix) || (rule.itself && host === rule.suffix.slice(1)));
  };
  return proxy.direct.some(named) ? undefined : via;
}

/** 0.0.0.0 and [::] (and [::ffff:0.0.0.0], which is 0.0.0.0): no machine's address, but a connection to them reaches the connecting machine's own loopback. */
const UNSPECIFIED = new BlockList();
UNSPECIFIED.addAddress('0.0.0.0', 'ipv4');
UNSPECIFIED.addAddress('::', 'ipv6');

/** A host (as URL spells it) that a connection reaches the connecting machine's own loopback at: a loopback host, or the unspecified address. */
function reachesOwnLoopback(hostname: string): boolean {
  if (isLoopbackHostname(hostname)) return true;
  const bare = hostname.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  return family !== 0 && UNSPECIFIED.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** The proxies' hosts and ports and NO_PROXY, for a log line: never a credential. */
export function proxyShownAs(proxy: ProxySettings): { httpsProxy?: string; httpProxy?: string; noProxy?: string } {
  const shown = (value: string | undefined) => (value === undefined ? undefined : new URL(value).host);
  return { ...(proxy.httpsProxy && { httpsProxy: shown(proxy.httpsProxy) }), ...(proxy.httpProxy && { httpProxy: shown(proxy.httpProxy) }), ...(proxy.noProxy && { noProxy: proxy.noProxy }) };
}

/** A proxy's URL; without a scheme it is `host[:port]`, taken as http:// (as Go). Only http:// and https:// are honoured. */
function proxyUrl(variable: string, value: string): string {
  const socks = /^(socks[0-9a-z]*):\/\//i.exec(value)?.[1];
  if (socks !== undefined) {
    throw new Error(
      `${variable} names a SOCKS proxy (${socks.toLowerCase()}://), which pt-operator does not support: give an HTTP proxy that tunnels with CONNECT, as http://host:port (or https://)`,
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
    // the credentials are sent decoded: a bad escape would send something else than was meant
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    url = undefined;
  }
  if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.hostname === '') {
    throw new Error(`${variable} is not a proxy URL: give it as http://host:port (or http://user:password@host:port, the password percent-encoded)`);
  }
  return url.href;
}

/** NO_PROXY's comma-separated entries, trimmed, in lower case; empty ones skipped (as Go), any other not understood refused (Go ignores it). */
function directRules(variable: string, value: string): DirectRule[] {
  const rules: DirectRule[] = [];
  for (const given of value.split(',').map((entry) => entry.trim())) {
    if (given === '') continue;
    const rule = directRule(given.toLowerCase());
    if (rule === undefined) {
      throw new Error(
        `${variable} entry "${given}" is not understood: give host names (.example.com for its subdomains only), IP addresses or CIDR ranges (10.0.0.0/8), each with an optional :port, or *, separated by commas`,
      );
    }
    rules.push(rule);
  }
  return rules;
}

function directRule(entry: string): DirectRule | undefined {
  if (entry === '*') return { kind: 'every' };
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const [network, bits] = [entry.slice(0, slash), entry.slice(slash + 1)];
    const family = isIP(network);
    if (family === 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return undefined;
    const addresses = new BlockList();
    addresses.addSubnet(network, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    return { kind: 'address', addresses };
  }
  const split = hostAndPort(entry);
  if (split === undefined) return undefined;
  const { host, port } = split;
  const family = isIP(host);
  if (family !== 0) {
    const addresses = new BlockList();
    addresses.addAddress(host, family === 4 ? 'ipv4' : 'ipv6');
    return { kind: 'address', addresses, ...(port !== undefined && { port }) };
  }
  // `*.example.com` is `.example.com`: its subdomains only; a trailing dot names the same host (as normaliseHost)
  const itself = !host.startsWith('.') && !host.startsWith('*.');
  const bare = host.replace(/^\*?\./, '').replace(/\.+$/, '');
  // non-ASCII names compare in their ASCII (punycode) form, as URL host names are
  const name = [...bare].every((c) => c.charCodeAt(0) < 0x80) ? bare : domainToASCII(bare);
  const labels = name.split('.');
  // a name ending in a number would be an IPv4 address in a URL: it never matches a host
  if (name === '' || !labels.every((label) => /^[a-z0-9_-]+$/.test(label)) || /^\d+$/.test(labels.at(-1) ?? '')) return undefined;
  return { kind: 'name', suffix: `.${name}`, itself, ...(port !== undefined && { port }) };
}

/** `host`, `host:port`, `[ipv6]:port` or a bare IPv6 address; undefined for anything else (a port that is none, brackets without a port). */
function hostAndPort(entry: string): { host: string; port?: string } | undefined {
  if (isIP(entry) === 6) return { host: entry };
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(entry);
  const [host, port] = bracketed ? [bracketed[1] ?? '', bracketed[2]] : entry.includes(':') ? [entry.slice(0, entry.lastIndexOf(':')), entry.slice(entry.lastIndexOf(':') + 1)] : [entry, undefined];
  if (host === '' || (bracketed ? isIP(host) !== 6 : host.includes(':') || host.includes('['))) return undefined;
  if (port !== undefined && !(/^[1-9]\d{0,4}$/.test(port) && Number(port) <= 65535)) return undefined;
  return { host, ...(port !== undefined && { port }) };
}
