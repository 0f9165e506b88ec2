import { describe, expect, it } from 'vitest';
import { eventSeriesKey } from '../../../src/kube/events.js';

const obj = (uid: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name: 'a', uid } });

describe('eventSeriesKey', () => {
  it('groups repeats of the same object, type, reason and message', () => {
    expect(eventSeriesKey(obj('u1'), 'Warning', 'Failed', 'boom')).toBe(eventSeriesKey(obj('u1'), 'Warning', 'Failed', 'boom'));
  });
  it('separates different messages, reasons, types and object incarnations', () => {
    const base = eventSeriesKey(obj('u1'), 'Warning', 'Failed', 'boom');
    expect(eventSeriesKey(obj('u1'), 'Warning', 'Failed', 'bang')).not.toBe(base);
    expect(eventSeriesKey(obj('u1'), 'Warning', 'Other', 'boom')).not.toBe(base);
    expect(eventSeriesKey(obj('u1'), 'Normal', 'Failed', 'boom')).not.toBe(base);
    expect(eventSeriesKey(obj('u2'), 'Warning', 'Failed', 'boom')).not.toBe(base);
  });
});
