// The objects deploy/argocd/test (Argo CD's health check in its Lua VM) and test/kstatus (the kstatus library) judge
// for every endpoint state are the statuses the planner writes now (tool-states.ts), not copies that go stale: a
// change of the conditions that is not written to deploy/argocd/test/fixtures/planned/ fails here. To write them:
//   PLANNED_FIXTURES=write npx vitest run --project unit test/unit/controllers/endpoint/tool-states.test.ts
// then run `npm run test:argocd`, `npm run test:kstatus` and `npm run test:helm3`, which say what each tool shows for each of them.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { findCondition, type Condition } from '../../../../src/kube/conditions.js';
import { TOOL_STATES, WORKSPACE_TOOL_STATES, asKubernetesObject } from './tool-states.js';

const directory = new URL('../../../../deploy/argocd/test/fixtures/planned/', import.meta.url);
const write = process.env.PLANNED_FIXTURES === 'write';

const header = '# Written by test/unit/controllers/endpoint/tool-states.test.ts from the planner: do not edit.\n';
const objects = new Map<string, Record<string, unknown>>([
  ...TOOL_STATES.map((s) => [s.name, asKubernetesObject(s.object)] as const),
  ...WORKSPACE_TOOL_STATES.map((s) => [s.name, s.object] as const),
]);
const rendered = (name: string) => header + stringify(objects.get(name), { lineWidth: 0 });

describe('the planned objects the Argo CD and kstatus tests judge', () => {
  if (write) {
    mkdirSync(directory, { recursive: true });
    for (const file of readdirSync(directory)) if (file.endsWith('.yaml')) writeFileSync(new URL(file, directory), '');
  }
  it.each([...objects.keys()])('%s is what the planner writes now', (name) => {
    const file = new URL(`${name}.yaml`, directory);
    if (write) writeFileSync(file, rendered(name));
    expect(existsSync(file) ? readFileSync(file, 'utf8') : `(no ${name}.yaml)`).toBe(rendered(name));
  });

  it('holds no object the planner no longer writes', () => {
    const names = new Set([...objects.keys()].map((name) => `${name}.yaml`));
    const files = existsSync(directory) ? readdirSync(directory).filter((f) => f.endsWith('.yaml') && readFileSync(new URL(f, directory), 'utf8') !== '') : [];
    expect(files.filter((f) => !names.has(f))).toEqual([]);
  });
});

// kubectl wait --for=condition=Ready returns once Ready is True, unless the condition's observedGeneration (or, without
// one, the status') is older than metadata.generation (k8s.io/kubectl/pkg/cmd/wait, checkCondition).
describe('kubectl wait --for=condition=Ready', () => {
  const returns = (object: Record<string, unknown>) => {
    const { metadata, status } = object as { metadata: { generation: number }; status?: { observedGeneration?: number; conditions?: Condition[] } };
    const ready = findCondition(status?.conditions, 'Ready');
    if (!ready) return false;
    const observed = ready.observedGeneration ?? status?.observedGeneration;
    if (observed !== undefined && observed < metadata.generation) return false;
    return ready.status === 'True';
  };
  it.each([...TOOL_STATES, ...WORKSPACE_TOOL_STATES].map((s) => [s.name, s] as const))('%s', (name, state) => {
    expect(returns(objects.get(name)!) ? 'returns' : 'waits').toBe(state.kubectlWaitReady);
  });
});

// Whatever state an endpoint is in, the reason `kubectl get pte -o wide` shows (Ready's) and Synced's are in
// docs/troubleshooting.md's tables, with what to do.
describe('docs/troubleshooting.md explains the reasons of every planned state', () => {
  const troubleshooting = readFileSync(new URL('../../../../docs/troubleshooting.md', import.meta.url), 'utf8');
  const section = (title: string) => {
    const start = troubleshooting.indexOf(`\n## ${title}\n`);
    return troubleshooting.slice(start, troubleshooting.indexOf('\n## ', start + 1));
  };
  it.each(TOOL_STATES.map((s) => [s.name, s] as const))('%s', (_, state) => {
    for (const type of ['Ready', 'Synced'] as const) {
      const reason = findCondition(state.object.status.conditions as Condition[] | undefined, type)?.reason;
      if (reason !== undefined) expect(section(type), `${type} ${reason}`).toContain(`\`${reason}\``);
    }
  });
});
