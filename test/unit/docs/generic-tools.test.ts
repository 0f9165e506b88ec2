// What the docs promise about tools that wait for these objects holds for the tool a reader runs. Helm 3's --wait (and
// Helm 4's --wait=legacy) counts every custom resource ready at once (test/helm3 shows it on the planned objects), so
// only Helm 4's default --wait (kstatus) waits for an endpoint: a doc that says `helm --wait` waits, without naming
// Helm 4, tells a Helm 3 user a release is done while its canary runs or its spec was refused.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const docs = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = (path: string) => readFileSync(new URL(path, root), 'utf8').replaceAll('\n', ' ');

describe('Helm --wait in the docs', () => {
  it.each(docs)('%s names the Helm version whose --wait waits for an endpoint', (path) => {
    const unqualified = [...text(path).matchAll(/(.{0,40})(`helm --wait`|Helm `--wait`)/g)].filter((m) => !/Helm 4\W*$/.test(m[1] as string)).map((m) => m[0]);
    expect(unqualified).toEqual([]);
  });

  it('docs/concepts.md says what Helm 3 does, and what to wait with instead', () => {
    const concepts = text('docs/concepts.md');
    expect(concepts).toMatch(/Helm 3['’]s `--wait`[^.]*ready at once/);
    expect(concepts).toContain('test/helm3');
  });
});
