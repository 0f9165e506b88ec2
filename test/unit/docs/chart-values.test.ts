// The chart values the docs tell a platform team to set (`--set x.y=...`, "chart value `x.y`", "(chart: `x.y`)") are
// values the chart has: a value renamed in values.yaml and not in the docs would be set, ignored by Helm, and leave
// the release without what the reader asked for.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../../', import.meta.url);
const docs = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const values = parse(readFileSync(new URL('charts/pt-operator/values.yaml', root), 'utf8')) as Record<string, unknown>;

const MENTION = /(?:chart values? |\(chart: |--set(?:-json|-string)? '?)`?([a-zA-Z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9]+)+)/g;
const mentions = docs.flatMap((path) =>
  [...readFileSync(new URL(path, root), 'utf8').replaceAll('\n', ' ').matchAll(MENTION)].map((m) => [path, m[1] as string] as const),
);

/** Whether values.yaml has the path, or a free-form map on its way (`updateStrategy: {}` takes Kubernetes' fields). */
function hasValue(path: string): boolean {
  let node: unknown = values;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return false;
    if (Object.keys(node).length === 0) return true;
    if (!(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

describe('chart values named in the docs', () => {
  it('are found', () => {
    expect(mentions.length).toBeGreaterThan(10);
  });

  it.each(mentions)('%s: %s is a value of charts/pt-operator/values.yaml', (_path, value) => {
    expect(hasValue(value)).toBe(true);
  });
});
