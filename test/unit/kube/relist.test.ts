import { describe, expect, it } from 'vitest';
import { diffRelist } from '../../../src/kube/relist.js';
import type { KubeObject } from '../../../src/kube/types.js';

const obj = (name: string, rv: string): KubeObject => ({ metadata: { namespace: 'ns', name, resourceVersion: rv } });
const byKey = (...objs: KubeObject[]) => new Map(objs.map((o) => [`ns/${o.metadata.name}`, o]));

describe('diffRelist', () => {
  it('reports objects created, changed and deleted while the watch was down', () => {
    const cached = byKey(obj('same', '1'), obj('changed', '2'), obj('deleted', '3'));
    const listed = byKey(obj('same', '1'), obj('changed', '7'), obj('created', '8'));
    const diff = diffRelist(cached, listed);
    expect(diff.added.map((o) => o.metadata.name)).toEqual(['created']);
    expect(diff.updated.map((u) => [u.oldObj.metadata.resourceVersion, u.newObj.metadata.resourceVersion])).toEqual([['2', '7']]);
    expect(diff.deleted.map((o) => o.metadata.name)).toEqual(['deleted']);
  });

  it('reports nothing when nothing changed', () => {
    const both = byKey(obj('a', '1'), obj('b', '2'));
    expect(diffRelist(both, new Map(both))).toEqual({ added: [], updated: [], deleted: [] });
  });
});
