import { pino } from 'pino';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isConflict, isNotFound, KubeApiError } from './errors.js';
import type { Logger } from './logger.js';
import { sleep } from './sleep.js';
import { CoreResources, type KubeObject } from './types.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
export type Lease = KubeObject & { spec?: LeaseSpec };

export interface LeaderElectorOptions {
  namespace: string;
  name: string;
  /** Unique per process, e.g. the pod name plus a random suffix. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  /** Called once when leadership is lost (renewal failed past the deadline) or released. */
  onStoppedLeading?: () => void;
  log?: Logger;
  /** The wall clock, for the times written into the Lease only; durations are measured on a monotonic clock. */
  now?: () => number;
  /** State the leader hands to its successor in an annotation of the Lease (see LeaseHandover). */
  handover?: LeaseHandover;
}

/**
 * State a leader keeps in an annotation of the Lease, written with every renew and on release, and read by the next
 * holder when it takes the lease: what a successor must know that is not in the objects (e.g. a rate budget's window).
 */
export interface LeaseHandover {
  annotation: string;
  /** the value to write now; undefined: nothing to hand over (the annotation is removed) */
  write(): string | undefined;
  /** the predecessor's value, once the lease is ours and before leading starts; not called when there was none */
  read(value: string): void;
  /**
   * Hands the elector a function to call when the value changed: the leader then writes it within
   * HANDOVER_WRITE_SPACING_MS instead of at its next renew, so a crash loses less of it.
   */
  subscribe?(changed: () => void): void;
}

/** A changed handover is written this soon after the last Lease write, at the earliest: a burst of changes is a few writes. */
export const HANDOVER_WRITE_SPACING_MS = 250;

/** Milliseconds that only move forward: a wall clock set back or ahead (NTP, a resumed VM) must not stretch or cut a lease. */
const monotonicMs = (): number => performance.now();

/** A MicroTime: RFC 3339 with microseconds, as the Lease API stores it. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm: take the lease when it is free or
 * its holder has not renewed within leaseDuration (measured from when *we* saw the record change, so clock skew
 * does not matter, and on a monotonic clock, so a clock set back or ahead does not either); renew every
 * retryPeriod; give up leadership if no renewal succeeds within renewDeadline. Writes
 * use the read resourceVersion, so two candidates never both win. On stop the lease is released (holder cleared,
 * duration 1 s) so a successor takes over at once. Leadership lost is final: this elector does not campaign again.
 */
export class LeaderElector {
  private leader = false;
  /** when (monotonic ms) the last successful acquire or renew was sent: the lease is ours until renewDeadline after */
  private renewedAt = 0;
  /**
   * An acquire sent while its answer never came (aborted, timed out): the server may still make us the holder. The
   * resourceVersion of the lease it replaces, or `null` for the create of a Lease that did not exist.
   */
  private acquireUnansweredOn: string | null | undefined;
  /** the lease record last seen, and when (monotonic ms) */
  private observed: { record: string; at: number } | undefined;
  private lease: Lease | undefined;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  /** wakes the renew loop early: the handover changed */
  private renewWake: AbortController | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectorOptions,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.renewDeadlineMs <= this.retryPeriodMs * 1.2) throw new Error('renewDeadline must be greater than retryPeriod*1.2');
    this.log = (options.log ?? pino({ level: 'silent' })).child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    this.now = options.now ?? Date.now;
    options.handover?.subscribe?.(() => this.renewWake?.abort());
  }

  /**
   * Leading, and the renew deadline has not passed: a process resumed after a pause (SIGSTOP, a frozen VM) runs the
   * timers that came due meanwhile before the renew loop's, and must not act on them with a lease that ran out.
   */
  get isLeader(): boolean {
    return this.leader && monotonicMs() - this.renewedAt < this.renewDeadlineMs;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning. With `release` (the default) a held lease is handed back so a successor need not wait. */
  async stop({ release = true }: { release?: boolean } = {}): Promise<void> {
    this.stopController.abort();
    await this.loop;
    if ((this.leader || this.acquireUnansweredOn !== undefined) && release) await this.release();
    this.setLeader(false);
  }

  /**
   * Campaigns until it leads, then renews until stopped or leadership is lost. A loss ends the campaign, as client-go's
   * Run returns: the process that lost the lease is on its way out (the manager stops), and one that took the lease
   * back at once (the record still names it; the others wait leaseDuration) would exit holding it, or act again.
   */
  private async run(): Promise<void> {
    const signal = this.stopController.signal;
    // acquire: retry every retryPeriod (jittered) until we hold the lease; each attempt is bounded too, so a
    // hung request cannot hand us a lease we would then believe in for longer than it is valid
    let attemptStart = monotonicMs();
    while (!signal.aborted && !(await this.tryAcquireOrRenew(this.renewDeadlineMs))) {
      await sleep(this.retryPeriodMs * (1 + Math.random() * 1.2), signal);
      attemptStart = monotonicMs();
    }
    if (signal.aborted) return;
    this.renewedAt = attemptStart;
    this.setLeader(true);
    // renew: every retryPeriod; leadership is lost when renewDeadline passes without success. Every request is
    // bounded by what is left of the deadline, so a hung renew (an API server that stopped answering) cannot
    // keep us leading past it, while the others may take the lease once leaseDuration has passed.
    // Counted from when the successful request was sent: the others measure the lease from when they see it.
    while (!signal.aborted) {
      this.renewWake = new AbortController();
      await sleep(this.retryPeriodMs, AbortSignal.any([signal, this.renewWake.signal]));
      // woken early for a changed handover: a renew that writes it, spaced from the last
      if (this.renewWake.signal.aborted) await sleep(attemptStart + HANDOVER_WRITE_SPACING_MS - monotonicMs(), signal);
      if (signal.aborted) return;
      attemptStart = monotonicMs();
      const left = this.renewedAt + this.renewDeadlineMs - attemptStart;
      if (left > 0 && (await this.tryAcquireOrRenew(left))) {
        this.renewedAt = attemptStart;
      } else if (monotonicMs() - this.renewedAt >= this.renewDeadlineMs) {
        this.log.error('failed to renew the lease within the renew deadline; leadership lost');
        this.setLeader(false);
        return;
      }
    }
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    if (leader) {
      this.log.info('became leader');
      this.options.onStartedLeading?.();
    } else {
      this.log.info('stopped leading');
      this.options.onStoppedLeading?.();
    }
  }

  /** One get/create/update round, every request of it aborted once `boundMs` has passed. */
  private async tryAcquireOrRenew(boundMs: number): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = this.now();
    const seenAt = monotonicMs();
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    const signal = AbortSignal.any([this.stopController.signal, AbortSignal.timeout(Math.max(1, Math.ceil(boundMs)))]);
    try {
      // fast path: renew from the copy we wrote last; a conflict means someone else wrote, so look properly
      if (this.leader && this.lease?.spec?.holderIdentity === identity) {
        try {
          const renewed: Lease = this.withHandover({ ...this.lease, spec: { ...this.lease.spec, renewTime: microTime(now) } });
          this.lease = await this.client.replace<Lease>(CoreResources.lease, namespace, renewed, signal);
          this.observed = { record: JSON.stringify(this.lease.spec), at: seenAt };
          return true;
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
      let current: Lease;
      try {
        current = await this.client.get<Lease>(CoreResources.lease, namespace, name, signal);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.acquireUnansweredOn = null;
        this.lease = await this.client.create<Lease>(CoreResources.lease, namespace, this.withHandover({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        }), signal);
        this.acquireUnansweredOn = undefined;
        this.observed = { record: JSON.stringify(this.lease.spec), at: seenAt };
        return true;
      }
      const spec = current.spec ?? {};
      const record = JSON.stringify(spec);
      if (this.observed?.record !== record) this.observed = { record, at: seenAt };
      const holder = spec.holderIdentity ?? '';
      const validForMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder !== '' && holder !== identity && (this.observed?.at ?? seenAt) + validForMs > seenAt) return false;

      const weHeld = holder === identity;
      // Taking the lease (from another holder, or from a process of ours before a restart: a container restarted in
      // its pod keeps the pod's name): the predecessor's annotation stays until our first renew, so a successor of
      // ours that takes it before then still reads it; we read it once the lease is ours.
      const taking = !this.leader;
      const handedOver = taking && this.options.handover ? current.metadata.annotations?.[this.options.handover.annotation] : undefined;
      const base: Lease = {
        ...current,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: weHeld && spec.acquireTime ? spec.acquireTime : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: weHeld ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
        },
      };
      const next = taking ? base : this.withHandover(base);
      if (!weHeld) this.acquireUnansweredOn = current.metadata.resourceVersion;
      this.lease = await this.client.replace<Lease>(CoreResources.lease, namespace, next, signal);
      this.acquireUnansweredOn = undefined;
      if (handedOver) this.readHandover(handedOver);
      this.observed = { record: JSON.stringify(this.lease.spec), at: seenAt };
      return true;
    } catch (err) {
      // answered with a refusal (a conflict, or AlreadyExists: another candidate won): the server did not make us the holder
      if (err instanceof KubeApiError) this.acquireUnansweredOn = undefined;
      if (signal.aborted && !this.stopController.signal.aborted) this.log.warn({ boundMs }, 'lease request got no answer within the renew deadline');
      else if (!isConflict(err)) this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lease get/update failed');
      return false;
    }
  }

  /** The lease with our handover annotation as it is now. */
  private withHandover(lease: Lease): Lease {
    const handover = this.options.handover;
    if (!handover) return lease;
    let value: string | undefined;
    try {
      value = handover.write();
    } catch (err) {
      // a handover that cannot be written must not cost the lease: the successor then starts without it
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not write the handover annotation');
      return lease;
    }
    const { [handover.annotation]: _previous, ...others } = lease.metadata.annotations ?? {};
    const annotations = value === undefined ? others : { ...others, [handover.annotation]: value };
    return { ...lease, metadata: { ...lease.metadata, annotations } };
  }

  private readHandover(value: string): void {
    try {
      this.options.handover?.read(value);
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not read the handover annotation');
    }
  }

  /**
   * Hands the lease back. Retried on a conflict: the stop may have aborted a renew that the server still applies
   * after our read, which moves the resourceVersion on under us. A holder other than us is left alone, unless the
   * record is the one an unanswered acquire of ours was sent for.
   */
  private async release(): Promise<void> {
    if (!this.lease && this.acquireUnansweredOn === undefined) return;
    const signal = AbortSignal.timeout(this.renewDeadlineMs);
    const { namespace, identity } = this.options;
    try {
      for (;;) {
        const current = await this.readOrFillForUnansweredCreate(signal);
        if (!current) return;
        // the record an unanswered acquire of ours was based on is written back free: that acquire, should it land
        // now, meets a conflict instead of leaving the lease to a process that is gone
        const acquireMayLand = current.metadata.resourceVersion === this.acquireUnansweredOn;
        if (current.spec?.holderIdentity !== identity && !acquireMayLand) return;
        const now = this.now();
        try {
          const released: Lease = {
            ...current,
            spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now) },
          };
          // Our last word for the successor; a record that was never ours (an acquire that may land) is left as it is.
          await this.client.replace<Lease>(CoreResources.lease, namespace, acquireMayLand && current.spec?.holderIdentity !== identity ? released : this.withHandover(released), signal);
          this.log.info('released the lease');
          return;
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not release the lease; the successor waits for it to expire');
    }
  }

  /**
   * The Lease, for release(); undefined when there is nothing left to release. None while an unanswered create of ours
   * may still land: a free Lease is created in its place, so that create, should it land now, meets AlreadyExists; if
   * ours (or anyone's) landed first, the Lease is read again.
   */
  private async readOrFillForUnansweredCreate(signal: AbortSignal): Promise<Lease | undefined> {
    const { namespace, name } = this.options;
    for (;;) {
      try {
        return await this.client.get<Lease>(CoreResources.lease, namespace, name, signal);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // deleted by someone: nothing of ours to hand back
        if (this.acquireUnansweredOn !== null) return undefined;
      }
      const now = microTime(this.now());
      try {
        await this.client.create<Lease>(CoreResources.lease, namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        }, signal);
        this.log.info('released the lease (created free: our create of it went unanswered)');
        return undefined;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
  }
}
