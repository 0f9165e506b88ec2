// Text a host chose (error bodies, keys of an answer, names) ends up in conditions, Events, logs and the YAML of
// `pt-operator import`. Whoever reads those must see it, not have a terminal or a YAML reader act on it.

/**
 * What a terminal acts on or a YAML reader takes as a line break rather than shows: C0 and C1 controls (ESC, NEL
 * U+0085, \v, \f...), format characters (BOM, bidi overrides), line and paragraph separators (U+2028, U+2029) and
 * lone surrogates.
 */
const UNSHOWABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** Breaks a reader would end a line at: joined with a space in text kept on one line. */
const LINE_BREAKS = /\r\n|[\n\r\t\v\f\u0085\u2028\u2029]/g;

export const hasUnshowable = (text: string): boolean => text.search(UNSHOWABLE) >= 0;

/**
 * Each unshowable character written as its escape, `\u001b` (`\U000e0001` beyond 16 bits), so the text says what
 * the host sent. The escapes are YAML's too: inside a double-quoted YAML string they read back as the character.
 */
export function escapeUnshowable(text: string): string {
  return text.replace(UNSHOWABLE, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Host text as one line of visible characters: line breaks and tabs become a space, the rest is escaped. */
export function oneLine(text: string): string {
  return escapeUnshowable(text.replace(LINE_BREAKS, ' '));
}

/**
 * A short value a host chose (a state, an entity version or name, a model type) as a status field keeps it: one line
 * of visible characters, at most `max` of them, cut between characters (never inside an escape, which would then
 * read as something the host did not send). An absent value stays absent.
 */
export function shortLine(text: string, max?: number): string;
export function shortLine(text: string | undefined, max?: number): string | undefined;
export function shortLine(text: string | undefined, max = 64): string | undefined {
  if (text === undefined) return undefined;
  let shown = '';
  for (const character of text.replace(LINE_BREAKS, ' ')) {
    const piece = escapeUnshowable(character);
    if (shown.length + piece.length > max) break;
    shown += piece;
  }
  return shown;
}
