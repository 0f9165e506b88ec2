import { z } from 'zod';
import { Conditions, dnsName } from './common.js';
import { matches, withRules } from './rules.js';

export const WORKSPACE_KIND = 'DatabricksWorkspace';
export const WORKSPACE_PLURAL = 'databricksworkspaces';

/** 1 to 65535: a port of 0 or above 65535 was admitted and then retried forever as an unreachable host. */
const PORT = '([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';

const H16 = '[0-9A-Fa-f]{1,4}';
const DEC_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const LS32 = `(${H16}:${H16}|${DEC_OCTET}([.]${DEC_OCTET}){3})`;
/** `n` of "h16:"; none for 0. */
const groups = (n: number) => (n === 0 ? '' : n === 1 ? `${H16}:` : `(${H16}:){${n}}`);
/** After the "::": `n` groups, the last two of them possibly an IPv4 address. */
const groupsAfterGap = (n: number) => (n >= 2 ? `${groups(n - 2)}${LS32}` : n === 1 ? H16 : '');
/** Before the "::": up to `n` groups. */
const groupsBeforeGap = (n: number) => (n === 0 ? '' : n === 1 ? `(${H16})?` : `((${H16}:){0,${n - 1}}${H16})?`);
/**
 * An IPv6 address as RFC 3986 writes it in a URL's brackets (section 3.2.2): eight groups, or fewer around one "::",
 * the last 32 bits possibly written as an IPv4 address; no zone. Unanchored, for Go's regexp (Helm's schema check)
 * as for JavaScript's: a form the schema takes, URL parses.
 */
export const IPV6_ADDRESS_GRAMMAR = [`${groups(6)}${LS32}`, ...[7, 6, 5, 4, 3, 2, 1, 0].map((after) => `${groupsBeforeGap(7 - after)}::${groupsAfterGap(after)}`)]
  .map((form) => `(${form})`)
  .join('|');

/**
 * A character of a host name's label: ASCII letters, digits and the others URL keeps in a host (not the delimiters,
 * "%", controls or spaces, nor "\\", where URL ends the host; nor a quote). Not other Unicode: URL maps some of it to
 * what it refuses (a no-break space) and refuses some in context (a zero-width joiner); use the xn-- form.
 */
const LABEL_CHAR = '[-!$&()*+,0-9;=A-Z_a-z{}~]';
/** A label character that is neither a hex digit nor x. */
const NOT_HEX_OR_X = '[-!$&()*+,;=G-WYZ_g-wyz{}~]';
const HEX_OR_X = '[0-9A-Fa-fxX]';
/**
 * A last label URL does not read as a number: one of digits only, or 0x and hex digits, makes the host an IPv4
 * address to URL (`https://a.1` is no host, `https://10.0.0.256` no address). Such a label holds a character that is
 * neither a hex digit nor x, or is made of them without being a number.
 */
const LAST_LABEL = [
  `${LABEL_CHAR}*${NOT_HEX_OR_X}${LABEL_CHAR}*`,
  `[A-Fa-fxX]${HEX_OR_X}*`,
  `[1-9][0-9]*[A-Fa-fxX]${HEX_OR_X}*`,
  `0[0-9]*[A-Fa-f]${HEX_OR_X}*`,
  `0[0-9]+[xX]${HEX_OR_X}*`,
  `0[xX][0-9A-Fa-f]*[xX]${HEX_OR_X}*`,
].join('|');
const IPV4_ADDRESS = `${DEC_OCTET}([.]${DEC_OCTET}){3}`;
/** A host name URL reads (labels, the last not a number; an optional trailing dot), or an IPv4 address. */
const HOST_NAME = `(${LABEL_CHAR}+[.])*(${LAST_LABEL})[.]?|${IPV4_ADDRESS}[.]?`;

/**
 * https://host[:port], or http:// for a loopback host (the emulator); no user info (it would be printed by
 * `kubectl get dbws`), no path, query or fragment. The host is one URL reads: a host name, an IPv4 address or an
 * IPv6 address in brackets. Unanchored; the chart's values.schema.json holds it too (a unit test compares).
 */
export const WORKSPACE_HOST_GRAMMAR = `(https://(${HOST_NAME}|\\[(${IPV6_ADDRESS_GRAMMAR})\\])|http://(localhost|127([.]${DEC_OCTET}){3}|\\[::1\\]))(:${PORT})?/?`;
export const WORKSPACE_HOST_PATTERN = `^${WORKSPACE_HOST_GRAMMAR}$`;

const SecretName = dnsName.describe('Name of a Secret in the same namespace.');

/** A key a Secret can hold (Kubernetes' IsConfigMapKey): any other was admitted and then never found. */
const secretKey = (defaultKey: string, description: string) =>
  withRules(z.string().min(1).max(253), [
    matches('^[-._a-zA-Z0-9]+$', 'must be a Secret key: letters, digits, "-", "_" and "."'),
  ])
    .default(defaultKey)
    .describe(description);

export const WorkspaceAuth = withRules(
  z.strictObject({
    token: z
      .strictObject({
        secretRef: z
          .strictObject({
            name: SecretName,
            key: secretKey('token', 'Key in the Secret that holds the personal access token.'),
          })
          .describe('The Secret that holds the token.'),
      })
      .optional()
      .describe('Personal access token (PAT) authentication.'),
    oauthM2M: z
      .strictObject({
        secretRef: z
          .strictObject({
            name: SecretName,
            clientIdKey: secretKey('client-id', 'Key in the Secret that holds the client id.'),
            clientSecretKey: secretKey('client-secret', 'Key in the Secret that holds the client secret.'),
          })
          .describe('The Secret that holds the service principal credentials.'),
      })
      .optional()
      .describe('OAuth machine-to-machine authentication with a service principal.'),
    tokenFederation: z
      .strictObject({
        // min(1): an empty value (an unset template variable) was read as none, i.e. another federation policy.
        clientId: z.string().min(1).max(256).optional().describe('Application id of the service principal, for service-principal federation policies. Omitted: the account-wide policy.'),
        audience: z.string().min(1).max(2048).optional().describe('Audience of the projected token, when the federation policy needs one.'),
      })
      .optional()
      .describe("OAuth token federation: the operator pod's projected service-account token is exchanged for a Databricks token."),
  }),
  [
    {
      cel: '[has(self.token), has(self.oauthM2M), has(self.tokenFederation)].filter(x, x).size() == 1',
      message: 'set exactly one of token, oauthM2M or tokenFederation',
      check: (a) => [a.token, a.oauthM2M, a.tokenFederation].filter((x) => x !== undefined).length === 1,
    },
  ],
).describe('How the operator authenticates to the workspace: exactly one method.');
export type WorkspaceAuth = z.infer<typeof WorkspaceAuth>;

export const RateLimits = z
  .strictObject({
    mutationsPer5Minutes: z
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe(
        "Lowers this workspace's share of its host's create/update budget (per 5 minutes). The host's budget is the operator's --databricks-mutations-per-5-minutes (default 50, as Databricks documents); a higher value here has no effect.",
      ),
    readsPerSecond: z
      .int()
      .min(1)
      .max(1_000)
      .optional()
      .describe("Lowers this workspace's share of its host's read rate (deletes and tag patches are not paced: Databricks documents no limit for them). The host's rate is the operator's --databricks-reads-per-second (default 15)."),
  })
  .describe("Optional lower limits for this workspace only. The budget of a Databricks host is owned by the operator and shared by every workspace on it; these can only lower this workspace's share, never another's.");

export const WorkspaceSpec = z
  .strictObject({
    host: withRules(z.string().max(2048), [
      matches(
        WORKSPACE_HOST_PATTERN,
        'must be a workspace URL such as https://adb-1234567890123456.7.azuredatabricks.net: https://, a host and an optional port from 1 to 65535, with no user name or password, path, query or fragment (http:// only for localhost, 127.x.x.x or [::1])',
      ),
    ]).describe('Workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net. http:// is accepted only for loopback hosts (the emulator).'),
    auth: WorkspaceAuth,
    rateLimits: RateLimits.prefault({}),
  })
  .describe('A connection to one Databricks workspace, shared by the endpoints of its namespace.');
export type WorkspaceSpec = z.infer<typeof WorkspaceSpec>;

export const WorkspaceStatus = z
  .strictObject({
    observedGeneration: z.int().optional().describe('The metadata.generation the operator last acted on.'),
    conditions: Conditions,
    identity: z
      .string()
      .optional()
      .describe(
        "Who the operator acts as in this workspace with these credentials, as Databricks names it (its answer to SCIM Me: a user's e-mail, or a service principal's application ID): the principal to grant CAN_MANAGE on endpoints made elsewhere (Terraform, the UI) before adopting them. The operator keeps it at CAN_MANAGE in every permissions PUT. Absent until learnt (asked once per credential when it is verified; a failed ask is retried later). While it is asked again (after an operator restart, or for a replaced credential) the identity shown stays; the answer replaces it, and a failed ask removes it.",
      ),
  })
  .describe('Observed state, written by the operator.');
export type WorkspaceStatus = z.infer<typeof WorkspaceStatus>;

export const WorkspaceReadyReason = {
  Authenticated: 'Authenticated',
  SecretNotFound: 'SecretNotFound',
  AuthenticationFailed: 'AuthenticationFailed',
  HostUnreachable: 'HostUnreachable',
  InvalidSpec: 'InvalidSpec',
  FederationHostNotTrusted: 'FederationHostNotTrusted',
} as const;
