// Upgrading the operator and rolling it back (docs/upgrade.md): this release reading status in the shapes earlier
// releases wrote, and the previous release's operator, run from its own sources against the CRDs and the status this
// release wrote, then this release again. No look may send anything to Databricks, flip a condition, lose a record
// (status.workspaceHost, status.adoption and its uid) or record a Warning Event.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, repoRoot } from '../support/cluster.js';
import { type E2E, type OperatorProcess, addFaults, editOutOfBand, endpointManifest, isReady, plannedReconciles, startE2E, startOperator } from './harness.js';

// The commit this release's work started from: the release a platform team rolls back to.
const PREVIOUS_RELEASE = 'a0f4eff';
const previousSources = join(repoRoot, '.tmp', `release-${PREVIOUS_RELEASE}`);
const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
// What endpointManifest's spec asks for: adopting or observing it needs no change.
const SERVED = { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] };
const NAMES = ['created', 'adopted', 'observed'];
const CANARY_MODEL = 'main.default.support_bot_llama';
/** A cron expression (seconds first, UTC) for one moment of the day. */
const cronAt = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
};

let e2e: E2E & { startOperator(extraArgs?: string[]): OperatorProcess };

beforeAll(() => {
  // Its sources only: they resolve their packages from this checkout's node_modules (the lockfile is unchanged since).
  if (existsSync(join(previousSources, 'src', 'main.ts'))) return;
  mkdirSync(previousSources, { recursive: true });
  const archive = execFileSync('git', ['-C', repoRoot, 'archive', '--format=tar', PREVIOUS_RELEASE, 'src', 'package.json'], { maxBuffer: 256 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', previousSources], { input: archive });
});

beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-upgrade', speed: 480, scenario: { endpoints: ['adopted', 'observed', 'bare'].map((name) => ({ name, config: SERVED })) } });
});

afterEach(async () => {
  await e2e?.stop();
});

type Condition = { type: string; status: string; reason: string; lastTransitionTime: string };
type Status = { workspaceHost?: string; endpointId?: string; adoption?: { endpointId: string; uid?: string }; conditions?: Condition[] } & Record<string, unknown>;
const statusOf = async (name: string) => ((await e2e.get<{ status?: Status }>('pte', name))?.status ?? {}) as Status;
/** What a user and generic tools read of the conditions: a flip changes a status, a reason or a transition time. */
const verdicts = (status: Status) => (status.conditions ?? []).map(({ type, status: value, reason, lastTransitionTime }) => ({ type, status: value, reason, lastTransitionTime }));

/** Pokes each object twice and waits for two more planned reconciles of each in `operator`'s log: its look is done. */
async function lookedAtAgain(operator: OperatorProcess, names: readonly string[]): Promise<void> {
  for (const round of [1, 2]) {
    const before = new Map(names.map((name) => [name, plannedReconciles(operator.logs(), `${e2e.namespace}/${name}`)]));
    for (const name of names) await e2e.kubectl(['annotate', 'pte', name, '--overwrite', `e2e.ptoperator.io/poke=${Date.now()}-${round}`]);
    await eventually(
      async () => {
        const behind = names.filter((name) => plannedReconciles(operator.logs(), `${e2e.namespace}/${name}`) <= (before.get(name) ?? 0));
        if (behind.length > 0) throw new Error(`no new reconcile of ${behind.join(', ')} in ${operator.logFile}`);
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }
}

async function warnings(): Promise<string[]> {
  const list = JSON.parse(await e2e.kubectl(['get', 'events', '-o', 'json'])) as { items: { type: string; reason: string; message: string; count?: number }[] };
  return list.items.filter((e) => e.type === 'Warning').map((e) => `${e.reason} (${e.count ?? 1}x): ${e.message}`);
}

/**
 * This release's operator stops; the previous release's looks at every object, then this release's again. Neither
 * sends anything to Databricks; each object's conditions, records and `kept` status fields stay as this release wrote
 * them; no Warning is recorded (again).
 */
async function rollBackAndUpgradeAgain(names: readonly string[], kept: readonly string[] = [], underPrevious?: () => Promise<void>): Promise<void> {
  await e2e.reconciledAgain(...names);
  const written = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await statusOf(name)] as const)));
  const heldOn = (status: Status | undefined) => ({
    conditions: verdicts(status ?? {}),
    records: { workspaceHost: status?.workspaceHost, endpointId: status?.endpointId, adoption: status?.adoption },
    ...Object.fromEntries(kept.map((field) => [field, status?.[field]])),
  });
  const sentBefore = await e2e.mutations();
  const warnedBefore = await warnings();
  await e2e.operator.stop('SIGTERM');

  const previous = startOperator({ namespace: e2e.namespace, emulatorUrl: e2e.emulator.url, name: `${e2e.namespace}-previous`, sourceRoot: previousSources });
  try {
    await lookedAtAgain(previous, names);
    expect(await e2e.mutations(), 'sent by the previous release').toEqual(sentBefore);
    for (const name of names) expect(heldOn(await statusOf(name)), `${name} under the previous release`).toEqual(heldOn(written[name]));
    await underPrevious?.();
  } finally {
    await previous.stop('SIGTERM');
  }

  const sentByPrevious = await e2e.mutations();
  const again = e2e.startOperator();
  await lookedAtAgain(again, names);
  expect(await e2e.mutations(), 'sent after the upgrade again').toEqual(sentByPrevious);
  for (const name of names) expect(heldOn(await statusOf(name)), `${name} upgraded again`).toEqual(heldOn(written[name]));
  expect(await warnings()).toEqual(warnedBefore);
}

describe('rollback to the previous release and upgrade again', () => {
  it('a created, an adopted and an observed endpoint: nothing sent, Ready kept, records kept, no Warning; one created under the previous release is Ready', async () => {
    await e2e.apply([
      endpointManifest('created'),
      endpointManifest('adopted', {}, { annotations: { 'ptoperator.io/adopt': 'true' } }),
      endpointManifest('observed', { managementPolicy: 'Observe' }),
    ]);
    for (const name of NAMES) await e2e.waitUntil('pte', name, isReady, 90_000);
    await e2e.waitUntil('pte', 'adopted', (o) => (o['status'] as Status).adoption?.uid !== undefined);
    // An object made while the previous release runs: the API server serves it this release's status default.
    await rollBackAndUpgradeAgain(NAMES, [], async () => {
      await e2e.apply(endpointManifest('fresh'));
      await e2e.waitUntil('pte', 'fresh', isReady, 90_000);
    });
    const sent = await e2e.mutations();
    await e2e.reconciledAgain('fresh');
    expect(await e2e.mutations()).toEqual(sent);
    expect(await e2e.get('pte', 'fresh').then((o) => o && isReady(o))).toBe(true);
  });

  it('a capacity retry waiting, a canary paused at a step, a schedule window open: nothing sent, each stays where it was', async () => {
    // One rollout short of GPU capacity: the first, the capacity object's; the canary's model is the same.
    await addFaults(e2e.emulator.url, { type: 'capacity', model: CANARY_MODEL, attempts: 1 });
    await e2e.apply(endpointManifest('capacity', { model: { name: CANARY_MODEL, version: '1' }, capacityRetry: { initialBackoff: '10m', maxBackoff: '10m', timeout: '1h' } }));
    await e2e.waitUntil('pte', 'capacity', (o) => (o['status'] as { capacity?: { nextRetryTime?: string } }).capacity?.nextRetryTime !== undefined, 60_000);

    await e2e.apply(endpointManifest('canary', { model: { name: CANARY_MODEL, version: '2' }, throughput: { chunks: { min: 1, max: 2 } }, canary: { steps: [10, 50], pause: '1h' } }));
    await e2e.waitUntil('pte', 'canary', isReady, 60_000);
    await e2e.kubectl(['patch', 'pte', 'canary', '--type=merge', '-p', JSON.stringify({ spec: { model: { name: CANARY_MODEL, version: '3' } } })]);
    await e2e.waitUntil('pte', 'canary', (o) => (o['status'] as { canary?: { phase?: string; share?: number } }).canary?.phase === 'Paused', 60_000);

    const now = Date.now();
    const window = { name: 'peak', start: cronAt(now - 60_000), end: cronAt(now + 2 * 3_600_000), throughput: { chunks: { min: 3, max: 3 } } };
    await e2e.apply(endpointManifest('scheduled', { schedule: { timeZone: 'UTC', windows: [window] } }));
    await e2e.waitUntil('pte', 'scheduled', (o) => isReady(o) && (o['status'] as { schedule?: { activeWindow?: string } }).schedule?.activeWindow === 'peak', 60_000);

    await rollBackAndUpgradeAgain(['capacity', 'canary', 'scheduled'], ['capacity', 'canary', 'schedule', 'served']);
  });
});

/** Status as earlier releases wrote it: no status.workspaceHost, an adoption record without uid or fromUid, capacity attempts without retryTimeout. */
async function asAnEarlierReleaseWroteIt(name: string): Promise<void> {
  const status = await statusOf(name);
  const paths = [
    status.workspaceHost !== undefined && '/status/workspaceHost',
    status.adoption?.uid !== undefined && '/status/adoption/uid',
    (status.adoption as { fromUid?: string } | undefined)?.fromUid !== undefined && '/status/adoption/fromUid',
    (status['capacity'] as { retryTimeout?: string } | undefined)?.retryTimeout !== undefined && '/status/capacity/retryTimeout',
  ].filter((path) => path !== false);
  await e2e.kubectl(['patch', 'pte', name, '--subresource=status', '--type=json', '-p', JSON.stringify(paths.map((path) => ({ op: 'remove', path })))]);
  expect((await statusOf(name)).workspaceHost).toBeUndefined();
}

describe('upgrade over status an earlier release wrote', () => {
  it('created, adopted, waiting for capacity, a canary at a step, being deleted: nothing sent but the deletions, no condition flips, the host recorded again, no Warning', async () => {
    const names = ['created', 'adopted', 'capacity', 'canary'];
    await addFaults(e2e.emulator.url, { type: 'capacity', model: CANARY_MODEL, attempts: 1 });
    // The fault's one failed rollout is the capacity object's: the canary, of the same model, comes after it.
    await e2e.apply(endpointManifest('capacity', { model: { name: CANARY_MODEL, version: '1' }, capacityRetry: { initialBackoff: '10m', maxBackoff: '10m', timeout: '1h' } }));
    await e2e.waitUntil('pte', 'capacity', (o) => (o['status'] as { capacity?: { nextRetryTime?: string } }).capacity?.nextRetryTime !== undefined, 60_000);
    await e2e.apply([
      endpointManifest('created'),
      endpointManifest('doomed'),
      endpointManifest('adopted', {}, { annotations: { 'ptoperator.io/adopt': 'true' } }),
      // Adopted with no change, so never tagged: its record alone, without the host, holds nothing after the upgrade.
      endpointManifest('bare', {}, { annotations: { 'ptoperator.io/adopt': 'true' } }),
      endpointManifest('canary', { model: { name: CANARY_MODEL, version: '2' }, throughput: { chunks: { min: 1, max: 2 } }, canary: { steps: [10, 50], pause: '1h' } }),
    ]);
    for (const name of ['created', 'doomed', 'canary']) await e2e.waitUntil('pte', name, isReady, 90_000);
    await e2e.kubectl(['patch', 'pte', 'canary', '--type=merge', '-p', JSON.stringify({ spec: { model: { name: CANARY_MODEL, version: '3' } } })]);
    await e2e.waitUntil('pte', 'canary', (o) => (o['status'] as { canary?: { phase?: string } }).canary?.phase === 'Paused', 60_000);
    // Adopted by a release before issue 15, which wrote the owner tags at once.
    const adopted = await e2e.waitUntil('pte', 'adopted', (o) => isReady(o) && (o['status'] as Status).adoption?.uid !== undefined);
    const uid = (adopted['metadata'] as { uid: string }).uid;
    await editOutOfBand(e2e.emulator.url, 'adopted', { tags: { add: [{ key: 'pt-operator-owner-uid', value: uid }, { key: 'pt-operator-owner', value: `${e2e.namespace}.adopted` }] } });
    await e2e.waitUntil('pte', 'bare', (o) => isReady(o) && (o['status'] as Status).adoption?.uid !== undefined);
    await e2e.reconciledAgain(...names, 'doomed', 'bare');

    const written = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await statusOf(name)] as const)));
    const heldOn = (status: Status | undefined) => ({
      conditions: verdicts(status ?? {}),
      records: { workspaceHost: status?.workspaceHost, endpointId: status?.endpointId, adoption: status?.adoption?.endpointId },
      canary: status?.['canary'],
      capacity: { ...(status?.['capacity'] as object | undefined), retryTimeout: undefined },
    });
    const sentBefore = await e2e.mutations();
    const warnedBefore = await warnings();
    await e2e.operator.stop('SIGTERM');
    for (const name of [...names, 'doomed', 'bare']) await asAnEarlierReleaseWroteIt(name);
    // Deleted across the upgrade: a created endpoint, and one adopted untagged whose object still asks to adopt.
    await e2e.kubectl(['delete', 'pte', 'doomed', 'bare', '--wait=false']);

    const upgraded = e2e.startOperator();
    await lookedAtAgain(upgraded, names);
    for (const name of ['doomed', 'bare']) await eventually(async () => expect(await e2e.get('pte', name)).toBeUndefined(), { timeoutMs: 60_000 });
    const sent = (await e2e.mutations()).slice(sentBefore.length);
    expect(sent.map((c) => `${c.operation} ${c.path}`).sort()).toEqual([expect.stringMatching(/^delete .*\/bare$/), expect.stringMatching(/^delete .*\/doomed$/)]);
    for (const name of names) expect(heldOn(await statusOf(name)), `${name} after the upgrade`).toEqual(heldOn(written[name]));
    expect(await warnings()).toEqual(warnedBefore);
  });
});
