import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/emulator/clock.js';

function fakeRealTime(start = 1_000_000) {
  let now = start;
  return { realNow: () => now, pass: (ms: number) => (now += ms) };
}

describe('VirtualClock', () => {
  it('runs at the speed factor and jumps on advance', () => {
    const real = fakeRealTime();
    const clock = new VirtualClock({ speed: 600, startAt: 0, realNow: real.realNow });
    real.pass(1000);
    expect(clock.now()).toBe(600_000); // one real second = ten virtual minutes
    clock.advance(30 * 60_000);
    expect(clock.now()).toBe(600_000 + 1_800_000);
  });

  it('keeps elapsed virtual time when the speed changes, and freezes at speed 0', () => {
    const real = fakeRealTime();
    const clock = new VirtualClock({ speed: 10, startAt: 0, realNow: real.realNow });
    real.pass(100);
    clock.setSpeed(0);
    real.pass(10_000);
    expect(clock.now()).toBe(1000);
    clock.setSpeed(1);
    real.pass(5);
    expect(clock.now()).toBe(1005);
  });

  it('tells clients how many real seconds a virtual wait takes, never less than 1', () => {
    const clock = new VirtualClock({ speed: 600 });
    expect(clock.toClientSeconds(3600)).toBe(6);
    expect(clock.toClientSeconds(30)).toBe(1);
    clock.setSpeed(0);
    expect(clock.toClientSeconds(300)).toBe(300);
  });

  it('rejects negative speeds and backwards jumps', () => {
    const clock = new VirtualClock();
    expect(() => clock.setSpeed(-1)).toThrow(RangeError);
    expect(() => clock.advance(-5)).toThrow(RangeError);
  });
});
