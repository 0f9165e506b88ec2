// A deadline for one request, released when the request ends. AbortSignal.timeout() keeps its timer, and
// AbortSignal.any() its listeners, alive until the deadline passes even when the request ended long before: at 120
// Databricks calls a second with a 20 s deadline that was thousands of live signals (20,000 held 37 MiB until their
// timers fired, measured on Node 24) and a DOMException built for each when it did (issue 12, memory at 10,000).

export interface Deadline {
  /** Aborts when `parent` does (with its reason) or when the time is up (a TimeoutError DOMException). */
  readonly signal: AbortSignal;
  /** True once the time was up (not when `parent` aborted). */
  readonly timedOut: boolean;
  /** Stops the timer and stops listening to `parent`; call it when the request has ended, however it ended. */
  release(): void;
}

export function startDeadline(timeoutMs: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  // as AbortSignal.timeout's: a pending deadline alone does not keep the process alive
  timer.unref();
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    release() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
