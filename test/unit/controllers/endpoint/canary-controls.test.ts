// The canary controls as the planner reads them: the annotation wins over spec.canary.action, its value read without
// regard to case or surrounding spaces; which phases show a control carried out.
import { describe, expect, it } from 'vitest';
import { abortControl, afterSuccess, canaryControlUnhandled, control, unknownControl } from '../../../../src/controllers/endpoint/canary-controls.js';
import { running } from './canary-fixtures.js';

const CANARY = { steps: [10], pause: '10m' };
const annotation = (value: string) => ({ 'ptoperator.io/canary': value });

describe('canary controls', () => {
  it.each([
    { name: 'none', action: undefined, annotations: {}, asked: undefined },
    { name: 'spec.canary.action alone', action: 'Hold' as const, annotations: {}, asked: 'Hold' },
    { name: 'the annotation, any case and spaces', action: undefined, annotations: annotation(' ABORT '), asked: 'Abort' },
    { name: 'the annotation wins over spec.canary.action', action: 'Abort' as const, annotations: annotation('promote'), asked: 'Promote' },
    { name: 'an annotation that is no control leaves spec.canary.action in force', action: 'Abort' as const, annotations: annotation('abrot'), asked: 'Abort' },
  ])('$name', ({ action, annotations, asked }) => {
    expect(control({ ...CANARY, ...(action && { action }) }, annotations)).toBe(asked);
  });

  it('the abort control is named as the user set it', () => {
    expect(abortControl(annotation('Abort'))).toBe('annotation ptoperator.io/canary=abort');
    expect(abortControl({})).toBe('spec.canary.action: Abort');
  });

  it('a control set after the canary succeeded does nothing, and says what it does left set; a promote says nothing', () => {
    const done = { fromVersion: '3', toVersion: '4' };
    expect(afterSuccess(CANARY, annotation('abort'), done)).toMatch(/^annotation ptoperator.io\/canary=abort does nothing: .* \(to go back, set model.version to "3"\); left set, it keeps the next model.version's canary from starting$/);
    expect(afterSuccess({ ...CANARY, action: 'Hold' }, {}, done)).toMatch(/^spec.canary.action: Hold does nothing: .*; left set, it holds the next model.version's canary at its first step$/);
    expect(afterSuccess(CANARY, annotation('promote'), done)).toBeUndefined();
    expect(afterSuccess(CANARY, {}, done)).toBeUndefined();
  });

  it('a value that is no control is said in the message of a running canary, not of a finished one', () => {
    expect(unknownControl(annotation('abrot'), running({ phase: 'Paused', message: 'pausing' })).message).toBe('pausing; annotation ptoperator.io/canary="abrot" is ignored: it must be hold, promote or abort');
    expect(unknownControl(annotation('abrot'), running({ phase: 'Succeeded' }))).toEqual({});
    expect(unknownControl(annotation('hold'), running({ phase: 'Paused' }))).toEqual({});
  });

  it.each([
    { phase: 'Paused', value: 'hold', unhandled: true },
    { phase: 'Holding', value: 'hold', unhandled: false },
    { phase: 'Paused', value: 'abort', unhandled: true },
    { phase: 'Aborted', value: 'abort', unhandled: false },
    // an abort after success does nothing (afterSuccess): a restart has nothing to carry out at once
    { phase: 'Succeeded', value: 'abort', unhandled: false },
    { phase: 'Promoting', value: 'promote', unhandled: false },
  ])('an annotation $value of a canary $phase is still to be carried out: $unhandled', ({ phase, value, unhandled }) => {
    expect(canaryControlUnhandled(annotation(value), running({ phase: phase as never }))).toBe(unhandled);
    expect(canaryControlUnhandled(annotation(value), undefined)).toBe(false);
  });
});
