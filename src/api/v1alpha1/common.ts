import { z } from 'zod';
import { matches, withRules } from './rules.js';

export const GROUP = 'serving.ptoperator.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Go-style duration ("90s", "2m", "1h30m", "0"), the form Kubernetes users already know. */
export const DURATION_PATTERN = '^(0|([0-9]+([.][0-9]+)?(ms|s|m|h))+)$';
const durationRegex = new RegExp(DURATION_PATTERN);

const DURATION_PART = '[0-9]+([.][0-9]+)?(ms|s|m|h)';
/**
 * A duration of more than zero: one with a non-zero digit. An interval of 0 would re-read without pause. The
 * operator's flags and the chart's values.schema.json hold this same pattern (a unit test compares).
 */
export const POSITIVE_DURATION_PATTERN = `^(${DURATION_PART})*([0-9]*[1-9][0-9]*([.][0-9]+)?|[0-9]+[.][0-9]*[1-9][0-9]*)(ms|s|m|h)(${DURATION_PART})*$`;
const positiveDurationRegex = new RegExp(POSITIVE_DURATION_PATTERN);

export const POSITIVE_DURATION_EXPECTED = (value: string) => `"${value}" is not a duration of more than zero such as 30s, 5m or 1h`;

/** Milliseconds of a duration of more than zero (one shorter than a millisecond counts as one), or undefined. */
export function parsePositiveDurationMs(value: string): number | undefined {
  return positiveDurationRegex.test(value) ? Math.max(1, parseDurationMs(value)) : undefined;
}

/**
 * The longest duration CEL's duration() reads (a Go duration: int64 nanoseconds, about 292 years). A longer one
 * matches the pattern, but no CEL rule can compare it and the operator's dates overflow (Invalid time value).
 */
export const MAX_DURATION = '2562047h';
const MAX_DURATION_MS = 2_562_047 * 3_600_000;

export const duration = (description: string, defaultValue: string) =>
  withRules(z.string().max(32), [
    matches(DURATION_PATTERN, 'must be a duration such as 30s, 2m, 1h30m or 0'),
    {
      // Guarded by the format, so a value of the wrong form gets only the message above.
      cel: `!self.matches(r'${DURATION_PATTERN}') || duration(self) <= duration('${MAX_DURATION}')`,
      message: `must be at most ${MAX_DURATION} (about 292 years), the longest duration Kubernetes reads`,
      check: (value) => !durationRegex.test(value) || parseDurationMs(value) <= MAX_DURATION_MS,
    },
  ])
    .describe(description)
    .default(defaultValue);

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parse a duration accepted by DURATION_PATTERN into milliseconds. */
export function parseDurationMs(value: string): number {
  if (!durationRegex.test(value)) throw new Error(`invalid duration "${value}"`);
  if (value === '0') return 0;
  let total = 0;
  for (const match of value.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  return Math.round(total);
}

export const ConditionStatus = z.enum(['True', 'False', 'Unknown']);

/** The standard Kubernetes condition shape (metav1.Condition). */
export const Condition = z
  .strictObject({
    type: z.string().describe('Type of condition in CamelCase, for example Ready or Synced.'),
    status: ConditionStatus.describe('Status of the condition: True, False or Unknown.'),
    reason: z.string().describe('A CamelCase word that says why the condition has its status.'),
    message: z.string().describe('A human-readable explanation, saying what to do when something is wrong.'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The metadata.generation this condition was computed from; older than metadata.generation means stale.'),
    lastTransitionTime: z
      .string()
      .describe('When the status last changed (RFC 3339). It does not move when only reason or message change.'),
  })
  .describe('One observation of the object state.');
export type Condition = z.infer<typeof Condition>;

export const Conditions = z
  .array(Condition)
  .optional()
  .describe(
    'Standard conditions: Ready (and Synced on endpoints), plus Reconciling and Stalled for kstatus, present only while True.',
  )
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

/** A namespace name (DNS-1123 label, at most 63 characters); the chart's values.schema.json holds it too. */
export const NAMESPACE_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const NAMESPACE_NAME_MAX_LENGTH = 63;
const namespaceNameRegex = new RegExp(NAMESPACE_NAME_PATTERN);

/** Why `name` is not a namespace name, or undefined when it is one. */
export function namespaceNameProblem(name: string): string | undefined {
  return namespaceNameRegex.test(name) && name.length <= NAMESPACE_NAME_MAX_LENGTH
    ? undefined
    : `${JSON.stringify(name)} is not a namespace name (lowercase letters, digits and "-", starting and ending with a letter or digit, at most ${NAMESPACE_NAME_MAX_LENGTH} characters)`;
}

/** A Kubernetes object name (DNS subdomain). */
export const dnsName = withRules(z.string().min(1).max(253), [
  matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', 'must be a lowercase DNS name: letters, digits, "-" and ".", starting and ending with a letter or digit'),
]);

export const LocalObjectReference = z
  .strictObject({
    name: dnsName.describe('Name of the object in the same namespace.'),
  })
  .describe('A reference to an object in the same namespace.');

/** Condition types and reasons: the words users see in `kubectl get`, `kubectl wait` and Argo CD. */
export const ConditionType = { Ready: 'Ready', Synced: 'Synced' } as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];
