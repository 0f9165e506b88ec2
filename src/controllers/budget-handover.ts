// The Databricks budget's handover between leaders: the leader keeps what its create/update windows counted in an
// annotation of the leader election Lease (written with every renew, and on release at a graceful stop), and the
// next leader seeds its windows from it before it reconciles anything. A call counted is written within 250 ms
// (HANDOVER_WRITE_SPACING_MS), not only at the next renew. A container restarted in its pod, a rolling
// update or a crash then does not send a burst into a window Databricks still counts as full.
import { type BudgetHandover, decodeHandover, encodeHandover, type RateBudgetRegistry } from '../databricks/index.js';
import type { LeaseHandover, Logger } from '../kube/index.js';

export const BUDGET_HANDOVER_ANNOTATION = 'ptoperator.io/databricks-budget';

export function budgetLeaseHandover(budgets: RateBudgetRegistry, now: () => number, log: Logger): LeaseHandover {
  return {
    annotation: BUDGET_HANDOVER_ANNOTATION,
    write: () => encodeHandover(budgets.handover()),
    // a call counted is in the Lease within a quarter of a second, not at the next renew: a crash loses little
    subscribe: (changed) => void budgets.onMutationCounted(changed),
    read: (value) => {
      const handover = decodeHandover(value, now(), budgets.limits.mutation.windowMs + budgets.limits.mutation.marginMs);
      if (!handover) return void log.info('the previous leader handed over no Databricks budget that still counts');
      budgets.seed(handover);
      log.info(summary(handover), "counting the previous leader's Databricks create/update calls of the last window");
    },
  };
}

function summary(handover: BudgetHandover): { calls: number; windows: number; paused: number } {
  const windows = Object.values(handover.windows);
  return {
    calls: windows.reduce((sum, w) => sum + w.sent.length, 0),
    windows: windows.length,
    paused: windows.filter((w) => w.pausedUntil !== undefined).length,
  };
}
