// What the canary's gate readings say about a step: not decided yet (and why), or failed (and by which entry).
// Pure, apart from the canary's planning (canary.ts) and the reading of the metrics (canary-gate.ts).
import type { Canary } from '../../api/v1alpha1/index.js';

/** The gate's readings of the new version: one value per spec.canary.gate entry, or why they could not be read. */
export type GateReading =
  /** `unknown`: why an entry has no value (no samples, or a divisor of 0), for the status message. */
  | { ok: true; values: (number | undefined)[]; unknown?: string }
  | { ok: false; message: string };

/** Why the gate cannot decide yet; undefined when every entry has a value. */
export function gateWaitReason(gate: GateReading | undefined): string | undefined {
  if (!gate) return 'not read yet';
  if (!gate.ok) return gate.message;
  if (gate.values.some((value) => value === undefined)) return `${gate.unknown ?? 'a gate metric has no value yet'}; set spec.canary.action to Promote to go on without it`;
  return undefined;
}

/** The first gate entry whose value is above its max, described; undefined when none fails (or none was read). */
export function failedGate(canary: Canary, gate: GateReading | undefined): string | undefined {
  if (!canary.gate || !gate?.ok) return undefined;
  for (const [i, rule] of canary.gate.entries()) {
    const value = gate.values[i];
    if (value !== undefined && value > rule.max) {
      const what = rule.divideBy ? `${rule.metric} / ${rule.divideBy}` : rule.metric;
      return `${what} = ${round(value)} > ${rule.max}`;
    }
  }
  return undefined;
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;
