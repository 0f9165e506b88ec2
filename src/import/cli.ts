// `pt-operator import`: reads existing endpoints from a workspace and prints the YAML of equivalent
// ProvisionedThroughputEndpoint objects with the adopt annotation. Read-only towards Databricks.
import { writeFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { Schema, stringify, type Scalar, type ScalarTag } from 'yaml';
import {
  DatabricksClient,
  errorKindOf,
  type ModelOptimizationInfo,
  type ServingEndpointDetailed,
  transportFromEnvironment,
  trustedCertificatesFrom,
  workspaceConnectionFromConfig,
} from '../databricks/index.js';
import { escapeUnshowable, hasUnshowable, oneLine } from '../databricks/host-text.js';
import { dnsName, namespaceNameProblem, parsePositiveDurationMs, POSITIVE_DURATION_EXPECTED } from '../api/v1alpha1/index.js';
import { type Imported, type ImportOptions, type ModelInfoUnread, type Refused, refusedName, translateEndpoint, uniqueObjectNames } from './translate.js';

const usage = `usage: pt-operator import --namespace <ns> (--name <endpoint> ... | --all) [flags]

  --host             workspace URL (default: DATABRICKS_HOST, else the profile's host)
  --profile          a profile of the Databricks config file (~/.databrickscfg, or DATABRICKS_CONFIG_FILE), as
                     the Databricks CLI and the Terraform provider read it (default: DATABRICKS_CONFIG_PROFILE;
                     with neither, DEFAULT unless the environment sets a host or credentials)
  --name             an endpoint to import; repeat for several
  --all              every endpoint of the workspace
  --namespace        namespace of the objects written
  --workspace        spec.workspaceRef.name (default: the operator's default workspace)
  --deletion-policy  Orphan (default: deleting the object leaves the endpoint) or Delete
  --observe          managementPolicy: Observe: the objects show the endpoints and never change them (they stay
                     managed where they are, by Terraform say); set Full later to take them over
  --out              write the YAML to this file (default: stdout)
  --timeout          deadline of each Databricks call, retries included (default: 20s, as the operator's)
  --ca-bundle        PEM file of CA certificates trusted besides Node's defaults, as the operator's flag (a
                     TLS-inspecting proxy's CA, a private CA; default: CA_BUNDLE)

Behind a forward proxy as the operator: HTTPS_PROXY, NO_PROXY.

Credentials as the Databricks SDKs read them: DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID and
DATABRICKS_CLIENT_SECRET, or DATABRICKS_OIDC_TOKEN_FILEPATH (DATABRICKS_AUTH_TYPE forces one); or a
profile's token, or client_id and client_secret (the environment's variables win over the profile's).
Endpoints the operator cannot express are listed on stderr and as comments in the YAML, with the reason.`;

/** The flags of `pt-operator import` (the docs' import commands are checked against them). */
export const IMPORT_OPTIONS = {
  host: { type: 'string' },
  name: { type: 'string', multiple: true },
  all: { type: 'boolean', default: false },
  namespace: { type: 'string' },
  workspace: { type: 'string' },
  'deletion-policy': { type: 'string', default: 'Orphan' },
  observe: { type: 'boolean', default: false },
  out: { type: 'string' },
  timeout: { type: 'string', default: '20s' },
  'ca-bundle': { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsOptionsConfig;

const NOT_FOUND = 'it does not exist in this workspace';

export async function runImportCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: IMPORT_OPTIONS,
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  // An endpoint named twice is imported once: two objects adopting one endpoint would leave one NotOwned.
  const names = [...new Set(values.name ?? [])];
  const problems = [
    !values.namespace && '--namespace is required',
    names.length === 0 && !values.all && 'give --name (one or more) or --all',
    names.length > 0 && values.all && '--name and --all exclude each other',
    values['deletion-policy'] !== 'Orphan' && values['deletion-policy'] !== 'Delete' && '--deletion-policy is Orphan or Delete',
    // what kubectl would refuse in the YAML written
    values.namespace && namespaceNameProblem(values.namespace) && `--namespace: ${namespaceNameProblem(values.namespace)}`,
    values.workspace !== undefined && !dnsName.safeParse(values.workspace).success && `--workspace: ${JSON.stringify(values.workspace)} is not an object name (lowercase letters, digits, "-" and ".")`,
    parsePositiveDurationMs(values.timeout) === undefined && `--timeout: ${POSITIVE_DURATION_EXPECTED(values.timeout)}`,
  ].filter(Boolean);
  if (problems.length > 0) {
    console.error(`${problems.join('\n')}\n\n${usage}`);
    return 2;
  }

  const connection = workspaceConnectionFromConfig({ ...env, ...(values.host !== undefined && { DATABRICKS_HOST: values.host }) }, values.profile);
  // A silent host would otherwise hold import for the client's default two minutes.
  const timeoutMs = parsePositiveDurationMs(values.timeout) as number;
  // behind a forward proxy and its CA as the operator is (HTTPS_PROXY, NO_PROXY, --ca-bundle); a bad bundle stops here
  const { transport } = transportFromEnvironment(env, trustedCertificatesFrom(values['ca-bundle'] ?? env['CA_BUNDLE']));
  const client = new DatabricksClient({ host: connection.host, auth: connection.auth, transport, requestTimeoutMs: timeoutMs, retryDeadlineMs: timeoutMs });
  const options: ImportOptions = {
    namespace: values.namespace as string,
    deletionPolicy: values['deletion-policy'] as ImportOptions['deletionPolicy'],
    ...(values.observe && { managementPolicy: 'Observe' as const }),
    ...(values.workspace !== undefined && { workspace: values.workspace }),
  };

  const targets = values.all ? (await client.listEndpoints()).map((e) => e.name) : names;
  const results: (Imported | Refused)[] = [];
  const infos = new Map<string, ModelOptimizationInfo | ModelInfoUnread>();
  for (const name of targets) {
    const badName = refusedName(name);
    if (badName) {
      results.push(badName);
      continue;
    }
    let endpoint: ServingEndpointDetailed;
    try {
      endpoint = await client.getEndpoint(name);
    } catch (err) {
      if (errorKindOf(err) !== 'NotFound') throw err;
      results.push({ ok: false, endpointName: name, reason: NOT_FOUND });
      continue;
    }
    // The list is a summary: per-endpoint GET gives throughput; the chunk sizes come from the model.
    for (const entity of endpoint.config?.served_entities ?? []) {
      const key = `${entity.entity_name}/${entity.entity_version}`;
      if (entity.entity_name && entity.entity_version && !infos.has(key)) {
        // why it failed goes into the endpoint's reason: a grant missing on the model reads otherwise like an outage
        const info = await client.getModelOptimizationInfo(entity.entity_name, entity.entity_version).catch((err: unknown) => ({ unread: err instanceof Error ? err.message : String(err) }));
        infos.set(key, info);
      }
    }
    results.push(translateEndpoint(endpoint, (model, version) => infos.get(`${model}/${version}`), options));
  }

  const imported = results.filter((r): r is Imported => r.ok);
  const refused = results.filter((r): r is Refused => !r.ok);
  uniqueObjectNames(imported);
  for (const r of refused) console.error(`not imported: ${oneLine(`${r.endpointName}: ${r.reason}`)}`);
  console.error(`imported ${imported.length} of ${results.length} endpoints from ${connection.host}`);

  const yaml = renderImport(imported, refused);
  if (values.out !== undefined) await writeFile(values.out, yaml);
  else process.stdout.write(yaml);
  // An endpoint asked for by name that is not there is a mistake (a typo, the wrong workspace), not a refusal.
  const missing = refused.filter((r) => r.reason === NOT_FOUND).map((r) => r.endpointName);
  if (missing.length === 0) return 0;
  console.error(`error: no endpoint named ${missing.map((name) => oneLine(name)).join(', ')} in ${connection.host}`);
  return 1;
}

/**
 * Strings every reader of the YAML takes as strings: kubectl, Argo CD and sigs.k8s.io/yaml read YAML 1.1
 * (yes/on/off/y/n are booleans, 1_000, 0b101, 1:20 numbers, << a merge key), and Go also reads 0X1F, 0B101 and
 * 0O17 as numbers. A string any of them would read otherwise is written quoted (yaml's `compat` tags, besides the
 * YAML 1.2 core schema it writes in).
 */
const goOnlyNumber = {
  tag: 'tag:ptoperator.io,2026:go-number',
  default: true,
  test: /^[-+]?(?:0[bBoOxX][0-9a-fA-F_.pP+-]*|\.?(?:inf(?:inity)?|nan))$/i,
  resolve: (s: string) => s,
};
const READERS_COMPAT = [...new Schema({ schema: 'yaml-1.1', merge: true }).tags, goOnlyNumber];

/**
 * A string holding a character some reader acts on (U+2028, U+2029 and NEL end a line for kubectl, not for `yaml`,
 * which writes them raw): double-quoted with each such character escaped, so every reader reads the exact string
 * and each line of the file is the line it looks like.
 */
const escapedString: ScalarTag = {
  tag: 'tag:yaml.org,2002:str',
  default: true,
  identify: (value) => typeof value === 'string' && hasUnshowable(value),
  resolve: (s) => s,
  // JSON escapes the C0 controls, quotes and lone surrogates; the rest are escaped in YAML's \u form.
  stringify: (item) => escapeUnshowable(JSON.stringify(String((item as Scalar).value))),
};

/**
 * A YAML comment of text that may come from Databricks (a description, a name): a line break continues it, and
 * any other character a reader could take as a line break (U+2028, NEL...) or a terminal acts on is escaped.
 */
const comment = (text: string, indent = ' ') => `#${indent}${text.split(/\r\n|\n|\r/).map(escapeUnshowable).join('\n#   ')}`;

/** One YAML stream: refused endpoints as a comment block, then one document per object. */
export function renderImport(imported: readonly Imported[], refused: readonly Refused[]): string {
  const header = refused.length > 0 ? ['# Not imported (each with the reason):', ...refused.map((r) => comment(`${r.endpointName}: ${r.reason}`, '   ')), ''].join('\n') : '';
  const documents = imported.map((i) => {
    const comments = [comment(`Databricks endpoint ${i.endpointName}`), ...i.notes.map((n) => comment(n))].join('\n');
    return `${comments}\n${stringify(i.object, { lineWidth: 0, compat: READERS_COMPAT, customTags: (tags) => [escapedString, ...tags] })}`;
  });
  return header + documents.join('---\n');
}
