// `pt-operator run` configuration: flags, each with an environment fallback, validated by one
// zod schema (the same schema documents them in docs/configuration.md).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { namespaceNameProblem, parseDurationMs, parsePositiveDurationMs, POSITIVE_DURATION_EXPECTED } from '../api/v1alpha1/index.js';
import { normaliseHost } from '../databricks/index.js';
import { parseHostPattern } from './workspace/allowed-hosts.js';
import { DEFAULT_CAPACITY_PATTERNS } from './endpoint/capacity.js';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      try {
        return parseDurationMs(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration such as 30s, 5m or 1h` });
        return z.NEVER;
      }
    });

/** For intervals and deadlines, where 0 would poll, verify or time out without pause. */
const positiveDuration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parsePositiveDurationMs(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: POSITIVE_DURATION_EXPECTED(value) });
        return z.NEVER;
      }
      return ms;
    });

/** A pattern that ends in "{" and digits, or starts with digits and "}": a quantifier the list's commas cut in two. */
const CUT_QUANTIFIER = /\{\d*$|^\d*\}/;

const list = z
  .string()
  .default('')
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

/** A comma-separated list whose items `parse` normalises; an item it throws for is an issue with its message. */
const listOf = (parse: (item: string) => string) =>
  list.transform((items, ctx) =>
    items.map((item) => {
      try {
        return parse(item);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return item;
      }
    }),
  );

/** Namespace names; `everyNamespace`: "*" too. A typo would be watched forever, finding nothing. */
const namespaceList = (everyNamespace: boolean) =>
  list.transform((names, ctx) => {
    for (const name of names) {
      const problem = everyNamespace && name === '*' ? undefined : namespaceNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }
    return names;
  });

/** The schemas of boolean flags: alone, such a flag means true (`--leader-elect`), as Go's flag package reads it. */
const booleanSchemas = new WeakSet<z.ZodType>();

const bool = (fallback: boolean) => {
  const schema = z
    .enum(['true', 'false', '1', '0'], { error: (issue) => `"${String(issue.input)}" is not true or false (or 1 or 0)` })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
  booleanSchemas.add(schema);
  return schema;
};

export interface BindAddress {
  host: string;
  port: number;
}

const parseAddress = (v: string, ctx: z.RefinementCtx, allowOff: boolean): BindAddress | null => {
  if (allowOff && v === '0') return null;
  const match = /^(.*):(\d+)$/.exec(v);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not host:port${allowOff ? ' (or 0 to turn it off)' : ''}` });
    return z.NEVER;
  }
  return { host: match[1] || '0.0.0.0', port: Number(match[2]) };
};

/** host:port; `allowOff`: "0" turns the server off (controller-runtime's convention for --metrics-bind-address). */
const address = (fallback: string, allowOff = false) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => parseAddress(v, ctx, allowOff));

const optionalAddress = z
  .string()
  .optional()
  .transform((v, ctx) => (v === undefined ? undefined : parseAddress(v, ctx, false)));

// Label-selector grammar (key, !key, key=v, key==v, key!=v, key in (v,...), key notin (v,...)), so a typo is a start-up
// error instead of a watch the API server refuses (400) at every list, which never syncs. A value, and a key's name,
// have at most 63 characters, alphanumeric at both ends; a key's prefix is a lowercase DNS subdomain.
const NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const PREFIX = '[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const KEY = `(${PREFIX}/)?${NAME}`;
const VALUE = `(${NAME})?`;
const REQUIREMENT = `(!\\s*${KEY}|${KEY}\\s*(==?|!=)\\s*${VALUE}|${KEY}\\s+(in|notin)\\s*\\(\\s*${VALUE}(\\s*,\\s*${VALUE})*\\s*\\)|${KEY})`;
/** The grammar of a label selector, unanchored; the chart's values.schema.json holds the same (a unit test compares). */
export const LABEL_SELECTOR_GRAMMAR = `${REQUIREMENT}(\\s*,\\s*${REQUIREMENT})*`;
const LABEL_SELECTOR = new RegExp(`^${LABEL_SELECTOR_GRAMMAR}$`);
const labelSelector = z
  .string()
  .optional()
  // empty: no selector, as the chart's default ""
  .refine((v) => v === undefined || v.trim() === '' || LABEL_SELECTOR.test(v.trim()), { message: 'not a label selector such as ptoperator.io/default-workspace=allowed' });

/** Every option: flag name, environment variable, description (docs are generated from this). */
export const OPERATOR_OPTIONS = {
  kubeconfig: { env: 'KUBECONFIG', schema: z.string().optional(), help: 'Path of a kubeconfig file (as kubectl\'s flag; $KUBECONFIG, or this flag, may list several: merged, those that do not exist skipped as kubectl skips them, an error when none exists). Without either: ~/.kube/config if it exists, else the Pod\'s service account (in-cluster).' },
  namespaces: { env: 'WATCH_NAMESPACES', schema: namespaceList(false), help: 'Comma-separated namespaces to watch; empty watches all.' },
  'label-selector': { env: 'LABEL_SELECTOR', schema: labelSelector, help: 'Only reconcile endpoint objects matching this label selector (sharding across releases). Every shard serves every DatabricksWorkspace; one being deleted waits for the endpoint objects of all shards. The ownership rules see every shard\'s endpoint objects (a second, unsharded watch that keeps only the fields they read).' },
  concurrency: { env: 'MAX_CONCURRENT_RECONCILES', schema: z.coerce.number().int().min(1).max(64).default(4), help: 'Reconciles run at once, per controller: endpoints (each then writes its status back beside the workers; at most twice as many write-backs at once), and workspace verifications. A reconcile past --slow-reconcile-after no longer holds its worker.' },
  'slow-reconcile-after': {
    env: 'SLOW_RECONCILE_AFTER',
    schema: duration('1500ms'),
    help: 'A reconcile still running after this (a Databricks host that answers slowly or never, a wait for a rate budget) gives its worker back and goes on in the background, its object still locked, so one tenant\'s hanging calls cannot hold the workers of all. 0 turns this off: a reconcile then holds its worker up to --databricks-timeout.',
  },
  'max-slow-reconciles-per-namespace': {
    env: 'MAX_SLOW_RECONCILES_PER_NAMESPACE',
    schema: z.coerce.number().int().min(1).max(1000).default(4),
    help: 'While a namespace has this many reconciles running in the background (--slow-reconcile-after), its other objects wait (tried again each second) instead of taking a worker; per controller.',
  },
  'poll-interval': { env: 'POLL_INTERVAL', schema: positiveDuration('5m'), help: 'How often a settled endpoint is re-read to catch drift.' },
  'progress-interval': { env: 'PROGRESS_INTERVAL', schema: positiveDuration('20s'), help: 'How often a rollout in progress is re-read.' },
  'workspace-retry-interval': { env: 'WORKSPACE_RETRY_INTERVAL', schema: positiveDuration('30s'), help: 'How often a workspace that is not ready is checked again; also the longest an endpoint whose Databricks calls failed (5xx, network, timeout) waits before it tries again, so work resumes within it when an outage ends.' },
  'workspace-verify-interval': { env: 'WORKSPACE_VERIFY_INTERVAL', schema: positiveDuration('10m'), help: 'How often working credentials are verified again.' },
  'model-info-ttl': { env: 'MODEL_INFO_TTL', schema: positiveDuration('10m'), help: 'How long model optimization info is reused.' },
  'capacity-patterns': {
    env: 'CAPACITY_PATTERNS',
    // An empty item (a trailing comma) would match every message: skipped, as the other list flags skip it.
    schema: list.transform((patterns, ctx) => {
      if (patterns.length === 0) return DEFAULT_CAPACITY_PATTERNS;
      // A quantifier's comma cut "x{1,3}" into "x{1" and "3}": JavaScript (and Go) read both as literal text.
      const cut = patterns.find((p) => CUT_QUANTIFIER.test(p));
      if (cut !== undefined) {
        ctx.addIssue({ code: 'custom', message: `capacity pattern ${JSON.stringify(cut)} is cut by a comma (patterns are separated by commas): write a comma inside a pattern as \\x2c, as in x{1\\x2c3}` });
        return z.NEVER;
      }
      try {
        return patterns.map((p) => new RegExp(p, 'i'));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
        return z.NEVER;
      }
    }),
    help: 'Comma-separated regular expressions (a comma inside one is written \\x2c; empty items skipped; none: the built-in set); a failed rollout whose message matches one is treated as a GPU-capacity failure (DEPLOYMENT_ABORTED always is).',
  },
  'leader-elect': { env: 'LEADER_ELECT', schema: bool(false), help: 'Campaign for a Lease so only one replica acts.' },
  'leader-election-namespace': { env: 'POD_NAMESPACE', schema: z.string().default('pt-operator-system'), help: 'Namespace of the leader-election Lease.' },
  'leader-election-id': { env: 'LEADER_ELECTION_ID', schema: z.string().default('pt-operator-leader'), help: 'Name of the leader-election Lease.' },
  'metrics-bind-address': {
    env: 'METRICS_BIND_ADDRESS',
    schema: address(':8080', true),
    help: 'host:port serving /metrics (port 0 picks one; "0" serves no metrics).',
  },
  'health-probe-bind-address': { env: 'HEALTH_PROBE_BIND_ADDRESS', schema: address(':8081'), help: 'host:port serving /healthz and /readyz (port 0 picks one).' },
  'probe-address': {
    env: 'PROBE_ADDRESS',
    schema: optionalAddress,
    help: 'Deprecated (removed in the next release): one host:port serving /healthz, /readyz and /metrics; overrides the two bind addresses. Use --metrics-bind-address and --health-probe-bind-address.',
  },
  'metrics-secure': {
    env: 'METRICS_SECURE',
    schema: bool(false),
    help: 'Serve /metrics over HTTPS, only to callers whose bearer token may GET /metrics (TokenReview + SubjectAccessReview; needs create on tokenreviews and subjectaccessreviews). At most 4 reviews at once: a scrape beyond them is answered 429.',
  },
  'metrics-cert-dir': {
    env: 'METRICS_CERT_DIR',
    schema: z.string().default('/var/run/secrets/pt-operator/metrics-tls'),
    help: 'Directory with tls.crt and tls.key for --metrics-secure (the chart mounts a Secret here); read again every 10 s, so a renewed certificate is served to new connections without a restart.',
  },
  'log-level': { env: 'LOG_LEVEL', schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'), help: 'Log level.' },
  'federation-token-file': {
    env: 'DATABRICKS_OIDC_TOKEN_FILEPATH',
    schema: z.string().default('/var/run/secrets/pt-operator/databricks/token'),
    help: 'Projected service-account token exchanged for a Databricks token (tokenFederation workspaces).',
  },
  'databricks-mutations-per-5-minutes': {
    env: 'DATABRICKS_MUTATIONS_PER_5_MINUTES',
    schema: z.coerce.number().int().min(1).max(10_000).default(50),
    help: 'Create/update calls per 5 minutes per Databricks host, sent as a sliding window (Databricks documents 50). A DatabricksWorkspace can only lower its own share.',
  },
  'databricks-reads-per-second': {
    env: 'DATABRICKS_READS_PER_SECOND',
    schema: z.coerce.number().int().min(1).max(1_000).default(15),
    help: 'Other budgeted calls (reads) per second per Databricks host, on average; deletes and tag patches have no client budget (Databricks documents no limit for them). A DatabricksWorkspace can only lower its own share.',
  },
  'databricks-read-burst': {
    env: 'DATABRICKS_READ_BURST',
    schema: z.coerce.number().int().min(1).max(10_000).default(50),
    help: 'Reads per Databricks host that may go out at once after a quiet spell, as many as the mutation burst (the reads that confirm 50 rollouts ending together); never less than one second of --databricks-reads-per-second (1: bursts of one second of reads only, as before).',
  },
  'default-workspace-namespaces': {
    env: 'DEFAULT_WORKSPACE_NAMESPACES',
    schema: namespaceList(true),
    help: 'Comma-separated namespaces whose endpoints may use the default workspace (no spec.workspaceRef); "*" allows every namespace. Empty (the default): none may.',
  },
  'default-workspace-namespace-selector': {
    env: 'DEFAULT_WORKSPACE_NAMESPACE_SELECTOR',
    schema: labelSelector,
    help: 'A label selector (e.g. ptoperator.io/default-workspace=allowed); namespaces whose labels match may use the default workspace too. Needs list/watch on Namespaces (the chart grants it only when this is set).',
  },
  'default-workspace-credentials-dir': {
    env: 'DEFAULT_WORKSPACE_CREDENTIALS_DIR',
    schema: z.string().optional(),
    help: "A directory (the chart mounts defaultWorkspace.existingSecret there) whose files hold the default workspace's credentials instead of the environment's DATABRICKS_TOKEN, DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET: token (a PAT), or client-id and client-secret (OAuth M2M). They are read again when they change and when Databricks refuses them, so a rotated Secret is used within seconds of the kubelet updating the files, with no restart. DATABRICKS_HOST stays in the environment. Unset: the environment's, read once at start.",
  },
  'allowed-workspace-hosts': {
    env: 'ALLOWED_WORKSPACE_HOSTS',
    schema: listOf(parseHostPattern),
    help: "Comma-separated host names a DatabricksWorkspace's spec.host may name: *.cloud.databricks.com allows every host under that domain, and an IPv6 address is written in brackets as in spec.host ([fd00::1]); others get Ready=False InvalidSpec and are never called. The operator calls spec.host from its own Pod, whose network may reach what tenants' Pods may not: in a shared cluster, list Databricks' domains (*.cloud.databricks.com, *.azuredatabricks.net, *.gcp.databricks.com). Empty: any host. The default workspace's host is the admin's own and needs no entry.",
  },
  'federation-trusted-hosts': {
    env: 'FEDERATION_TRUSTED_HOSTS',
    schema: listOf(normaliseHost),
    help: "Comma-separated workspace URLs to which a DatabricksWorkspace of any namespace may have the operator's service-account token sent (auth.tokenFederation). The default workspace's host needs no entry for the namespaces allowed the default workspace.",
  },
  'allow-cross-namespace-adoption': {
    env: 'ALLOW_CROSS_NAMESPACE_ADOPTION',
    schema: bool(false),
    help: 'Let ptoperator.io/adopt take over an endpoint whose owner tag names a deleted object of another namespace.',
  },
  'ca-bundle': {
    env: 'CA_BUNDLE',
    schema: z.string().optional(),
    help: "A PEM file of CA certificates trusted in addition to Node's defaults (its built-in roots and NODE_EXTRA_CA_CERTS) for every call to Databricks, directly or through a forward proxy's tunnel, and for the TLS to an https:// proxy: a TLS-inspecting proxy's CA, a private endpoint's CA (the chart mounts value caBundle's ConfigMap or Secret there). A missing or unreadable file, one without a certificate, one holding a private key, or a certificate that cannot be read stops the operator at start. Read again when it changes and every minute: new connections use the new certificates, with no restart. SSL_CERT_FILE and SSL_CERT_DIR are not read (docs/security.md).",
  },
  'databricks-timeout': { env: 'DATABRICKS_CALL_TIMEOUT', schema: positiveDuration('20s'), help: 'Deadline of one Databricks call including its retries and the OAuth discovery and token requests it needs; reconciles never wait longer.' },
  'shutdown-timeout': { env: 'SHUTDOWN_TIMEOUT', schema: duration('25s'), help: 'How long in-flight reconciles may finish after SIGTERM (0: not at all).' },
} as const;

type Options = typeof OPERATOR_OPTIONS;
export type OperatorConfig = { [K in keyof Options as CamelCase<K & string>]: z.output<Options[K]['schema']> };
type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The default of a flag as written on the command line (`5m`, `false`), or undefined when it has none. */
export function flagDefault(flag: keyof Options): string | undefined {
  const schema = OPERATOR_OPTIONS[flag].schema as unknown as { def?: { defaultValue?: unknown; in?: { def?: { defaultValue?: unknown } } } };
  const fallback = schema.def?.defaultValue ?? schema.def?.in?.def?.defaultValue;
  return fallback === undefined || fallback === '' ? undefined : String(fallback);
}

/** How flags are written; opens both `pt-operator run --help` and the flag table of docs/configuration.md. */
export const FLAGS_INTRO = [
  'Each flag can also be set with its environment variable; the flag wins. Durations are written like `30s`, `5m`, `1h`; intervals, `--model-info-ttl` and `--databricks-timeout` must be more than zero (0 would poll or time out without pause).',
  "A boolean flag alone means true (`--leader-elect`); `--leader-elect=false` turns it off (as Go's flag package, never `--leader-elect false`).",
  "Flags take two dashes (Go's single-dash `-leader-elect` is refused, naming `--leader-elect`); kubebuilder's `--zap-log-level` is `--log-level` here, and logs are always JSON. An unknown flag stops the start, naming the flag it most likely meant.",
];

const wrap = (text: string, indent: string, width = 100): string[] => {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, indent + line] : lines;
};

/** `pt-operator run --help`: every flag of OPERATOR_OPTIONS, its environment variable, default and help. */
export function runUsage(): string {
  const lines = ['usage: pt-operator run [flags]', '', ...FLAGS_INTRO.flatMap((p) => wrap(p.replaceAll('`', ''), '')), ''];
  for (const [flag, option] of Object.entries(OPERATOR_OPTIONS)) {
    const fallback = flagDefault(flag as keyof Options);
    lines.push(`  --${flag} (${option.env}${fallback === undefined ? '' : `, default ${fallback}`})`, ...wrap(option.help, '      '));
  }
  return lines.join('\n');
}

const isBooleanFlag = (flag: string) => flag in OPERATOR_OPTIONS && booleanSchemas.has(OPERATOR_OPTIONS[flag as keyof Options].schema);

/** Edit distance of two short strings (a flag's name as typed and as known). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** The flag a misspelled one most likely meant: a near spelling, the name it begins, or a kubebuilder zap-* flag's own. */
function flagMeant(name: string): string | undefined {
  const flags = Object.keys(OPERATOR_OPTIONS);
  const bare = name.replace(/^zap-/, '');
  if (flags.includes(bare)) return bare;
  const near = flags.map((flag) => ({ flag, distance: editDistance(bare, flag) })).sort((x, y) => x.distance - y.distance)[0];
  if (near && near.distance <= 2) return near.flag;
  return flags.find((flag) => flag.startsWith(`${bare}-`));
}

/**
 * A flag that is not one: named with the flag meant. Node's own message advises passing it after "--" as a positional
 * argument (refused anyway), and reads Go's single-dash -leader-elect as the short options -l -e ... .
 */
function checkFlagNames(argv: string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return;
    if (!arg.startsWith('-') || arg === '-' || arg === '-h' || arg === '--help') continue;
    const [written = '', value] = arg.replace(/^--?/, '').split(/=(.*)/s);
    const known = written in OPERATOR_OPTIONS;
    if (arg.startsWith('--') && known) {
      // `--flag value`: the value is the next argument, whatever it looks like
      if (value === undefined && !isBooleanFlag(written)) i++;
      continue;
    }
    if (!arg.startsWith('--') && known) throw new Error(`unknown flag -${written}: flags take two dashes, as -${arg}`);
    const meant = flagMeant(written);
    const dashes = arg.startsWith('--') ? '--' : '-';
    throw new Error(
      meant === undefined
        ? `unknown flag ${dashes}${written}; \`pt-operator run --help\` lists the flags`
        : `unknown flag ${dashes}${written}: did you mean --${meant}? (\`pt-operator run --help\` lists the flags)`,
    );
  }
}

/**
 * Every flag's value as text. A boolean flag alone means true and, as in Go's flag package, never takes the next
 * argument (`--leader-elect=false` sets it false); a stray argument is refused rather than silently ignored.
 */
function readFlags(argv: string[]): { values: Record<string, string | undefined>; help: boolean } {
  checkFlagNames(argv);
  const terminator = argv.indexOf('--');
  const bare = new Set<number>();
  const args = argv.map((arg, i) => {
    if ((terminator === -1 || i < terminator) && arg.startsWith('--') && isBooleanFlag(arg.slice(2))) {
      bare.add(i);
      return `${arg}=true`;
    }
    return arg;
  });
  const { values, tokens } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(Object.keys(OPERATOR_OPTIONS).map((flag) => [flag, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
    tokens: true,
  });
  const stray = tokens.findIndex((t) => t.kind === 'positional');
  if (stray !== -1) {
    const [before, token] = [tokens[stray - 1], tokens[stray] as { value: string }];
    throw new Error(
      before?.kind === 'option' && bare.has(before.index)
        ? `unexpected argument "${token.value}": a boolean flag takes its value after "=", as ${before.rawName}=${token.value}`
        : `unexpected argument "${token.value}": pt-operator run takes only flags`,
    );
  }
  const { help, ...flags } = values as Record<string, string | undefined> & { help?: boolean };
  return { values: flags, help: help === true };
}

/** `pt-operator run --help` (or -h). */
export const helpRequested = (argv: string[]): boolean => readFlags(argv).help;

/** A flag wins over its environment variable; errors name both. */
export function parseOperatorConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const { values } = readFlags(argv);
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [flag, option] of Object.entries(OPERATOR_OPTIONS)) {
    const raw = values[flag] ?? env[option.env];
    const result = (option.schema as z.ZodType).safeParse(raw);
    if (result.success) config[camel(flag)] = result.data;
    else problems.push(`--${flag} (or ${option.env}): ${result.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length > 0) throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return config as OperatorConfig;
}
