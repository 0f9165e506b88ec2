// re2Regex must match what CEL's matches() (RE2) matches: what the API server admits, the operator reads.
import { describe, expect, it } from 'vitest';
import { re2Regex } from '../../../src/api/v1alpha1/rules.js';

describe('re2Regex', () => {
  it.each([
    ['^[^.\\s]+$', 'a\u00a0b', true], // RE2's \s is ASCII: a no-break space is no space
    ['^[^.\\s]+$', 'a\u000bb', true], // nor a vertical tab
    ['^[^.\\s]+$', 'a b', false],
    ['^[^.\\s]+$', 'a\tb', false],
    ['^\\S+( \\S+){1}$', 'a\u3000b c', true],
    ['^\\S+$', 'a\nb', false],
    ['^a.b$', 'a\rb', true], // RE2's . takes everything but \n
    ['^a.b$', 'a\nb', false],
    ['^[.]$', 'x', false],
    ['^https://[^/\\s?#@:\\[\\]]+$', 'https://[x]', false],
  ])('%s on %j is %s', (pattern, value, matched) => {
    expect(re2Regex(pattern).test(value)).toBe(matched);
  });
});
