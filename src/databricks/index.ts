// Public surface of the Databricks client. Knows nothing of Kubernetes.
export * from './api-types.js';
export {
  DatabricksClient,
  pathSegment,
  sharedRateBudgets,
  type CallOptions,
  type ClientLogger,
  type DatabricksClientOptions,
  type DatabricksMetricsSink,
} from './client.js';
export {
  createCredentialsProvider,
  unfitForHeader,
  workspaceConnectionFromEnv,
  TOKEN_REFRESH_MARGIN_MS,
  type AuthConfig,
  type AuthType,
  type CredentialsProvider,
  type WorkspaceConnection,
} from './auth.js';
export {
  DatabricksError,
  ERROR_KINDS,
  errorKindOf,
  isDatabricksError,
  MutationFencedError,
  redactSecrets,
  parseRetryAfter,
  type DatabricksErrorKind,
} from './errors.js';
export { normaliseHost, normalisedHostOrUndefined, isLoopbackHostname, InvalidHostError } from './host.js';
export {
  RateBudgetRegistry,
  type BudgetShare,
  DEFAULT_RATE_LIMITS,
  type RateLimits,
  type BudgetMetricsSink,
  type BudgetName,
} from './rate-budget.js';
export { type BudgetHandover, decodeHandover, encodeHandover, type WindowHandover } from './budget-handover.js';
export { HttpTransport, sharedTransport, operatorVersion, transportFromEnvironment } from './transport.js';
export { proxyFromEnvironment, proxyShownAs, type ProxySettings } from './proxy.js';
export { parseConfigFile, workspaceConnectionFromConfig } from './config-file.js';
export { type CaBundle, type CaBundleSource, caBundleSource, readCaBundle, TrustedCertificates, trustedCertificatesFrom } from './ca-bundle.js';
export { systemClock, type Clock } from './clock.js';
