// The objects deploy/argocd/test/fixtures/*.yaml were captured from real runs (capture-fixtures.ts), so they can go
// stale when the rules change. What kstatus reads of them (Reconciling, Stalled) is derived from Ready, Synced and the
// settings parts (status-summary.ts; workspace/status.ts): derived again now, it must be what was captured, or the
// fixtures must be captured again.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { summarizeConditions } from '../../../../src/controllers/endpoint/status-summary.js';
import { workspaceConditions } from '../../../../src/controllers/workspace/status.js';
import { type Condition, findCondition } from '../../../../src/kube/conditions.js';

const directory = new URL('../../../../deploy/argocd/test/fixtures/', import.meta.url);
interface Captured {
  metadata: { generation: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}
const captured = readdirSync(directory)
  .filter((f) => f.endsWith('.yaml'))
  .map((file) => [file, parse(readFileSync(new URL(file, directory), 'utf8')) as Captured] as const)
  .filter(([, object]) => object.status?.conditions !== undefined);

const derivedOnly = (c: Condition) => c.type === 'Reconciling' || c.type === 'Stalled';
const shown = (list: readonly Condition[]) =>
  list
    .filter(derivedOnly)
    .map((c) => `${c.type}=${c.status} ${c.reason}`)
    .sort();

describe('the captured fixtures still hold what kstatus would read of them now', () => {
  it('there are captured fixtures with conditions', () => expect(captured.length).toBeGreaterThan(20));

  it.each(captured)('%s', (file, object) => {
    const conditions = object.status!.conditions!;
    const now = new Date('2026-01-01T00:00:00Z');
    const derived = file.startsWith('workspace-')
      ? (() => {
          const ready = findCondition(conditions, 'Ready')!;
          return workspaceConditions(conditions, { ready: ready.status === 'True', reason: ready.reason, message: ready.message }, ready.observedGeneration, now);
        })()
      : summarizeConditions(conditions.filter((c) => !derivedOnly(c)), object.metadata.generation, now, object.status!.observedGeneration);
    expect(shown(derived)).toEqual(shown(conditions));
    expect(findCondition(derived, 'Synced')?.message).toBe(findCondition(conditions, 'Synced')?.message);
  });
});
