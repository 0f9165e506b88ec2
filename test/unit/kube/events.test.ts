import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EventRecorder, eventSeriesKey } from '../../../src/kube/events.js';
import type { KubeClient } from '../../../src/kube/client.js';
import { createLogger } from '../../../src/observability/logger.js';

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

describe('EventRecorder: Events never crowd out the writes that matter (issue 12)', () => {
  /** A client whose Event creates wait until released, counting how many run at once. */
  function blockingClient() {
    const created: string[] = [];
    const waiting: Array<() => void> = [];
    let running = 0;
    let mostAtOnce = 0;
    const client = {
      create: async (_rt: unknown, _ns: string, body: { reason: string }) => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise<void>((resolve) => waiting.push(resolve));
        running--;
        created.push(body.reason);
        return body;
      },
      patch: async () => ({}),
    } as unknown as KubeClient;
    /** Lets every create through, including those queued behind the ones released, until none waits. */
    const releaseAll = async () => {
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve));
        const next = waiting.shift();
        if (!next) return;
        next();
      }
    };
    return { client, created, releaseAll, mostAtOnce: () => mostAtOnce };
  }

  it('a burst of 50 Events is written two at a time, in the order recorded, none lost', async () => {
    const c = blockingClient();
    const queued: number[] = [];
    const recorder = new EventRecorder(c.client, { component: 'test', metrics: { queued: (n) => queued.push(n), dropped: () => undefined } });
    const done = Array.from({ length: 50 }, (_, i) => recorder.record(obj(`u${i}`), 'Normal', `R${i}`, 'm'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorder.queued).toBe(50);
    await c.releaseAll();
    await Promise.all(done);
    expect(c.mostAtOnce()).toBe(2);
    expect(c.created).toEqual(Array.from({ length: 50 }, (_, i) => `R${i}`));
    expect(recorder.queued).toBe(0);
    expect(queued.at(-1)).toBe(0);
    expect(Math.max(...queued)).toBe(50);
  });

  it('flush resolves once every recorded Event is written, or false when that takes longer than asked', async () => {
    const c = blockingClient();
    const recorder = new EventRecorder(c.client, { component: 'test' });
    expect(await recorder.flush(10)).toBe(true); // nothing waiting
    const done = Array.from({ length: 3 }, (_, i) => recorder.record(obj(`u${i}`), 'Normal', `R${i}`, 'm'));
    expect(await recorder.flush(20)).toBe(false); // the client holds them
    const flushed = recorder.flush(10_000);
    await c.releaseAll();
    expect(await flushed).toBe(true);
    await Promise.all(done);
    expect(c.created).toEqual(['R0', 'R1', 'R2']);
  });

  // Events are dropped by namespace (one that floods loses its own): the warning named the object but not its
  // namespace, so the person paged could not tell which tenant floods, nor find the object.
  it('the warning about a dropped Event names the namespace and name of its object', async () => {
    const c = blockingClient();
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', destination: new Writable({ write: (chunk, _enc, next) => void (lines.push(String(chunk)), next()) }) });
    const recorder = new EventRecorder(c.client, { component: 'test', maxQueued: 1, log });
    const flood = (i: number) => ({ ...obj(`u${i}`), metadata: { namespace: 'team-b', name: `flood-${i}`, uid: `u${i}` } });
    const done = [recorder.record(flood(0), 'Normal', 'R0', 'm'), recorder.record(flood(7), 'Normal', 'R1', 'm')];
    expect(recorder.dropped).toBe(1);
    await c.releaseAll();
    await Promise.all(done);
    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).includes('dropping'));
    expect(warning).toMatchObject({ level: 'warn', namespace: 'team-b', object: 'flood-7', reason: 'R1' });
  });

  it('beyond maxQueued waiting Events, new ones are dropped and counted (recording never throws)', async () => {
    const c = blockingClient();
    let dropped = 0;
    const recorder = new EventRecorder(c.client, { component: 'test', maxQueued: 5, metrics: { queued: () => undefined, dropped: () => void dropped++ } });
    const done = Array.from({ length: 8 }, (_, i) => recorder.record(obj(`u${i}`), 'Normal', `R${i}`, 'm'));
    expect(recorder.dropped).toBe(3);
    expect(dropped).toBe(3);
    await c.releaseAll();
    await Promise.all(done);
    expect(c.created).toEqual(['R0', 'R1', 'R2', 'R3', 'R4']);
    // room again: the next one is written
    const next = recorder.record(obj('u9'), 'Normal', 'R9', 'm');
    await c.releaseAll();
    await next;
    expect(c.created.at(-1)).toBe('R9');
  });

  it('a waiting Event keeps only the reference it writes, not the object it was recorded for (issue 12 item 4)', async () => {
    // Thousands of Events wait in a burst of creates, each recorded for the object a status write returned (with
    // its managedFields): in a heap snapshot at 10,000 endpoints, 5,471 such objects were held by waiting Events.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const c = blockingClient();
    const recorder = new EventRecorder(c.client, { component: 'test' });
    const refs: WeakRef<object>[] = [];
    const done = Array.from({ length: 5 }, (_, i) => {
      const recorded = { ...obj(`u${i}`), spec: { big: 'x'.repeat(1000) } };
      refs.push(new WeakRef(recorded));
      return recorder.record(recorded, 'Normal', `R${i}`, 'm');
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorder.queued).toBe(5); // two being written, three waiting for a slot
    gc();
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    await c.releaseAll();
    await Promise.all(done);
    expect(c.created).toEqual(['R0', 'R1', 'R2', 'R3', 'R4']);
  });

  // A tenant with create rights in one namespace can make the operator record thousands of Events (many objects, each
  // failing). Those of another namespace waited behind all of them, and once the queue was full they were dropped.
  describe('namespaces take turns', () => {
    const inNamespace = (namespace: string, uid: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name: uid, uid } });

    it("another namespace's Event is written next, not after the 40 a flooding namespace recorded before it", async () => {
      const c = blockingClient();
      const recorder = new EventRecorder(c.client, { component: 'test' });
      const done = Array.from({ length: 40 }, (_, i) => recorder.record(inNamespace('flood', `f${i}`), 'Warning', `F${i}`, 'm'));
      done.push(recorder.record(inNamespace('quiet', 'q'), 'Normal', 'Q', 'm'));
      await c.releaseAll();
      await Promise.all(done);
      // two were in flight when it arrived; it goes with the next slot that frees
      expect(c.created.indexOf('Q')).toBeLessThanOrEqual(3);
      expect(c.created.filter((r) => r.startsWith('F'))).toEqual(Array.from({ length: 40 }, (_, i) => `F${i}`));
    });

    it("a namespace that fills its share of the queue loses its own Events, not another namespace's", async () => {
      const c = blockingClient();
      const recorder = new EventRecorder(c.client, { component: 'test', maxQueued: 20 });
      const done = Array.from({ length: 30 }, (_, i) => recorder.record(inNamespace('flood', `f${i}`), 'Warning', `F${i}`, 'm'));
      done.push(recorder.record(inNamespace('quiet', 'q'), 'Normal', 'Q', 'm'));
      await c.releaseAll();
      await Promise.all(done);
      expect(c.created).toContain('Q');
      expect(recorder.dropped).toBeGreaterThan(0);
      expect(c.created.length + recorder.dropped).toBe(31);
    });
  });
});
