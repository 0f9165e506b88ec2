import type { z } from 'zod';

/**
 * One validation rule, written once and used twice: as a CEL `x-kubernetes-validations` entry in
 * the generated CRD (so `kubectl apply` rejects bad input at admission) and as a zod refinement
 * (so the operator and the unit tests reject the same input with the same message).
 */
export interface ValidationRule<T> {
  /** CEL expression evaluated by kube-apiserver, `self` is the value the rule is attached to. */
  cel: string;
  /** The message both kube-apiserver and zod report. Says what to fix. */
  message: string;
  /**
   * The same rule in TypeScript. Absent for transition rules, which need the old object, and for rules the reconciler
   * checks itself so that objects admitted before the rule existed stay readable (and deletable).
   */
  check?: (value: T) => boolean;
  /** Transition rules compare with `oldSelf` and only run on update. */
  transition?: boolean;
  /** Optional CEL fieldPath, so the error names the offending field. */
  fieldPath?: string;
}

/** Attach rules to a schema: zod refinements plus the CRD metadata. */
export function withRules<S extends z.ZodType>(schema: S, rules: ValidationRule<z.output<S>>[]): S {
  let refined = schema;
  for (const rule of rules) {
    const check = rule.check;
    if (!check) continue;
    refined = refined.refine((value: z.output<S>) => check(value), {
      message: rule.message,
      ...(rule.fieldPath ? { path: rule.fieldPath.replace(/^\./, '').split('.') } : {}),
    }) as S;
  }
  return refined.meta({
    'x-kubernetes-validations': rules.map((r) => ({
      rule: r.cel,
      message: r.message,
      ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
    })),
  }) as S;
}

/**
 * A regular-expression rule with a human message. Used instead of OpenAPI `pattern`, whose
 * error ("should match '^[a-z]...'") tells a user nothing. The CEL side uses a raw string
 * literal so the pattern needs no extra escaping.
 */
export function matches(pattern: string, message: string): ValidationRule<string> {
  if (pattern.includes("'")) throw new Error('patterns with single quotes are not supported');
  const regex = re2Regex(pattern);
  return { cel: `self.matches(r'${pattern}')`, message, check: (value) => regex.test(value) };
}

/** RE2's \s: ASCII whitespace only (no \v, no Unicode spaces, unlike JavaScript's). */
const RE2_SPACE = '\\t\\n\\f\\r ';

/**
 * A JavaScript RegExp that matches what CEL's matches() (RE2) matches, for the patterns of this API: \s, \S and `.`
 * are translated to RE2's meaning. JavaScript's \s also takes a no-break space or a vertical tab, so the operator
 * refused objects the API server had admitted (and could then neither apply nor delete their endpoint).
 */
export function re2Regex(pattern: string): RegExp {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '\\') {
      const next = pattern[i + 1] ?? '';
      i++;
      if (next === 's') out += inClass ? RE2_SPACE : `[${RE2_SPACE}]`;
      else if (next === 'S' && !inClass) out += `[^${RE2_SPACE}]`;
      else if (next === 'S') throw new Error(`\\S inside a character class is not supported: ${pattern}`);
      else out += char + next;
      continue;
    }
    if (char === '[' && !inClass) inClass = true;
    else if (char === ']') inClass = false;
    out += char === '.' && !inClass ? '[^\\n]' : char;
  }
  return new RegExp(out, 'u'); // 'u': counts and classes by code point, as RE2 does by rune
}
