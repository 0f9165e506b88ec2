import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, TooManyItemsError, parseHostJson, parseJsonShrinkingItems } from '../../../src/databricks/json-items.js';

const same = (text: string) => parseJsonShrinkingItems(text, 'endpoints', (item) => item);

/** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function randomJson(seed: number): unknown {
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // strings full of what a boundary scanner could trip on
  const tricky = ['', '"', '\\', '\\"', '[', ']', '{', '}', ',', ':', '"endpoints":[', 'é', '\u2028', '😀', '\n', '\\\\"'];
  const str = () => Array.from({ length: Math.floor(next() * 4) }, () => tricky[Math.floor(next() * tricky.length)]).join('');
  const value = (depth: number): unknown => {
    const pick = next();
    if (depth > 3 || pick < 0.3) return [null, true, false, 0, -1.5e3, 42, str()][Math.floor(next() * 7)];
    if (pick < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [str(), value(depth + 1)]));
  };
  return {
    before: value(1),
    endpoints: Array.from({ length: Math.floor(next() * 6) }, () => value(1)),
    after: value(1),
  };
}

// A host's list answer of millions of tiny elements (2.6 M "{}" fit in 8 MB) built millions of objects, and then
// millions of validation issues: the operator ran out of memory (session 11). Above maxItems it refuses at once.
describe('parseJsonShrinkingItems: at most maxItems elements', () => {
  const many = (n: number, element = '{}') => `{"endpoints":[${Array.from({ length: n }, () => element).join(',')}]}`;
  it('parses up to maxItems elements', () => {
    expect((parseJsonShrinkingItems(many(5), 'endpoints', (x) => x, 5) as { endpoints: unknown[] }).endpoints).toHaveLength(5);
  });

  it('refuses one more, before parsing any element', () => {
    let shrunk = 0;
    expect(() => parseJsonShrinkingItems(many(6), 'endpoints', (x) => (shrunk++, x), 5)).toThrow(TooManyItemsError);
    expect(shrunk).toBe(0);
  });

  it('refuses the key twice (JSON.parse would keep the last, a whole array built at once)', () => {
    expect(() => parseJsonShrinkingItems(`{"endpoints":1,${many(6).slice(1)}`, 'endpoints', (x) => x, 5)).toThrow(TooManyItemsError);
  });
});

describe('parseJsonShrinkingItems', () => {
  it('returns what JSON.parse returns, for 500 random bodies with strings full of quotes, brackets and escapes', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const body = randomJson(seed);
      for (const text of [JSON.stringify(body), JSON.stringify(body, null, 2)]) {
        expect(same(text), `seed ${seed}`).toStrictEqual(JSON.parse(text));
      }
    }
  });

  it('applies shrink to every element, parsed one at a time (each sees its own element only)', () => {
    const seen: unknown[] = [];
    const text = JSON.stringify({ endpoints: [{ name: 'a', config: { big: [1, 2, 3] } }, { name: 'b', tags: [{ key: 'k', value: ']}' }] }], next_page_token: 't' });
    const result = parseJsonShrinkingItems(text, 'endpoints', (item) => {
      seen.push(item);
      return { name: (item as { name: string }).name };
    });
    expect(result).toStrictEqual({ endpoints: [{ name: 'a' }, { name: 'b' }], next_page_token: 't' });
    expect(seen).toStrictEqual(JSON.parse(text).endpoints);
  });

  it('shrinks an element before it reads the next one, so a whole list tree never exists at once', () => {
    // JSON.parse of the whole text would fail before any element is shrunk
    const shrunk: unknown[] = [];
    expect(() => parseJsonShrinkingItems('{"endpoints":[{"name":"a","config":{}},{"name":"b"},{"name":}]}', 'endpoints', (item) => shrunk.push(item))).toThrow(SyntaxError);
    expect(shrunk).toStrictEqual([{ name: 'a', config: {} }, { name: 'b' }]);
  });

  it('reads shapes without such an array as JSON.parse does (shrinking the elements when the array is there after all)', () => {
    const shrinkName = (item: unknown) => (item as { name: string }).name;
    const cases: [string, unknown][] = [
      ['{}', {}],
      ['{"endpoints":[]}', { endpoints: [] }],
      ['{"endpoints":[ \n ]}', { endpoints: [] }],
      ['{"endpoints":null}', { endpoints: null }],
      ['{"endpoints":"[1,2]"}', { endpoints: '[1,2]' }],
      ['{"endpoints":{"a":[1]}}', { endpoints: { a: [1] } }],
      ['{"other":{"endpoints":[1,2]}}', { other: { endpoints: [1, 2] } }],
      ['[{"endpoints":[1]}]', [{ endpoints: [1] }]],
      ['"text"', 'text'],
      ['{"end\\u0070oints":[{"name":"x"}]}', { endpoints: ['x'] }],
      // the key twice: JSON.parse keeps the last one
      ['{"endpoints":[{"name":"x"}],"endpoints":[{"name":"y"}]}', { endpoints: ['y'] }],
      ['{"endpoints":7,"endpoints":[{"name":"y"}]}', { endpoints: ['y'] }],
    ];
    for (const [text, expected] of cases) expect(parseJsonShrinkingItems(text, 'endpoints', shrinkName), text).toStrictEqual(expected);
  });

  it('keeps a key such as __proto__ an own property, as JSON.parse does', () => {
    const text = '{"__proto__":[{"polluted":true}],"other":1}';
    const result = parseJsonShrinkingItems(text, '__proto__', (item) => item) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toStrictEqual([{ polluted: true }]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects with a SyntaxError every text JSON.parse rejects', () => {
    const bad = [
      '',
      '{',
      '{"endpoints":[1,]}',
      '{"endpoints":[,1]}',
      '{"endpoints":[1,,2]}',
      '{"endpoints":[1 2]}',
      '{"endpoints":[{"a":1}{"b":2}]}',
      '{"endpoints":[{"a":1]}',
      '{"endpoints":[1]',
      '{"endpoints":[1]}}',
      '{"endpoints":[1]} trailing',
      '{"endpoints":[1] "x":2}',
      '{"endpoints":["unterminated]}',
      '{"endpoints":[1],}',
      '{endpoints:[1]}',
      '{"a":"endpoints":[1]}',
      '{"endpoints":["\\x"]}',
    ];
    for (const text of bad) {
      expect(() => JSON.parse(text), text).toThrow(SyntaxError);
      expect(() => same(text), text).toThrow(SyntaxError);
    }
  });
});

describe('parseHostJson: the nesting a host may send', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  it('parses an answer nested as deep as the limit, and refuses one level more unparsed', () => {
    expect(parseHostJson(nested(MAX_JSON_DEPTH))).toBeDefined();
    expect(() => parseHostJson(nested(MAX_JSON_DEPTH + 1))).toThrow(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  });
  it('counts no bracket inside a string, escaped quotes included', () => {
    const text = JSON.stringify({ message: `a "quoted" ${'[{'.repeat(100)} \\ end`, tags: [{ key: 'k', value: ']]]' }] });
    expect(parseHostJson(text)).toEqual(JSON.parse(text));
  });
  it('refuses a deep answer that is not well-formed JSON too, as JSON.parse refuses it', () => {
    expect(() => parseHostJson('['.repeat(1000))).toThrow(SyntaxError);
  });
});
