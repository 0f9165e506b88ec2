// What the user asks of a canary (spec.canary.action, or the annotation ptoperator.io/canary, which wins): hold,
// promote or abort, as the canary planner (canary.ts) reads it, and what status says of a value it cannot carry out.
import { type Canary, EndpointAnnotation } from '../../api/v1alpha1/index.js';
import type { CanaryStatus } from './canary.js';
import { shortLine } from '../../databricks/host-text.js';

export type Control = 'Hold' | 'Promote' | 'Abort';

/** What the user asks of a running canary: the annotation wins over spec.canary.action. */
export function control(spec: Canary, annotations: Record<string, string>): Control | undefined {
  return annotationControl(annotations) ?? spec.action;
}

function annotationControl(annotations: Record<string, string>): Control | undefined {
  const annotation = annotations[EndpointAnnotation.canary]?.trim().toLowerCase();
  if (annotation === 'hold') return 'Hold';
  if (annotation === 'promote') return 'Promote';
  if (annotation === 'abort') return 'Abort';
  return undefined;
}

/**
 * A ptoperator.io/canary value that is none of the controls (a typo of abort during an incident) does nothing: the
 * message of a running canary says so, since admission cannot check annotations.
 */
export function unknownControl(annotations: Record<string, string>, status: CanaryStatus): Pick<CanaryStatus, 'message'> {
  const value = annotations[EndpointAnnotation.canary];
  if (value === undefined || annotationControl(annotations) !== undefined || status.phase === 'Aborted' || status.phase === 'Succeeded') return {};
  return { message: `${status.message ?? status.phase}; annotation ${EndpointAnnotation.canary}="${shortLine(value)}" is ignored: it must be hold, promote or abort` };
}

/**
 * The annotation wins over spec.canary.action, so a different spec control is not in force: an abort sent through Git
 * while an annotation hold is left set holds the step. A running canary's message says so, and what to remove. (Once
 * the canary succeeded, afterSuccess says what a control does.)
 */
export function overriddenControl(spec: Canary, annotations: Record<string, string>, status: CanaryStatus): Pick<CanaryStatus, 'message'> {
  const asked = annotationControl(annotations);
  // An ended canary keeps its message from one look to the next: said once, not added again at every look.
  if (asked === undefined || spec.action === undefined || spec.action === asked || ENDED.includes(status.phase)) return {};
  return {
    message: `${status.message ?? status.phase}; spec.canary.action: ${spec.action} is not in force: annotation ${EndpointAnnotation.canary}=${asked.toLowerCase()} wins over it (remove the annotation for spec.canary.action to act)`,
  };
}

const ENDED: readonly string[] = ['Aborted', 'RollbackFailed', 'Succeeded'];

/** The phases in which a control has been carried out, or no longer changes anything (advance). */
const HANDLED_IN: Record<Control, readonly string[]> = {
  Abort: ['Aborted', 'RollbackFailed', 'Succeeded'],
  Promote: ['Promoting', 'Succeeded', 'Aborted', 'RollbackFailed'],
  Hold: ['Holding', 'Promoting', 'Succeeded', 'Aborted', 'RollbackFailed'],
};

/**
 * The canary annotation asks for something the canary in status.canary does not show yet (a hold of a step that
 * pauses, an abort of one that succeeded, ...). Without a canary in status there is nothing for it to act on.
 */
export const canaryControlUnhandled = (annotations: Record<string, string>, canary: Pick<CanaryStatus, 'phase'> | undefined): boolean => {
  const asked = annotationControl(annotations);
  return asked !== undefined && canary !== undefined && !HANDLED_IN[asked].includes(canary.phase);
};

/** A control in force, as the user set it (the annotation wins over spec.canary.action). */
const controlName = (annotations: Record<string, string>, asked: Control): string =>
  annotationControl(annotations) === asked ? `annotation ${EndpointAnnotation.canary}=${asked.toLowerCase()}` : `spec.canary.action: ${asked}`;

/** The abort control in force, as the user set it. */
export const abortControl = (annotations: Record<string, string>): string => controlName(annotations, 'Abort');

/**
 * A control set once the canary succeeded (the new version serves alone, the old one was removed) changes nothing: an
 * abort would be a whole new rollout of the old version, which is what a change of model.version is for. What it does
 * instead, for status.canary: nothing now, and left set it applies to the next version's canary. Promote says nothing:
 * the canary did what it asks.
 */
export function afterSuccess(canary: Canary, annotations: Record<string, string>, status: Pick<CanaryStatus, 'fromVersion' | 'toVersion'>): string | undefined {
  const asked = control(canary, annotations);
  const done = `the canary of version ${status.toVersion} already succeeded`;
  if (asked === 'Abort') {
    return `${controlName(annotations, asked)} does nothing: ${done}, so there is nothing to abort (to go back, set model.version to "${status.fromVersion}"); left set, it keeps the next model.version's canary from starting`;
  }
  if (asked === 'Hold') return `${controlName(annotations, asked)} does nothing: ${done}; left set, it holds the next model.version's canary at its first step`;
  return undefined;
}
