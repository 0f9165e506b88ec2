// The numbers and names the docs give a platform engineer (caps, limits, the chart's Lease) are the ones the code
// and the chart use: a limit changed in one place only, or a name the chart does not make, fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_CREDENTIAL_BYTES } from '../../../src/controllers/workspace/secrets.js';
import { MAX_ERROR_CODE, MAX_SERVER_MESSAGE } from '../../../src/databricks/errors.js';
import { oneLine } from '../../../src/databricks/host-text.js';
import { MAX_BUFFERED_BYTES, MAX_RESPONSE_BYTES, SMALL_ANSWER_BYTES } from '../../../src/databricks/transport.js';
import { MAX_REVIEWS_IN_FLIGHT } from '../../../src/kube/delegated-auth.js';
import { METRICS_REUSE_FACTOR, METRICS_REUSE_MS } from '../../../src/observability/server.js';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8').replaceAll('\n', ' ');
const security = read('docs/security.md');
const KiB = 1024;
const MiB = 1024 * 1024;
const words = ['', '', 'twice', 'three times', 'four times', 'five times'];

describe('docs/security.md and docs/metrics.md state the caps the code enforces', () => {
  it('the bytes of Databricks answers', () => {
    expect(security).toContain(`at most ${MAX_RESPONSE_BYTES / MiB} MiB read`);
    expect(security).toContain(`at most ${MAX_BUFFERED_BYTES / MiB} MiB together beyond ${SMALL_ANSWER_BYTES / KiB} KiB each`);
  });

  it('the characters of a server message and its error code', () => {
    expect(security).toContain(`at most ${MAX_SERVER_MESSAGE} characters of a server message`);
    expect(security).toContain(`its error code cut to ${MAX_ERROR_CODE}`);
  });

  it('the TokenReviews in flight for secure /metrics', () => {
    expect(security).toContain(`at most ${MAX_REVIEWS_IN_FLIGHT} are in flight`);
  });

  it('how long one /metrics render is shared', () => {
    expect(read('docs/metrics.md')).toContain(`for ${words[METRICS_REUSE_FACTOR]} as long as it took (at least ${METRICS_REUSE_MS} ms)`);
  });

  it('the size of a Secret key kept, and what the workspace says past it', () => {
    expect(security).toContain(`each at most ${MAX_CREDENTIAL_BYTES / KiB} KiB`);
    // The message a tenant reads in kubectl describe dbws must be one troubleshooting explains.
    expect(read('docs/troubleshooting.md')).toContain(`holds more than ${MAX_CREDENTIAL_BYTES / KiB} KiB`);
  });
});

// security.md's RBAC table told a platform engineer (writing RBAC for rbac.create=false, or auditing the Role) the
// Lease is `<release>-leader`; the chart names it after the full name: release team-a leads on team-a-pt-operator-leader.
describe("docs/security.md names the chart's leader-election Lease as the chart does", () => {
  const helpers = readFileSync(new URL('../../../charts/pt-operator/templates/_helpers.tpl', import.meta.url), 'utf8');
  const leaseName = /define "pt-operator\.leaseName"([^]*?)\{\{- end -\}\}\n\{\{- end -\}\}/.exec(helpers)?.[1] ?? '';

  it('<fullname>-leader', () => {
    expect(leaseName).toContain('include "pt-operator.suffixedName" (list . "-leader")');
    const row = security.split('| `leases`')[1]?.split(' | ')[1] ?? '';
    expect(row).toContain('`<fullname>-leader`');
    expect(row).not.toContain('<release>-leader');
  });
});

// security.md's RBAC table says "every rule is used by the code, and nothing else is granted", but left out the
// operator's optional ClusterRoles (Namespaces with the default-workspace selector; TokenReviews and
// SubjectAccessReviews with secure metrics): an admin auditing the release met grants the table did not explain.
describe("docs/security.md's RBAC table", () => {
  const operatorTemplates = ['rbac.yaml', 'leader-election-rbac.yaml', 'namespace-reader-rbac.yaml', 'metrics-auth.yaml'];
  const granted = operatorTemplates.flatMap((file) =>
    [...readFileSync(new URL(`../../../charts/pt-operator/templates/${file}`, import.meta.url), 'utf8').matchAll(/resources: \[([^\]]*)\]/g)].flatMap((m) =>
      (m[1] as string).split(',').map((r) => r.trim().replaceAll('"', '')),
    ),
  );
  const table = security.split('## RBAC')[1]?.split('## ')[0] ?? '';

  it.each([...new Set(granted.filter((r) => !r.endsWith('/status')))])('names %s, which the chart grants the operator', (resource) => {
    expect(table).toContain(`\`${resource}\``);
  });
});

// upgrade.md tells the platform team which rights the overlapping-release check needs; it left out the Roles it reads
// (a RoleBinding to a Role), so a restricted Helm identity met a lookup it had not been told about.
describe("docs/upgrade.md on the chart's overlapping-release check", () => {
  const helpers = readFileSync(new URL('../../../charts/pt-operator/templates/_helpers.tpl', import.meta.url), 'utf8');
  const check = helpers.split('define "pt-operator.validateOtherReleases"')[1]?.split('{{- define')[0] ?? '';
  const kinds = [...new Set([...check.matchAll(/lookup "[^"]*" "(\w+)"/g)].map((m) => m[1] as string))];
  const paragraph = read('docs/upgrade.md').split('The check reads the other releases')[1]?.split('- This release')[0] ?? '';

  it.each(kinds)('names the %ss it reads', (kind) => {
    expect(paragraph).toMatch(new RegExp(`(?<![A-Za-z])${kind}s\\b`));
  });
});

// security.md said NEL (U+0085) and the line and paragraph separators are written as escapes in conditions and
// Events; they are line breaks there, shown as a space like \n. A user grepping an Event for \u2028 finds nothing.
describe("docs/security.md on a host's text as one line", () => {
  const sentence = /The host's text reaches them as one line of visible characters: ([^]*?) is written as its escape/.exec(security)?.[1] ?? '';
  const [spaced = '', escaped = ''] = sentence.split(', and every other');
  const codePoints = (text: string) => [...text.matchAll(/U\+([0-9A-F]{4})/g)].map((m) => String.fromCodePoint(parseInt(m[1] as string, 16)));

  it('names characters on each side', () => {
    expect(codePoints(escaped).length + codePoints(spaced).length).toBeGreaterThan(0);
  });
  it.each(codePoints(escaped).map((c) => [`U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`, c]))('%s is escaped, as it says', (_name, c) => {
    expect(oneLine(`a${c}b`)).toMatch(/^a\\u[0-9a-f]{4}b$/);
  });
  it.each(codePoints(spaced).map((c) => [`U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`, c]))('%s becomes a space, as it says', (_name, c) => {
    expect(oneLine(`a${c}b`)).toBe('a b');
  });
});

// metrics.md told a platform engineer to bind Prometheus to `<release>-metrics-reader`, security.md listed the tenant
// roles `<release>-edit` and `<release>-view`, argocd.md the Secret `<release>-metrics-tls`: the chart names all of
// them after its full name, so the release team-a makes team-a-pt-operator-metrics-reader, and a RoleBinding to
// team-a-metrics-reader (accepted by the API server) grants nothing.
describe("the chart's object names in the docs", () => {
  const templates = ['_helpers.tpl', 'metrics-auth.yaml', 'tenant-rbac.yaml', 'service.yaml', 'deployment.yaml', 'leader-election-rbac.yaml']
    .map((file) => readFileSync(new URL(`../../../charts/pt-operator/templates/${file}`, import.meta.url), 'utf8'))
    .join('\n');
  const sources = ['README.md', 'docs/metrics.md', 'docs/security.md', 'docs/argocd.md', 'docs/upgrade.md', 'docs/troubleshooting.md', 'docs/concepts.md', 'charts/pt-operator/values.yaml'];
  const named = (prefix: string) =>
    sources.flatMap((path) => [...read(path).matchAll(new RegExp(`${prefix}-([a-z][a-z-]*[a-z])`, 'g'))].map((m) => [path, m[1] as string] as const));

  it('are never "<release>-…" (values.yaml defines the full name as "<release>-pt-operator")', () => {
    expect(named('<release>').filter(([, suffix]) => suffix !== 'pt-operator')).toEqual([]);
  });

  it.each(named('<fullname>'))('%s: <fullname>-%s is a name the chart makes', (_path, suffix) => {
    expect(templates).toContain(`include "pt-operator.suffixedName" (list . "-${suffix}")`);
  });
});
