// Which hosts a DatabricksWorkspace may name (--allowed-workspace-hosts). The operator calls spec.host from its own
// Pod, whose network reaches what tenants' Pods may not (the cluster network, the API server, services behind a
// NetworkPolicy), and brings part of each answer back into status: a cluster admin keeps it to Databricks' domains.
import { IPV6_ADDRESS_GRAMMAR } from '../../api/v1alpha1/index.js';

const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?';
/**
 * A host name, `*.` and a domain (every host under it), or an IPv6 address in brackets, as spec.host writes one
 * (`[fd00::1]`); a trailing dot is allowed. Unanchored; the chart's values.schema.json holds it (a unit test compares).
 */
export const ALLOWED_HOST_GRAMMAR = `(\\*\\.)?${LABEL}(\\.${LABEL})*\\.?|\\[(${IPV6_ADDRESS_GRAMMAR})\\]`;
const HOST_PATTERN = new RegExp(`^(${ALLOWED_HOST_GRAMMAR})$`);

/**
 * A pattern in its normal form: `*.cloud.databricks.com` (every host under that domain, not the domain itself) or one
 * host name or address, lowercase, without a trailing dot; an IPv6 address as a URL writes it (`[FD00:0::1]` is
 * `[fd00::1]`), the form spec.host is compared in. Throws for anything else (a URL, a port, a path).
 */
export function parseHostPattern(raw: string): string {
  const pattern = raw.trim();
  if (!HOST_PATTERN.test(pattern)) {
    throw new Error(
      `${JSON.stringify(raw.slice(0, 200))}: list host names, such as *.cloud.databricks.com or adb-1234567890123456.7.azuredatabricks.net, or IPv6 addresses in brackets, such as [fd00::1] (no scheme, port or path)`,
    );
  }
  return pattern.startsWith('[') ? new URL(`https://${pattern}`).hostname : pattern.toLowerCase().replace(/\.$/, '');
}

/** Whether a workspace URL (normalised: lowercase, no trailing dot) names a host the patterns allow; none: every host. */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  const { hostname } = new URL(host);
  return patterns.some((pattern) => (pattern.startsWith('*.') ? hostname.endsWith(pattern.slice(1)) : hostname === pattern));
}
