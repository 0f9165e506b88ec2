// JSON.parse for a body whose bulk is one top-level array, e.g. a list of 10,000 endpoints ({"endpoints": [ … ]}).
// JSON.parse builds the whole tree before anyone can drop what they do not read: for such a list that is over a
// hundred thousand objects alive at once (issue 12 item 4). Here each element is parsed on its own and shrunk
// before the next one is read, so only what the caller keeps of each element outlives it (bench/list-parse.ts).
// Hand-written (README.md): the streaming JSON parsers we know of tokenize every character in JavaScript; this one
// only finds the elements' boundaries and leaves the parsing, and every syntax check, to JSON.parse.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Where the array that is the value of the top-level `key` starts and ends, and the commas between its elements. */
interface ArraySpan {
  open: number;
  close: number;
  commas: number[];
}

/**
 * How deep a host's answer may nest objects and arrays. Databricks' answers nest about ten levels; JSON.parse spends
 * about ten times longer on arrays nested millions deep than on a flat text of the same size (1.5 s for 8 MiB), on
 * the operator's one thread, and builds twice the heap.
 */
export const MAX_JSON_DEPTH = 64;

/** The answer nests deeper than MAX_JSON_DEPTH: refused unparsed, as text JSON.parse rejects is. */
export class TooDeepError extends SyntaxError {
  override readonly name = 'TooDeepError';
  constructor() {
    super(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
}

/**
 * How many values one answer (or one element of the endpoint list, parsed on its own) may hold, counted as its objects
 * and arrays and the commas between their members and elements. An endpoint holds some hundreds (at most 15 served
 * entities, its tags, its settings). Flat, "{}" fits 2.8 million times in 8 MiB: building and validating them held
 * the operator's one thread 8 to 24 s (an endpoint's served entities, its tags, an error's details), the parsed answer
 * some 160 MiB of heap; and 19,500 entities whose 19 fields are each of the wrong type, 370,000 validation issues,
 * held it 3 s.
 */
export const MAX_JSON_VALUES = 20_000;

/** The answer holds more than MAX_JSON_VALUES values: refused unparsed. */
export class TooManyValuesError extends RangeError {
  override readonly name = 'TooManyValuesError';
  constructor() {
    super(`holds more than ${MAX_JSON_VALUES} values (objects, arrays, their members and elements)`);
  }
}

/**
 * JSON.parse for a host's answer: one pass over the text first refuses one nested deeper than MAX_JSON_DEPTH or
 * holding more than MAX_JSON_VALUES values.
 */
export function parseHostJson(text: string): unknown {
  let depth = 0;
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // a string's brackets are text: skip to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > MAX_JSON_DEPTH) throw new TooDeepError();
      if (++values > MAX_JSON_VALUES) throw new TooManyValuesError();
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
    else if (c === COMMA && ++values > MAX_JSON_VALUES) throw new TooManyValuesError();
  }
  return JSON.parse(text);
}

/**
 * What `JSON.parse(text)` returns, with `shrink` applied to each element of the top-level array `key`, each element
 * parsed and shrunk on its own. Throws a SyntaxError for any text JSON.parse rejects. Without such an array (another
 * shape, or the key twice), it is JSON.parse and `shrink` of each element afterwards.
 */
export function parseJsonShrinkingItems(text: string, key: string, shrink: (item: unknown) => unknown, maxItems = Number.POSITIVE_INFINITY): unknown {
  const span = findTopLevelArray(text, key, maxItems);
  if (span === undefined) return shrinkWhole(parseHostJson(text), key, shrink, maxItems);
  // Everything around the array (at least the braces) goes through JSON.parse, so nothing escapes its checks.
  const envelope = parseHostJson(text.slice(0, span.open + 1) + text.slice(span.close)) as Record<string, unknown>;
  const items: unknown[] = [];
  let from = span.open + 1;
  for (const end of [...span.commas, span.close]) {
    const element = text.slice(from, end);
    // "[]" (or "[ ]"): no elements; an empty element anywhere else ("[1,]", "[,1]") is JSON.parse's SyntaxError
    if (span.commas.length === 0 && element.trim() === '') break;
    items.push(shrink(parseHostJson(element)));
    from = end + 1;
  }
  defineOwn(envelope, key, items);
  return envelope;
}

function shrinkWhole(value: unknown, key: string, shrink: (item: unknown) => unknown, maxItems: number): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const array = (value as Record<string, unknown>)[key];
  if (Array.isArray(array) && array.length > maxItems) throw new TooManyItemsError(key, maxItems);
  if (Array.isArray(array)) defineOwn(value, key, array.map(shrink));
  return value;
}

/**
 * The array under the key has more than `maxItems` elements: refused before any element is parsed (a host's answer
 * of millions of tiny elements, "{}" fits 2.6 million times in 8 MB, would build as many objects and then as many
 * validation issues).
 */
export class TooManyItemsError extends RangeError {
  override readonly name = 'TooManyItemsError';
  constructor(key: string, maxItems: number) {
    super(`more than ${maxItems} elements in "${key}"`);
  }
}

/** Defined, not assigned: as JSON.parse does, even for a key such as "__proto__". */
function defineOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The span of the array under `key` of the top-level object, or undefined (not an object, no such array, the key twice). */
function findTopLevelArray(text: string, key: string, maxItems: number): ArraySpan | undefined {
  let depth = 0;
  let lastString: [number, number] | undefined;
  let currentKey: string | undefined;
  let span: ArraySpan | undefined;
  let inTarget = false;
  let matches = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i);
      if (end < 0) return undefined; // unterminated: JSON.parse reports it
      if (depth === 1 && currentKey === undefined) lastString = [i, end];
      else if (depth === 1 && currentKey === key) matches++; // a string value under the key: not an array
      i = end;
      continue;
    }
    switch (c) {
      case COLON:
        if (depth === 1 && lastString) {
          currentKey = JSON.parse(text.slice(lastString[0], lastString[1] + 1)) as string;
          lastString = undefined;
        }
        break;
      case COMMA:
        if (inTarget && depth === 2 && span) {
          span.commas.push(i);
          // any array under the key, also one JSON.parse would keep (the key twice): counted as it is found
          if (span.commas.length >= maxItems) throw new TooManyItemsError(key, maxItems);
        }
        else if (depth === 1) currentKey = undefined;
        break;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (depth === 0 && c !== OPEN_OBJECT) return undefined;
        if (depth === 1 && currentKey === key) {
          matches++;
          if (c === OPEN_ARRAY) {
            inTarget = true;
            span = { open: i, close: -1, commas: [] };
          }
        }
        depth++;
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        depth--;
        if (inTarget && depth === 1) {
          inTarget = false;
          if (span) span.close = i;
        }
        if (depth < 0) return undefined;
        break;
      default:
        // a number, true, false or null under the key (each of its characters counts: any count but 1 falls back)
        if (depth === 1 && currentKey === key && c > 0x20) matches++;
    }
  }
  if (matches !== 1 || span === undefined || span.close < 0) return undefined;
  return span;
}

/** Index of the quote that closes the string opened at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let backslashes = 0;
    for (let j = at - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

/** A `shrink` that keeps only `fields` of an object element (what an object schema would keep of it anyway). */
export const keepFields =
  (fields: readonly string[]) =>
  (item: unknown): unknown => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item; // the schema rejects it
    const kept: Record<string, unknown> = {};
    for (const field of fields) if (Object.hasOwn(item, field)) kept[field] = (item as Record<string, unknown>)[field];
    return kept;
  };
