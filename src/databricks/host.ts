// Workspace host handling: one normal form keys the connection pool and the rate budget, so two
// objects that spell one workspace differently ("https://X.net/", "https://x.net:443") share both.
import { isIP } from 'node:net';

export class InvalidHostError extends Error {
  override readonly name = 'InvalidHostError';
}

/**
 * Lowercase scheme + host (+ port when not the scheme's default), no path, no trailing slash or dot.
 * A bare host name ("adb-1.azuredatabricks.net") gets https://, as the SDKs do.
 */
export function normaliseHost(raw: string): string {
  const trimmed = raw.trim();
  if (trimmed === '') throw new InvalidHostError('workspace host is empty');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    // echoed unless it may hold credentials (user:password@)
    throw new InvalidHostError(`workspace host is not a URL${trimmed.includes('@') ? '' : `: ${JSON.stringify(trimmed)}`}`);
  }
  if (url.username !== '' || url.password !== '') {
    // Never echo the value: it holds credentials.
    throw new InvalidHostError('workspace host must not contain credentials');
  }
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(trimmed)) {
    // A query or fragment means the value is not a workspace URL (or hides another host after "?" or "#").
    throw new InvalidHostError('workspace host must not contain a query (?) or fragment (#): use https://<host>[:port]');
  }
  // URL takes port 0 (and refuses ports above 65535): nothing listens there
  if (url.port === '0') throw new InvalidHostError('workspace host port must be from 1 to 65535');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidHostError(`workspace host must use https:// (got ${url.protocol}//)`);
  }
  if (url.protocol === 'http:' && !isLoopbackHostname(url.hostname)) {
    throw new InvalidHostError(
      `workspace host ${url.origin} uses plain http://, which is only allowed for loopback addresses (the emulator); use https://`,
    );
  }
  // URL.origin lowercases scheme and host and drops default ports, path, query and fragment. The fully qualified
  // form (a trailing dot) names the same host: one key for both.
  if (url.hostname.endsWith('.')) url.hostname = url.hostname.replace(/\.+$/, '');
  return url.origin;
}

/** 127.0.0.0/8, ::1 and localhost: where the emulator listens. */
export function isLoopbackHostname(hostname: string): boolean {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const lower = bare.toLowerCase();
  if (lower === 'localhost' || lower.endsWith('.localhost')) return true;
  const family = isIP(lower);
  if (family === 4) return lower.split('.')[0] === '127';
  if (family === 6) return lower === '::1' || lower === '0:0:0:0:0:0:0:1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(lower);
  return false;
}

/** The normal form of `raw`, or undefined when it is missing or not a workspace URL (a status, not an error). */
export function normalisedHostOrUndefined(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return normaliseHost(raw);
  } catch {
    return undefined;
  }
}
