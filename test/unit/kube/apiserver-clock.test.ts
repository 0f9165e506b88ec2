// The API server's clock as its Date headers prove it (ApiserverClock): the claim of an endpoint name is timed on it.
import { describe, expect, it } from 'vitest';
import { ApiserverClock } from '../../../src/kube/apiserver-clock.js';

/** A clock whose local time we set; the server's clock is `skewMs` ahead of it. */
function setup(skewMs: number) {
  let local = Date.parse('2026-03-01T12:00:00.000Z');
  const clock = new ApiserverClock(() => local);
  const answer = (atLocal: number, latencyMs = 0) => {
    local = atLocal;
    // The server answers `latencyMs` before the answer arrives; its Date has whole seconds.
    const serverAtAnswer = atLocal - latencyMs + skewMs;
    clock.observe(new Date(Math.floor(serverAtAnswer / 1000) * 1000).toUTCString());
  };
  return { clock, answer, setLocal: (t: number) => void (local = t), local: () => local };
}

describe('ApiserverClock', () => {
  it('knows nothing before a dated answer', () => {
    expect(new ApiserverClock(() => 0).lowerBound()).toBeUndefined();
    const { clock } = setup(0);
    clock.observe(undefined);
    clock.observe('not a date');
    expect(clock.lowerBound()).toBeUndefined();
  });

  it.each([
    ['in step with ours', 0],
    ['5 s behind ours', -5_000],
    ['3.7 s ahead of ours', 3_700],
  ])('a server clock %s is never overestimated, and is known to a round trip once an answer follows its second turning', (_, skewMs) => {
    const { clock, answer, local } = setup(skewMs);
    const start = local();
    // Answers 20 ms round trip, every 130 ms for 3 s: some come just after the server's second turned.
    for (let t = 0; t <= 3_000; t += 130) {
      answer(start + t, 20);
      const bound = clock.lowerBound() as number;
      expect(bound).toBeLessThanOrEqual(local() + skewMs);
    }
    expect(local() + skewMs - (clock.lowerBound() as number)).toBeLessThanOrEqual(150);
  });

  it('a single answer bounds the server clock to within a second', () => {
    const { clock, answer, local } = setup(0);
    answer(Date.parse('2026-03-01T12:00:00.750Z'), 10);
    expect(clock.lowerBound()).toBe(Date.parse('2026-03-01T12:00:00Z'));
    expect(local() - (clock.lowerBound() as number)).toBe(750);
  });

  it('the bound moves on with our clock between answers', () => {
    const { clock, answer, setLocal } = setup(0);
    answer(Date.parse('2026-03-01T12:00:00.000Z'));
    setLocal(Date.parse('2026-03-01T12:00:02.500Z'));
    expect(clock.lowerBound()).toBe(Date.parse('2026-03-01T12:00:02.500Z'));
  });

  it('forgets old answers, so a server clock stepped back is followed within ten minutes', () => {
    let local = Date.parse('2026-03-01T12:00:00.000Z');
    const clock = new ApiserverClock(() => local);
    const dated = (serverMs: number) => new Date(Math.floor(serverMs / 1000) * 1000).toUTCString();
    clock.observe(dated(local));
    // The server's clock is stepped back by 30 s; every answer from now on says so.
    const start = local;
    for (local = start; local <= start + 11 * 60_000; local += 1_000) clock.observe(dated(local - 30_000));
    expect(local - (clock.lowerBound() as number)).toBeGreaterThanOrEqual(30_000);
  });
});
