// What a reader copies out of README.md, docs/ and the chart (a field path, a metric and its labels, a flag, the
// condition of a `kubectl wait`) exists where it comes from: the CRD schemas (src/api), the metrics registry, the
// flag tables of each command. A field, metric or flag renamed in the code and not in the prose fails here, instead
// of a user's jsonpath printing nothing, an alert never firing, or a flag refused at start.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CRDS_OPTIONS } from '../../../src/api/v1alpha1/crd-cli.js';
import { GROUP } from '../../../src/api/v1alpha1/common.js';
import { openApiSchema } from '../../../src/api/v1alpha1/crd.js';
import { resourceDefinitions } from '../../../src/api/v1alpha1/resources.js';
import { OPERATOR_OPTIONS, parseOperatorConfig } from '../../../src/controllers/config.js';
import { OperatorMetrics } from '../../../src/controllers/metrics.js';
import { SETTINGS_PARTS } from '../../../src/controllers/endpoint/settings.js';
import { EMULATOR_OPTIONS } from '../../../src/emulator/cli.js';
import { IMPORT_OPTIONS } from '../../../src/import/cli.js';
import { RuntimeMetrics } from '../../../src/kube/metrics.js';
import { createRegistry } from '../../../src/observability/metrics.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const sources = [
  'README.md',
  ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  'charts/pt-operator/values.yaml',
  'charts/pt-operator/templates/NOTES.txt',
];
/** Each source's lines, with where they are. */
const lines = sources.flatMap((path) => read(path).split('\n').map((text, i) => ({ where: `${path}:${i + 1}`, text })));

interface Node {
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const schemas: Record<'spec' | 'status', Node[]> = {
  spec: resourceDefinitions.map((def) => openApiSchema(def.spec) as Node),
  status: resourceDefinitions.map((def) => openApiSchema(def.status) as Node),
};

/** The field `key` of a node, looking through lists as a reader's path does (`rateLimits.calls`); a map's key is the
 * reader's own word, and `*` stands for any field (`status.settings.<part>.applied`). */
function child(node: Node, key: string): Node | undefined {
  if (node.items) return child(node.items, key);
  const map = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
  if (key !== '*') return node.properties?.[key] ?? map;
  const any = [...Object.values(node.properties ?? {}), ...(map ? [map] : [])].map((n) => n.items ?? n);
  return any.length > 0 ? { properties: Object.assign({}, ...any.map((n) => n.properties ?? {})) } : undefined;
}

/** Whether `spec.a.b` or `status.a.b` is a field of an endpoint or a workspace (`*`: any field there). */
function isField(path: string): boolean {
  const [top, ...keys] = path.split('.') as ['spec' | 'status', ...string[]];
  return schemas[top].some((schema) => {
    let node: Node | undefined = schema;
    for (const key of keys) node = node && (node['x-kubernetes-preserve-unknown-fields'] ? node : child(node, key));
    return node !== undefined;
  });
}

/** `a.{b,c}.d` as `a.b.d` and `a.c.d`. */
function expandBraces(path: string): string[] {
  const m = /\{([^{}]*)\}/.exec(path);
  if (!m) return [path];
  return (m[1] as string).split(',').flatMap((alt) => expandBraces(path.slice(0, m.index) + alt.trim() + path.slice(m.index + m[0].length)));
}

// `spec.x.y`, `.status.x` in a jsonpath, `status.settings.<part>.applied`, `spec.guardrails.{input,output}.pii`; not
// a file (`endpoint-status.ts`) nor another object's field (`config.served_entities`, `state.ready`).
const FIELD = /(?<![\w/-])\.?((?:spec|status)(?:\.(?:[A-Za-z]\w*|<\w+>|\{[\w, ]+\})|\[[^\]]*\])+)(?!\.(?:ts|md|yaml)\b)/g;
const fields = lines.flatMap(({ where, text }) =>
  [...text.matchAll(FIELD)].flatMap((m) =>
    expandBraces((m[1] as string).replace(/\[[^\]]*\]/g, '').replace(/<\w+>/g, '*')).map((path) => [where, path] as const),
  ),
);

describe('field paths in the docs', () => {
  it('are found', () => {
    expect(fields.length).toBeGreaterThan(100);
  });

  it('are fields of the CRDs', () => {
    expect(fields.filter(([, path]) => !isField(path)).map(([where, path]) => `${where}: ${path}`)).toEqual([]);
  });
});

describe('metrics in the docs', async () => {
  const registry = createRegistry();
  new OperatorMetrics(registry);
  new RuntimeMetrics(registry);
  const exported = new Map(
    (await registry.getMetricsAsJSON()).map((m) => [m.name, (registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] }).labelNames ?? []]),
  );
  /** The series a name stands for: a histogram's `_bucket`, `_sum` and `_count` are its own. */
  const metricOf = (name: string) => [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => exported.has(n));

  const NAME = /\b((?:pt_operator|controller_runtime|workqueue|leader_election)_[a-z0-9_]*)(\{[^}]*\})?/g;
  const mentions = lines.flatMap(({ where, text }) => [...text.matchAll(NAME)].map((m) => ({ where, name: m[1] as string, selector: m[2] })));

  it('are found', () => {
    expect(mentions.length).toBeGreaterThan(50);
  });

  // `pt_operator_rate_budget_*` names a family of metrics; any other name must be exported as it is written.
  it('are metrics the operator exports', () => {
    const family = (name: string) => name.endsWith('_') && [...exported.keys()].some((n) => n.startsWith(name));
    expect(mentions.filter(({ name }) => !metricOf(name) && !family(name)).map(({ where, name }) => `${where}: ${name}`)).toEqual([]);
  });

  it('select by labels the metric has', () => {
    const wrong = mentions.flatMap(({ where, name, selector }) => {
      const labels = [...(selector ?? '').matchAll(/([a-z_]+)\s*(?:=~|!=|!~|=|,|\})/g)].map((m) => m[1] as string);
      const known = exported.get(metricOf(name) ?? '') ?? [];
      return labels.filter((label) => label !== 'le' && !known.includes(label)).map((label) => `${where}: ${name} has no label ${label}`);
    });
    expect(wrong).toEqual([]);
  });
});

const flagsOf = (options: object) => new Set(Object.keys(options));
const commands: Record<string, Set<string>> = {
  run: flagsOf(OPERATOR_OPTIONS),
  import: flagsOf(IMPORT_OPTIONS),
  emulator: flagsOf(EMULATOR_OPTIONS),
  crds: flagsOf(CRDS_OPTIONS),
};

// The flags the docs give other tools (kubectl, helm, argocd, node, vitest) where a reader meets them in prose.
const OTHER_TOOLS = new Set([
  'set', 'set-string', 'set-json', 'wait', 'reuse-values', 'reset-then-reuse-values', 'server-side', 'for', 'from-literal', 'type',
  'patch-file', 'argocd-cm-path', 'recursive', 'dry-run', 'overwrite', 'rm', 'replicas', 'hard', 'project', 'max-semi-space-size',
]);
// Flags the docs name as ones the operator does not have (a kubebuilder habit, a typo), and what they say of them.
const NOT_OURS = new Set(['zap-log-level', 'zap-', 'metric-bind-address']);

describe('pt-operator commands in the docs', () => {
  // `pt-operator import --host <workspace> --all --namespace ml`: every flag is one of the command's.
  const invocations = lines.flatMap(({ where, text }) =>
    [...text.matchAll(/pt-operator (run|import|emulator|crds)\b([^`|;>\n]*)/g)].map((m) => ({ where, command: m[1] as string, flags: [...(m[2] as string).matchAll(/(?<!\w)--([a-z][a-z0-9-]*)/g)].map((f) => f[1] as string) })),
  );

  it('are found', () => {
    expect(invocations.filter(({ flags }) => flags.length > 0).length).toBeGreaterThan(5);
  });

  it('give each command only flags it has', () => {
    const wrong = invocations.flatMap(({ where, command, flags }) => flags.filter((flag) => !commands[command]!.has(flag)).map((flag) => `${where}: pt-operator ${command} --${flag}`));
    expect(wrong).toEqual([]);
  });
});

describe('flags named in the docs', () => {
  const ours = new Set(Object.values(commands).flatMap((set) => [...set]));
  // benchmarks.md, emulator.md and controlplane.md are for developers, with the flags of their own scripts
  const userDocs = lines.filter(({ where }) => !/^docs\/(benchmarks|emulator|controlplane)\.md/.test(where));
  const named = userDocs.flatMap(({ where, text }) => [...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => [where, m[1] as string] as const));

  it('are found', () => {
    expect(named.length).toBeGreaterThan(100);
  });

  it("are a pt-operator command's, or another tool's the docs show", () => {
    expect(named.filter(([, flag]) => !ours.has(flag) && !OTHER_TOOLS.has(flag) && !NOT_OURS.has(flag)).map(([where, flag]) => `${where}: --${flag}`)).toEqual([]);
  });

  it.each([...OTHER_TOOLS, ...NOT_OURS].filter((flag) => commands['run']!.has(flag)))('--%s, said to be another tool\'s, is not the operator\'s', (flag) => {
    expect(flag).toBe('not a flag of pt-operator run');
  });

  // troubleshooting.md quotes the error a mistyped flag gives; it is the one the operator writes.
  it("troubleshooting.md quotes the operator's error for a mistyped flag", () => {
    const quoted = /`(unknown flag --metric-bind-address: did you mean\s+--metrics-bind-address\?)`/.exec(read('docs/troubleshooting.md'))?.[1]?.replace(/\s+/g, ' ');
    expect(quoted).toBeDefined();
    expect(() => parseOperatorConfig(['--metric-bind-address=:9090'], {})).toThrow(quoted);
  });
});

describe('kubectl wait in the docs', () => {
  const endpointConditions = new Set(['Ready', 'Synced', 'Stalled', 'Reconciling', ...SETTINGS_PARTS.map((part) => part.conditionType)]);
  const waits = lines.flatMap(({ where, text }) => [...text.matchAll(/kubectl [^`]*?wait ([^`]*)/g)].map((m) => ({ where, args: m[1] as string })));

  it('are found', () => {
    expect(waits.length).toBeGreaterThan(3);
  });

  it('wait for a condition the object has', () => {
    const wrong = waits.flatMap(({ where, args }) => {
      const condition = /--for[= ]condition=(\w+)/.exec(args)?.[1];
      const workspace = /\b(dbws|databricksworkspaces?)\b/.test(args);
      const known = workspace ? condition === 'Ready' : endpointConditions.has(condition ?? '');
      return known ? [] : [`${where}: ${args}`];
    });
    expect(wrong).toEqual([]);
  });
});

describe('kubectl commands in the docs', () => {
  const names = new Set(resourceDefinitions.flatMap((def) => [def.plural, def.singular, ...def.shortNames, `${def.plural}.${GROUP}`, `${def.singular}.${GROUP}`]));
  const kubectl = lines.flatMap(({ where, text }) => [...text.matchAll(/kubectl [^`|]*/g)].map((m) => ({ where, command: m[0] })));
  // `pte`, `dbws/prod`, `count/provisionedthroughputendpoints.serving.ptoperator.io`, `provisionedthroughputendpoints.spec`
  const ours = (command: string) =>
    [...command.matchAll(/(?<![\w./-])(?:count\/)?((?:pte|dbws|provisionedthroughputendpoint|databricksworkspace)[a-z]*(?:\.[a-z]+)*)/g)].map((m) => m[1] as string);

  it('are found', () => {
    expect(kubectl.flatMap(({ command }) => ours(command)).length).toBeGreaterThan(20);
  });

  it('name the kinds by a name the CRDs give them', () => {
    const wrong = kubectl.flatMap(({ where, command }) =>
      ours(command)
        .map((name) => name.replace(/\.(spec|status|metadata)(\.[a-zA-Z.]+)?$/, ''))
        .filter((name) => !names.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(wrong).toEqual([]);
  });
});

// A reason in the prose (`CapacityRecovered`, `SettingRemoved`) is a word the code writes: renamed there and not in the
// docs, a user greps their Events for a reason that never comes. Kubernetes' own words the docs quote are listed.
describe('reasons named in the docs', () => {
  const KUBERNETES_WORDS = new Set([
    'ProvisionedThroughputEndpoint', 'DatabricksWorkspace', 'ClusterRoleBinding', 'CreateContainerConfigError', 'FailedMount', 'InvalidImageName',
    'NamespaceFinalizersRemaining', 'ProxyFromEnvironment', 'RetryInfo',
  ]);
  const sourceFiles = (dir: string): string[] =>
    readdirSync(new URL(dir, root), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? sourceFiles(`${dir}${entry.name}/`) : entry.name.endsWith('.ts') ? [`${dir}${entry.name}`] : [],
    );
  const literals = new Set(sourceFiles('src/').flatMap((file) => [...read(file).matchAll(/'([A-Z][A-Za-z]+)'/g)].map((m) => m[1] as string)));
  // a settings part's Events are `<Part><Reason>`: AiGateway + DriftDetected
  const parts = SETTINGS_PARTS.map((part) => part.conditionType.replace(/Synced$/, ''));
  const known = (word: string) => literals.has(word) || KUBERNETES_WORDS.has(word) || parts.some((part) => word.startsWith(part) && literals.has(word.slice(part.length)));
  const userDocs = lines.filter(({ where }) => !/^docs\/(benchmarks|emulator|controlplane)\.md/.test(where));
  const words = userDocs.flatMap(({ where, text }) => [...text.matchAll(/`([A-Z][a-z]+(?:[A-Z][a-z0-9]*)+)`/g)].map((m) => [where, m[1] as string] as const));

  it('are found', () => {
    expect(words.length).toBeGreaterThan(100);
  });

  it('are written by the code', () => {
    expect(words.filter(([, word]) => !known(word)).map(([where, word]) => `${where}: ${word}`)).toEqual([]);
  });
});

// README shows what `kubectl get pte` prints: its header is the CRD's printer columns (those without a priority).
describe("README's kubectl get pte", () => {
  it('has the columns the CRD prints', () => {
    const shown = /\$ kubectl get pte[^\n]*\n([^\n]*)/.exec(read('README.md'))?.[1]?.trim().split(/\s+/);
    const endpoint = resourceDefinitions.find((def) => def.shortNames.includes('pte'))!;
    expect(shown).toEqual(['NAME', ...endpoint.printerColumns.filter((column) => !column.priority).map((column) => column.name.toUpperCase())]);
  });
});
