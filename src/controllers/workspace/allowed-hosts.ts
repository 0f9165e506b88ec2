// Which hosts a DatabricksWorkspace may name (--allowed-workspace-hosts). The operator calls spec.host from its own
// Pod, whose network reaches what tenants' Pods may not (the cluster network, the API server, services behind a
// NetworkPolicy), and brings part of each answer back into status: a cluster admin keeps it to Databricks' domains.

const LABEL = '[a-z0-9]([a-z0-9-]*[a-z0-9])?';
const HOST_PATTERN = new RegExp(`^(\\*\\.)?${LABEL}(\\.${LABEL})*$|^\\[[0-9a-f:.]+\\]$`);

/**
 * A pattern in its normal form: `*.cloud.databricks.com` (every host under that domain, not the domain itself) or one
 * host name or address, lowercase, without a trailing dot. Throws for anything else (a URL, a port, a path).
 */
export function parseHostPattern(raw: string): string {
  const pattern = raw.trim().toLowerCase().replace(/\.+$/, '');
  if (!HOST_PATTERN.test(pattern)) {
    throw new Error(`${JSON.stringify(raw.slice(0, 200))}: list host names, such as *.cloud.databricks.com or adb-1234567890123456.7.azuredatabricks.net (no scheme, port or path)`);
  }
  return pattern;
}

/** Whether a workspace URL (normalised: lowercase, no trailing dot) names a host the patterns allow; none: every host. */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  const { hostname } = new URL(host);
  return patterns.some((pattern) => (pattern.startsWith('*.') ? hostname.endsWith(pattern.slice(1)) : hostname === pattern));
}
