// The informer cache's secondary indexes must follow every add, change and delete, or an ownership lookup
// (tenancy.ts) would miss a rival or see one that is gone.
import { describe, expect, it } from 'vitest';
import { IndexedCache, type KubeObject } from '../../../src/kube/index.js';

type Obj = KubeObject & { spec: { endpointName?: string } };
const obj = (name: string, endpointName?: string): Obj => ({ apiVersion: 'v1', kind: 'X', metadata: { namespace: 'ns', name }, spec: endpointName ? { endpointName } : {} });
const byName = (o: Obj) => [o.spec.endpointName ?? o.metadata.name];
const names = (objects: Obj[]) => objects.map((o) => o.metadata.name).sort();

describe('IndexedCache', () => {
  it('finds objects by index value through adds, changes and deletes', () => {
    const cache = new IndexedCache<Obj>();
    cache.addIndex('endpointName', byName);
    cache.set('ns/a', obj('a', 'shared'));
    cache.set('ns/b', obj('b', 'shared'));
    cache.set('ns/shared', obj('shared'));
    cache.set('ns/c', obj('c', 'other'));
    expect(names(cache.byIndex('endpointName', 'shared'))).toEqual(['a', 'b', 'shared']);

    cache.set('ns/b', obj('b', 'other')); // a changed object moves between values
    expect(names(cache.byIndex('endpointName', 'shared'))).toEqual(['a', 'shared']);
    expect(names(cache.byIndex('endpointName', 'other'))).toEqual(['b', 'c']);

    cache.delete('ns/a');
    cache.delete('ns/missing');
    expect(names(cache.byIndex('endpointName', 'shared'))).toEqual(['shared']);
    expect(cache.byIndex('endpointName', 'nobody')).toEqual([]);
    expect(cache.size).toBe(3);
  });

  it('indexes what is cached already when an index is added, and refuses an unknown or repeated index', () => {
    const cache = new IndexedCache<Obj>();
    cache.set('ns/a', obj('a', 'shared'));
    cache.addIndex('endpointName', byName);
    expect(names(cache.byIndex('endpointName', 'shared'))).toEqual(['a']);
    expect(() => cache.addIndex('endpointName', byName)).toThrow(/exists already/);
    expect(() => cache.byIndex('other', 'x')).toThrow(/no index other/);
  });

  it('agrees with a scan of every object after many random changes', () => {
    const cache = new IndexedCache<Obj>();
    cache.addIndex('endpointName', byName);
    const reference = new Map<string, Obj>();
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 5_000; i++) {
      const key = `ns/o${random(200)}`;
      if (random(4) === 0) {
        cache.delete(key);
        reference.delete(key);
      } else {
        const o = obj(key.slice(3), `e${random(20)}`);
        cache.set(key, o);
        reference.set(key, o);
      }
    }
    for (let e = 0; e < 20; e++) {
      const scanned = [...reference.values()].filter((o) => o.spec.endpointName === `e${e}`);
      expect(names(cache.byIndex('endpointName', `e${e}`))).toEqual(names(scanned));
    }
  });
});
