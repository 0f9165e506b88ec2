// Reads shared by concurrent reconciles (shared-reads.ts): one read for many callers, and never one too old for a
// caller that must see its own change.
import { describe, expect, it } from 'vitest';
import { SharedReads } from '../../../src/controllers/shared-reads.js';

const spacing = (value: number) => value; // the answer is the spacing it asks for

function setup() {
  let now = 1_000;
  const reads = new SharedReads<number>(() => now, { spacingMs: spacing });
  let loads = 0;
  const pending: Array<(v: number) => void> = [];
  const load = () => {
    loads++;
    return new Promise<number>((resolve) => pending.push(resolve));
  };
  return {
    reads,
    load,
    loads: () => loads,
    answer: (value: number) => pending.shift()!(value),
    answerNewest: (value: number) => pending.pop()!(value),
    advance: (ms: number) => void (now += ms),
    at: () => now,
    /** One read, answered with `value`, done. */
    readAnswered: async (value: number) => {
      const read = reads.get('ws', load, keep);
      pending.shift()!(value);
      return read;
    },
  };
}

const keep = () => 1_000;

describe('SharedReads', () => {
  it('callers at the same time share the read in flight, and later ones its kept answer', async () => {
    const s = setup();
    const a = s.reads.get('ws', s.load, keep);
    const b = s.reads.get('ws', s.load, keep);
    s.answer(7);
    expect(await Promise.all([a, b])).toEqual([7, 7]);
    s.advance(500);
    expect(await s.reads.get('ws', s.load, keep)).toBe(7);
    expect(s.loads()).toBe(1);
  });

  it('a caller whose change came after the read started reads again, in flight or kept', async () => {
    const s = setup();
    const before = s.reads.get('ws', s.load, keep); // started at 1000
    s.advance(10);
    const answeredAt = s.at(); // our create was answered at 1010
    const after = s.reads.get('ws', s.load, keep, answeredAt); // the read in flight started before: a new one
    expect(s.loads()).toBe(2);
    s.answer(1); // the old read (it could not show our endpoint)
    s.answer(2); // the new one, started at 1010: in the millisecond of the answer
    expect(await before).toBe(1);
    expect(await after).toBe(2);
    s.advance(10);
    // kept: the newest answer; it started in the millisecond of the answer, so a caller that needs later reads again
    expect(await s.reads.get('ws', s.load, keep)).toBe(2);
    const fresh = s.reads.get('ws', s.load, keep, answeredAt);
    expect(s.loads()).toBe(3);
    s.answer(3);
    expect(await fresh).toBe(3);
    // a read started after the answer is shared from then on
    s.advance(10);
    expect(await s.reads.get('ws', s.load, keep, answeredAt)).toBe(3);
    expect(s.loads()).toBe(3);
  });

  it('an older read that finishes last does not replace the newer kept answer', async () => {
    const s = setup();
    const old = s.reads.get('ws', s.load, keep);
    s.advance(5);
    const newer = s.reads.get('ws', s.load, keep, s.at() - 1);
    s.answerNewest(30);
    expect(await newer).toBe(30);
    s.answer(20);
    expect(await old).toBe(20);
    expect(await s.reads.get('ws', s.load, keep)).toBe(30);
    expect(s.loads()).toBe(2);
  });

  describe('spaced reads (a list of thousands)', () => {
    it('a caller that needs a newer read waits for the spacing since the last one started, then the waiting callers share one', async () => {
      const s = setup();
      await s.readAnswered(5_000);
      s.advance(250);
      const answeredAt = s.at();
      s.advance(1);
      expect(s.reads.waitMs('ws', answeredAt)).toBe(5_000 - 251);
      s.advance(5_000 - 251);
      expect(s.reads.waitMs('ws', answeredAt)).toBe(0);
      const a = s.reads.get('ws', s.load, keep, answeredAt);
      expect(s.reads.waitMs('ws', answeredAt)).toBe(0); // in flight and new enough: share it
      const b = s.reads.get('ws', s.load, keep, answeredAt);
      s.answer(5_000);
      expect(await Promise.all([a, b])).toEqual([5_000, 5_000]);
      expect(s.loads()).toBe(2);
    });

    it('no wait before the first read, nor for a caller the kept answer serves', async () => {
      const s = setup();
      expect(s.reads.waitMs('ws', Number.NEGATIVE_INFINITY)).toBe(0);
      await s.readAnswered(5_000);
      s.advance(10);
      expect(s.reads.waitMs('ws', Number.NEGATIVE_INFINITY)).toBe(0);
    });

    it('a read in flight that started too early counts as the last one', async () => {
      const s = setup();
      await s.readAnswered(300);
      s.advance(400);
      void s.reads.get('ws', s.load, keep, s.at() - 1); // started at 1400, still in flight
      s.advance(100);
      expect(s.reads.waitMs('ws', s.at())).toBe(200);
    });
  });
});
