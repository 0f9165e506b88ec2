// The API server's clock as its Date headers prove it (ApiserverClock): the claim of an endpoint name is timed on it.
import { describe, expect, it } from 'vitest';
import { ApiserverClock, ClockProbe } from '../../../src/kube/apiserver-clock.js';

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

describe('ApiserverClock.uncertaintyMs', () => {
  /** Local time we set; each answer left `rttMs` before it arrived and was made just before it arrived. */
  function timed(skewMs: number) {
    let local = Date.parse('2026-03-01T12:00:00.000Z');
    const clock = new ApiserverClock(() => local);
    const answer = (atLocal: number, rttMs: number) => {
      local = atLocal;
      clock.observe(new Date(Math.floor((atLocal + skewMs) / 1000) * 1000).toUTCString(), rttMs);
    };
    return { clock, answer, local: () => local };
  }

  it('is infinite before a dated answer, and without the time a request left', () => {
    const { clock } = timed(0);
    expect(clock.uncertaintyMs()).toBe(Number.POSITIVE_INFINITY);
    clock.observe(new Date().toUTCString());
    expect(clock.uncertaintyMs()).toBe(Number.POSITIVE_INFINITY);
    // a negative round trip (our wall clock stepped back during the request) bounds nothing from above either
    clock.observe(new Date().toUTCString(), -250);
    expect(clock.uncertaintyMs()).toBe(Number.POSITIVE_INFINITY);
  });

  it('one answer leaves a second (and its round trip) open; answers around the server second turning close it', () => {
    const { clock, answer, local } = timed(337);
    answer(Date.parse('2026-03-01T12:00:00.100Z'), 10);
    expect(clock.uncertaintyMs()).toBe(1_010);
    // answers 40 ms apart over a second, 10 ms round trip: one falls just after the server's second turns, one before
    for (let t = 140; t <= 1_140; t += 40) answer(Date.parse('2026-03-01T12:00:00.000Z') + t, 10);
    expect(clock.uncertaintyMs()).toBeLessThanOrEqual(100);
    const understated = local() + 337 - (clock.lowerBound() as number);
    expect(understated).toBeGreaterThanOrEqual(0);
    expect(understated).toBeLessThanOrEqual(clock.uncertaintyMs());
  });

  it('answers that disagree (a clock stepped meanwhile) give 0, never a negative width', () => {
    let local = Date.parse('2026-03-01T12:00:00.000Z');
    const clock = new ApiserverClock(() => local);
    clock.observe('Sun, 01 Mar 2026 12:00:05 GMT', 5);
    local += 100;
    clock.observe('Sun, 01 Mar 2026 11:59:00 GMT', 5);
    expect(clock.uncertaintyMs()).toBe(0);
  });
});

describe('ClockProbe', () => {
  /** A server whose clock is `skewMs` ahead of ours; a probe is answered after `rttMs`, dated in whole seconds. */
  function server(skewMs: number, rttMs = 6) {
    let local = Date.parse('2026-03-01T12:00:00.000Z') + 250;
    const clock = new ApiserverClock(() => local);
    const sent: number[] = [];
    const pending: Array<{ due: number; deliver: () => void }> = [];
    const probe = () =>
      new Promise<void>((resolve) => {
        const at = local;
        sent.push(at);
        pending.push({
          due: at + rttMs,
          deliver: () => {
            clock.observe(new Date(Math.floor((at + rttMs / 2 + skewMs) / 1000) * 1000).toUTCString(), rttMs);
            resolve();
          },
        });
      });
    /** Time moves to `until`; each answer due by then arrives at its time. */
    const advance = (until: number) => {
      for (const answer of pending.splice(0)) {
        local = Math.max(local, answer.due);
        answer.deliver();
      }
      local = Math.max(local, until);
    };
    const sleep = async (ms: number) => advance(local + ms);
    /** Lets time run until `promise` settles. */
    const settle = async (promise: Promise<unknown> | undefined) => {
      let done = false;
      void promise?.finally(() => (done = true));
      while (promise && !done) {
        advance(local);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    return { clock, probe, sleep, settle, sent, local: () => local, monotonic: () => local };
  }

  it.each([0, 337, -642, 999])('a server %i ms ahead: one burst of probes 40 ms apart bounds its clock to 100 ms', async (skewMs) => {
    const s = server(skewMs);
    const probe = new ClockProbe(s.clock, s.probe, { sleep: s.sleep, monotonic: s.monotonic });
    const burst = probe.tighten();
    expect(burst).toBeDefined();
    // a second caller meanwhile waits for the same burst
    expect(probe.tighten()).toBe(burst);
    await s.settle(burst);
    expect(s.sent.length).toBeGreaterThan(1);
    expect(s.sent.length).toBeLessThanOrEqual(30);
    expect(s.clock.uncertaintyMs()).toBeLessThanOrEqual(100);
    const understated = s.local() + skewMs - (s.clock.lowerBound() as number);
    expect(understated).toBeGreaterThanOrEqual(0);
    expect(understated).toBeLessThanOrEqual(100);
    // known well enough: nothing to wait for, no probe
    expect(probe.tighten()).toBeUndefined();
    expect(s.sent.length).toBeLessThanOrEqual(30);
  });

  it('probes that fail leave the bound loose, do not throw, and are not repeated within a minute', async () => {
    const s = server(337);
    let calls = 0;
    const probe = new ClockProbe(
      s.clock,
      () => {
        calls++;
        return Promise.reject(new Error('connection refused'));
      },
      { sleep: s.sleep, monotonic: s.monotonic },
    );
    await s.settle(probe.tighten());
    expect(calls).toBe(30);
    expect(s.clock.uncertaintyMs()).toBe(Number.POSITIVE_INFINITY);
    expect(probe.tighten()).toBeUndefined();
    expect(calls).toBe(30);
    await s.sleep(60_000);
    expect(probe.tighten()).toBeDefined();
  });
});
