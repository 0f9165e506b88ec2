// Every condition reason and Event reason the operator writes is one a user can look up (docs/troubleshooting.md:
// what it means, what to do), every reason the docs name is one the operator writes, and the Argo CD health checks
// and the kstatus rules (docs/argocd.md, docs/concepts.md) cover each Ready and Synced reason. A reason added to
// the code without a line in the docs, or renamed in one place only, fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EndpointReadyReason, EndpointSyncedReason, WorkspaceReadyReason } from '../../../src/api/v1alpha1/index.js';
import { SETTINGS_PARTS } from '../../../src/controllers/endpoint/settings.js';
import { PartReason } from '../../../src/controllers/endpoint/settings-part.js';
import { STALLED_REASONS } from '../../../src/controllers/endpoint/status-summary.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

const readyReasons = Object.values(EndpointReadyReason);
const syncedReasons = Object.values(EndpointSyncedReason);
const workspaceReasons = Object.values(WorkspaceReadyReason);
const partReasons = Object.values(PartReason);
const partConditions = SETTINGS_PARTS.map((part) => part.conditionType);

/** The text of a "## title" section of a markdown file, up to the next "## ". */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`no section "## ${title}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The backquoted words of the first column of a section's table rows. */
function firstColumnNames(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| reason') && !line.startsWith('| condition'))
    .flatMap((line) => [...(line.split(' | ')[0] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1] as string));
}

const named = (text: string, name: string) => text.includes(`\`${name}\``);

/**
 * The reasons of Events the controllers record in so many words (an action, a finding), besides the condition
 * transitions (a Ready, Synced or workspace reason) and the settings parts' `<Part><Reason>`. They are literals at
 * the call, so they are read from the source.
 */
function explicitEventReasons(): Set<string> {
  const patterns = [
    /\.event\(\s*'(?:Normal|Warning)',\s*'(\w+)'/g,
    /\.record\([^,()]+,\s*'(?:Normal|Warning)',\s*'(\w+)'/g,
    /type: '(?:Normal|Warning)',\s*reason: '(\w+)'/g,
  ];
  const reasons = new Set<string>();
  for (const dir of ['src/controllers/endpoint/', 'src/controllers/workspace/', 'src/controllers/']) {
    for (const file of readdirSync(new URL(dir, root)).filter((f) => f.endsWith('.ts'))) {
      const source = read(dir + file);
      for (const pattern of patterns) for (const match of source.matchAll(pattern)) reasons.add(match[1] as string);
    }
  }
  return reasons;
}

const troubleshooting = read('docs/troubleshooting.md');

describe('docs/troubleshooting.md names every reason the operator writes', () => {
  it.each(readyReasons)('Ready %s', (reason) => expect(named(section(troubleshooting, 'Ready'), reason)).toBe(true));
  it.each(syncedReasons)('Synced %s', (reason) => expect(named(section(troubleshooting, 'Synced'), reason)).toBe(true));
  it.each(workspaceReasons)('DatabricksWorkspace Ready %s', (reason) => expect(named(section(troubleshooting, 'DatabricksWorkspace Ready'), reason)).toBe(true));

  const settings = () => section(troubleshooting, 'Settings: AiGatewaySynced, PermissionsSynced, NotificationsSynced, TelemetrySynced, CreationSettingsSynced');
  it.each(partConditions)('settings condition %s', (type) => expect(named(settings(), type)).toBe(true));
  it.each(partReasons)('settings reason %s', (reason) => expect(named(settings(), reason)).toBe(true));

  const events = [...explicitEventReasons()].sort();
  it('reads the Event reasons from the source (the patterns still match the calls)', () => {
    expect(events).toEqual(expect.arrayContaining(['CreatingEndpoint', 'DriftDetected', 'SettingRemoved', 'CRDDeleted', 'Orphaned']));
  });
  it.each(events)('Event %s', (reason) => expect(named(section(troubleshooting, 'Events'), reason)).toBe(true));

  it('says how a settings part names its Events', () => {
    expect(section(troubleshooting, 'Events')).toContain('`<Part><Reason>`');
  });
});

describe('docs/troubleshooting.md names no reason the operator does not write', () => {
  const endpointReasons = [...readyReasons, ...syncedReasons];
  it.each([
    ['Ready', endpointReasons],
    ['Synced', syncedReasons],
    ['DatabricksWorkspace Ready', workspaceReasons],
    ['Settings: AiGatewaySynced, PermissionsSynced, NotificationsSynced, TelemetrySynced, CreationSettingsSynced', [...partConditions, ...partReasons]],
    ['Events', [...explicitEventReasons()]],
  ] as const)('the table of "%s"', (title, known) => {
    const stale = firstColumnNames(section(troubleshooting, title)).filter((name) => !(known as readonly string[]).includes(name));
    expect(stale).toEqual([]);
  });

  it('nor anywhere a condition is shown with its reason (Synced=False Reason)', () => {
    const known = new Set<string>([...endpointReasons, ...workspaceReasons, ...partReasons]);
    const files = ['README.md', ...readdirSync(new URL('docs/', root)).map((f) => `docs/${f}`)];
    const stale = files.flatMap((file) =>
      [...read(file).matchAll(/\b(?:Ready|Synced|Stalled|Reconciling)=(?:True|False|Unknown)`?,? `?([A-Z][A-Za-z]+)/g)]
        .map((m) => m[1] as string)
        .filter((reason) => !known.has(reason))
        .map((reason) => `${file}: ${reason}`),
    );
    expect(stale).toEqual([]);
  });
});

/** The reasons of a Lua table `local NAME = { Reason = true, ... }`. */
function luaSet(script: string, name: string): string[] {
  const body = new RegExp(`local ${name} = \\{([^}]*)\\}`).exec(script)?.[1] ?? '';
  return [...body.matchAll(/(\w+) = true/g)].map((m) => m[1] as string).sort();
}

/** The Ready and Synced reasons of the captured objects the Argo CD and kstatus tests read. */
function fixtureReasons(prefix: 'endpoint-' | 'workspace-'): Set<string> {
  const dir = 'deploy/argocd/test/fixtures/';
  const reasons = new Set<string>();
  for (const file of readdirSync(new URL(dir, root)).filter((f) => f.startsWith(prefix))) {
    const obj = parse(read(dir + file)) as { status?: { conditions?: { type: string; reason: string }[] } };
    for (const c of obj.status?.conditions ?? []) if (c.type === 'Ready' || c.type === 'Synced') reasons.add(c.reason);
  }
  return reasons;
}

describe('the Argo CD health checks', () => {
  const endpointLua = read('deploy/argocd/resource_customizations/serving.ptoperator.io/ProvisionedThroughputEndpoint/health.lua');
  const workspaceLua = read('deploy/argocd/resource_customizations/serving.ptoperator.io/DatabricksWorkspace/health.lua');
  const healthTest = read('deploy/argocd/test/health_test.go');
  const argocd = read('docs/argocd.md');

  it('call Degraded exactly the Synced reasons the operator calls Stalled', () => {
    expect(luaSet(endpointLua, 'TERMINAL_SYNCED_REASONS')).toEqual([...STALLED_REASONS].sort());
  });

  it('call a workspace Degraded for every failing reason but HostUnreachable, which the operator retries', () => {
    const failing = workspaceReasons.filter((r) => r !== WorkspaceReadyReason.Authenticated && r !== WorkspaceReadyReason.HostUnreachable);
    expect(luaSet(workspaceLua, 'TERMINAL_READY_REASONS')).toEqual([...failing].sort());
  });

  const endpointCovered = new Set([...fixtureReasons('endpoint-'), ...[...healthTest.matchAll(/"(\w+)"/g)].map((m) => m[1])]);
  it.each([...new Set([...readyReasons, ...syncedReasons])])('have a case for endpoint reason %s', (reason) => expect(endpointCovered.has(reason)).toBe(true));
  const workspaceCovered = new Set([...fixtureReasons('workspace-'), ...[...healthTest.matchAll(/"(\w+)"/g)].map((m) => m[1])]);
  it.each(workspaceReasons)('have a case for workspace reason %s', (reason) => expect(workspaceCovered.has(reason)).toBe(true));

  it('are described in docs/argocd.md with the same Degraded reasons', () => {
    const row = argocd.split('\n').find((line) => line.startsWith('| `Synced=False` for the current generation, reason'))!;
    expect([...row.split(' | ')[0]!.matchAll(/`(\w+)`/g)].map((m) => m[1]).filter((r) => r !== 'Synced').sort()).toEqual([...STALLED_REASONS].sort());
  });
});

describe('docs/concepts.md on kstatus', () => {
  const table = section(read('docs/concepts.md'), 'Status for generic tools (kstatus)').split('\n');
  const reasonsOf = (rowStart: string) => [...(table.find((line) => line.startsWith(rowStart))?.split(' | ')[1] ?? '').matchAll(/`([A-Z][a-z][A-Za-z]*)`/g)].map((m) => m[1] as string);

  it('lists as Stalled exactly the Synced reasons the operator calls Stalled', () => {
    expect(reasonsOf('| `Stalled=True`').sort()).toEqual([...STALLED_REASONS].sort());
  });

  // Paused and an observed endpoint's drift are neither: the operator will not act, by design (status-summary.ts).
  it('lists as Reconciling every other reason but Available, ReconcileSuccess, ReconcilePaused and Drifted', () => {
    const others = [...new Set([...readyReasons, ...syncedReasons])].filter(
      (r) => !STALLED_REASONS.has(r) && r !== EndpointReadyReason.Available && r !== EndpointSyncedReason.ReconcileSuccess && r !== EndpointSyncedReason.ReconcilePaused && r !== EndpointSyncedReason.Drifted,
    );
    expect(reasonsOf('| `Reconciling=True` |').sort()).toEqual(others.sort());
  });

  it('has a captured object for each reason kstatus is tested on, or names its default', () => {
    const captured = fixtureReasons('endpoint-');
    const documented = new Set([...reasonsOf('| `Stalled=True`'), ...reasonsOf('| `Reconciling=True` |'), ...reasonsOf('| neither |'), 'Available', 'ReconcileSuccess']);
    const missing = [...new Set([...readyReasons, ...syncedReasons])].filter((r) => !captured.has(r) && !documented.has(r));
    expect(missing).toEqual([]);
  });
});

// The alert docs/metrics.md offers for "an endpoint needs a human" listed the Stalled reasons by hand and missed
// WorkspaceChanged: an endpoint whose object names another workspace than its endpoint's never paged anyone.
describe('docs/metrics.md', () => {
  it('alerts on every endpoint the operator calls Stalled', () => {
    const alert = read('docs/metrics.md').split('\n').find((line) => line.includes('an endpoint needs a human')) ?? '';
    const listed = /reason=~"([^"]*)"/.exec(alert)?.[1]?.split('|') ?? [];
    const coversAll = alert.includes('type="Stalled",status="True"') || [...STALLED_REASONS].every((r) => listed.includes(r));
    expect(coversAll, alert).toBe(true);
  });
});
