import { describe, expect, it } from 'vitest';
import { SlotWaits } from '../../../../src/controllers/endpoint/slot-waits.js';

describe('SlotWaits', () => {
  const live = { generation: 3, deleting: false, paused: false };

  it('before the slot: wait the rest of it; at the slot: reconcile (and forget the wait)', () => {
    const waits = new SlotWaits();
    waits.record('ns/a', { generation: 3, until: 10_000 });
    expect(waits.remainingMs('ns/a', live, 4_000)).toBe(6_000);
    expect(waits.remainingMs('ns/a', live, 10_000)).toBeUndefined();
    expect(waits.size).toBe(0);
  });

  it.each([
    ['a new spec generation', { generation: 4, deleting: false, paused: false }],
    ['a deletion (deletes are not charged to the window)', { generation: 3, deleting: true, paused: false }],
    ['a pause (nothing is sent at the slot: status says so now)', { generation: 3, deleting: false, paused: true }],
  ])('%s reconciles at once', (_, object) => {
    const waits = new SlotWaits();
    waits.record('ns/a', { generation: 3, until: 10_000 });
    expect(waits.remainingMs('ns/a', object, 1_000)).toBeUndefined();
  });

  it('a deletion or a pause gives the slot back to the budget; a new spec, the slot reached or forget() does not', () => {
    const waits = new SlotWaits();
    const released: string[] = [];
    const record = (key: string) => waits.record(key, { generation: 3, until: 10_000, release: () => released.push(key) });
    ['ns/deleted', 'ns/paused', 'ns/respecced', 'ns/due', 'ns/forgotten'].forEach(record);
    waits.remainingMs('ns/deleted', { ...live, deleting: true }, 1_000);
    waits.remainingMs('ns/paused', { ...live, paused: true }, 1_000);
    waits.remainingMs('ns/respecced', { ...live, generation: 4 }, 1_000);
    waits.remainingMs('ns/due', live, 10_000);
    waits.forget('ns/forgotten');
    expect(released).toEqual(['ns/deleted', 'ns/paused']);
    record('ns/gone');
    waits.release('ns/gone');
    expect(released).toEqual(['ns/deleted', 'ns/paused', 'ns/gone']);
    expect(waits.size).toBe(0);
  });

  it("a slot the budget moved later (another namespace's turn) is waited for; an earlier or vanished one is not", () => {
    const waits = new SlotWaits();
    let slotNow: number | undefined = 15_000;
    waits.record('ns/a', { generation: 3, until: 10_000, slotNow: () => slotNow });
    expect(waits.remainingMs('ns/a', live, 10_000)).toBe(5_000);
    slotNow = 8_000;
    expect(waits.remainingMs('ns/a', live, 9_000)).toBe(1_000);
    slotNow = undefined;
    expect(waits.remainingMs('ns/a', live, 10_000)).toBeUndefined();
  });

  it('objects that never waited reconcile normally', () => {
    expect(new SlotWaits().remainingMs('ns/b', live, 0)).toBeUndefined();
  });
});
