// Rolling the operator back and upgrading it again (docs/upgrade.md, "Rolling back"): the previous release's
// operator, run from its own sources against the CRDs and the status this release wrote, then this release again.
// Neither look may send anything to Databricks, flip Ready, lose a record (status.workspaceHost, status.adoption and
// its uid) or record a Warning Event.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, repoRoot } from '../support/cluster.js';
import { type E2E, type OperatorProcess, condition, endpointManifest, isReady, plannedReconciles, startE2E, startOperator } from './harness.js';

// The commit this release's work started from: the release a platform team rolls back to.
const PREVIOUS_RELEASE = 'a0f4eff';
const previousSources = join(repoRoot, '.tmp', `release-${PREVIOUS_RELEASE}`);
const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
// What endpointManifest's spec asks for: adopting or observing it needs no change.
const SERVED = { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] };
const NAMES = ['created', 'adopted', 'observed'];

let e2e: E2E & { startOperator(extraArgs?: string[]): OperatorProcess };

beforeAll(() => {
  // Its sources only: they resolve their packages from this checkout's node_modules (the lockfile is unchanged since).
  if (existsSync(join(previousSources, 'src', 'main.ts'))) return;
  mkdirSync(previousSources, { recursive: true });
  const archive = execFileSync('git', ['-C', repoRoot, 'archive', '--format=tar', PREVIOUS_RELEASE, 'src', 'package.json'], { maxBuffer: 256 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', previousSources], { input: archive });
});

beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-rollback', speed: 480, scenario: { endpoints: ['adopted', 'observed'].map((name) => ({ name, config: SERVED })) } });
});

afterEach(async () => {
  await e2e?.stop();
});

type Status = { workspaceHost?: string; endpointId?: string; adoption?: { endpointId: string; uid?: string }; conditions?: { type: string; status: string; lastTransitionTime: string }[] };
const statusOf = async (name: string) => ((await e2e.get<{ status?: Status }>('pte', name))?.status ?? {}) as Status;

/** Pokes each object twice and waits for two more planned reconciles of each in `operator`'s log: its look is done. */
async function lookedAtAgain(operator: OperatorProcess): Promise<void> {
  for (const round of [1, 2]) {
    const before = new Map(NAMES.map((name) => [name, plannedReconciles(operator.logs(), `${e2e.namespace}/${name}`)]));
    for (const name of NAMES) await e2e.kubectl(['annotate', 'pte', name, '--overwrite', `e2e.ptoperator.io/poke=${Date.now()}-${round}`]);
    await eventually(
      async () => {
        const behind = NAMES.filter((name) => plannedReconciles(operator.logs(), `${e2e.namespace}/${name}`) <= (before.get(name) ?? 0));
        if (behind.length > 0) throw new Error(`no new reconcile of ${behind.join(', ')} in ${operator.logFile}`);
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }
}

async function warnings(): Promise<string[]> {
  const list = JSON.parse(await e2e.kubectl(['get', 'events', '-o', 'json'])) as { items: { type: string; reason: string; message: string }[] };
  return list.items.filter((e) => e.type === 'Warning').map((e) => `${e.reason}: ${e.message}`);
}

describe('rollback to the previous release and upgrade again', () => {
  it('a created, an adopted and an observed endpoint: nothing sent, Ready kept, records kept, no Warning', async () => {
    await e2e.apply([
      endpointManifest('created'),
      endpointManifest('adopted', {}, { annotations: { 'ptoperator.io/adopt': 'true' } }),
      endpointManifest('observed', { managementPolicy: 'Observe' }),
    ]);
    for (const name of NAMES) await e2e.waitUntil('pte', name, isReady, 90_000);
    await e2e.waitUntil('pte', 'adopted', (o) => (o['status'] as Status).adoption?.uid !== undefined);
    await e2e.reconciledAgain(...NAMES);
    const written = Object.fromEntries(await Promise.all(NAMES.map(async (name) => [name, await statusOf(name)] as const)));
    const sentBefore = (await e2e.mutations()).length;
    await e2e.operator.stop('SIGTERM');

    const previous = startOperator({ namespace: e2e.namespace, emulatorUrl: e2e.emulator.url, name: `${e2e.namespace}-previous`, sourceRoot: previousSources });
    try {
      await lookedAtAgain(previous);
      expect(await e2e.mutations()).toHaveLength(sentBefore);
      for (const name of NAMES) {
        const status = await statusOf(name);
        expect(condition({ status }, 'Ready')?.status, `${name} under the previous release`).toBe('True');
        expect({ workspaceHost: status.workspaceHost, endpointId: status.endpointId, adoption: status.adoption }).toEqual({
          workspaceHost: written[name]?.workspaceHost,
          endpointId: written[name]?.endpointId,
          adoption: written[name]?.adoption,
        });
      }
    } finally {
      await previous.stop('SIGTERM');
    }

    const again = e2e.startOperator();
    await lookedAtAgain(again);
    expect(await e2e.mutations()).toHaveLength(sentBefore);
    for (const name of NAMES) {
      const status = await statusOf(name);
      const ready = status.conditions?.find((c) => c.type === 'Ready');
      expect(ready?.status, `${name} upgraded again`).toBe('True');
      // Ready never flipped on the way: its transition time is the one this release wrote first.
      expect(ready?.lastTransitionTime).toBe(written[name]?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime);
      expect(status.adoption).toEqual(written[name]?.adoption);
    }
    expect(await warnings()).toEqual([]);
  });
});
