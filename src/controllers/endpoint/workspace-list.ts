// A workspace's list of endpoints (GET /serving-endpoints) as the reconciles read it: one list, shared, stands in
// for the GET of every new object of that second, of every endpoint whose rollout still runs, and of every endpoint
// about to be deleted (issue 12). What a list keeps of each endpoint, how long it is reused, how far apart lists of
// a large workspace are read, and how fresh a list must be for each kind of look.
import { OWNER_TAG_PREFIX } from '../../api/v1alpha1/index.js';
import type { ListedEndpoint, ServingEndpointDetailed } from '../../databricks/api-types.js';
import type { Observed } from './plan-types.js';
import { listSpacingMs } from './requeue.js';
import { SharedReads } from '../shared-reads.js';

/**
 * How long a workspace's list of endpoints may stand in for the GET of a new object, or of one whose rollout is
 * still running; at least, for a workspace so large that its reads are spaced further (listSpacingMs). Short: an
 * endpoint somebody else creates under that name after the list makes our create fail (nothing changes in
 * Databricks), as it would a moment after a GET.
 */
export const ENDPOINT_LIST_KEEP_MS = 1_000;

/** Of each endpoint a workspace lists, what a look reads from it: its rollout's state and who owns it. */
export type ListedSummary = Pick<ServingEndpointDetailed, 'id'> & Required<Pick<ServingEndpointDetailed, 'tags'>> & { configUpdate: string | undefined };
export type EndpointList = Observed<Map<string, ListedSummary>>;

/** Name → summary; of the tags only the owner tags are kept (ownership is all a list is read for). */
export const summarizeList = (endpoints: readonly ListedEndpoint[]): Map<string, ListedSummary> =>
  new Map(
    endpoints.map((e) => [
      e.name,
      {
        configUpdate: e.state?.config_update,
        ...(e.id !== undefined && { id: e.id }),
        tags: (e.tags ?? []).filter((t) => t.key.startsWith(OWNER_TAG_PREFIX)),
      },
    ]),
  );

/** A listed endpoint as the planner reads it before a DELETE: only its ID and owner tags are known. */
export const asListed = (name: string, summary: ListedSummary): ServingEndpointDetailed => ({
  name,
  state: {},
  ...(summary.id !== undefined && { id: summary.id }),
  tags: summary.tags,
});

/**
 * What the kept lists of every workspace may hold together, in bytes as keptBytes counts them (about what the
 * heap holds). A workspace's host chooses its list (up to 100,000 endpoints in 8 MiB; 65,000 plausible ones, or
 * 8,000 with long owner tags, are some 32 MiB kept), and a tenant may point several workspaces of its namespace at a
 * host it runs: past the bound the namespace holding the most gives first, its largest list first (the oldest of
 * equals), so other tenants' workspaces of hundreds to 10,000 endpoints (about 5 MiB each) keep theirs. A workspace whose list was let go still reads no
 * sooner than its spacing: its watched rollouts wait for the next list, a new object's look makes a GET.
 */
export const KEPT_LISTS_BYTES_MAX = 64 * 1024 * 1024;

// Measured with --expose-gc for lists of 65,000 parsed and summarized: about 460 bytes per entry with two short
// owner tags, plus one per character its strings hold.
const ENTRY_BYTES = 350;
const TAG_BYTES = 60;

/** About what a kept list holds in the heap: a fixed cost per endpoint and per owner tag, and its strings. */
export function keptBytes(list: EndpointList): number {
  if (list.kind !== 'found') return 0;
  let bytes = 0;
  for (const [name, e] of list.value) {
    bytes += ENTRY_BYTES + name.length + (e.id?.length ?? 0) + (e.configUpdate?.length ?? 0);
    for (const tag of e.tags) bytes += TAG_BYTES + tag.key.length + (tag.value?.length ?? 0);
  }
  return bytes;
}

/** A workspace's tenant: the namespace of `namespace/name`; the operator's default workspace is a share of its own. */
const tenantOf = (workspace: string): string => workspace.split('/', 1)[0]!;

const listedCount = (list: EndpointList) => (list.kind === 'found' ? list.value.size : 0);
const spacingMs = (list: EndpointList) => listSpacingMs(listedCount(list));
const keepMs = (list: EndpointList) => (list.kind === 'found' ? Math.max(ENDPOINT_LIST_KEEP_MS, spacingMs(list)) : undefined);

/** The lists of every workspace: shared while in flight and while kept, spaced by their size, bounded together. */
export class WorkspaceLists {
  private readonly reads: SharedReads<EndpointList>;

  constructor(now: () => number) {
    this.reads = new SharedReads(now, { spacingMs, kept: { weight: keptBytes, max: KEPT_LISTS_BYTES_MAX, group: tenantOf } });
  }

  /** A list of `workspace` started after `notBefore`: the one kept or in flight, or a new read. */
  get(workspace: string, load: () => Promise<EndpointList>, notBefore?: number): Promise<EndpointList> {
    return this.reads.get(workspace, load, keepMs, notBefore);
  }

  /**
   * Whether a list of `workspace` read now would come sooner than its spacing: its last one was let go by the bound
   * (a kept list serves until its spacing passed). A look that could do with a GET then makes one.
   */
  letGo(workspace: string): boolean {
    return this.reads.waitMs(workspace, Number.NEGATIVE_INFINITY) > 0;
  }

  /** How long to wait for the workspace's next list, when its lists are spaced (see SharedReads.waitMs). */
  waitMs(workspace: string, notBefore: number): number {
    return this.reads.waitMs(workspace, notBefore);
  }
}

/** What a look at an object is for, as far as the list goes. */
export interface ListLook {
  /** only whether our rollout still runs (onlyWatchingRollout) */
  watching: boolean;
  /** the ownership check before a DELETE */
  deleting: boolean;
}

/**
 * Per object, the moment a list must have been read after to answer its look. A rollout being watched: after
 * Databricks answered the change that started it (an older list cannot show it). Before a DELETE: after the
 * informer delivered the deletion, so that the list shows what anyone did to the name before the user deleted the
 * object (Databricks deletes by name), and after our last answered change (a create answered after the deletion
 * was seen must be in it, or the list would say "gone" and the endpoint would leak).
 */
export class ListFreshness {
  private readonly answeredAt = new Map<string, number>();
  private readonly seenDeletions = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** Databricks answered a create or config update of `key`'s object. */
  answered(key: string): void {
    this.answeredAt.set(key, this.now());
  }

  /** The informer delivered `key`'s object with a deletion timestamp (only the first time counts). */
  deletionSeen(key: string): void {
    if (!this.seenDeletions.has(key)) this.seenDeletions.set(key, this.now());
  }

  /** When the deletion of `key`'s object was seen: now, if the informer did not say (then it counts from now). */
  deletionSeenAt(key: string): number {
    this.deletionSeen(key);
    return this.seenDeletions.get(key) as number;
  }

  forget(key: string): void {
    this.answeredAt.delete(key);
    this.seenDeletions.delete(key);
  }

  /**
   * The moment `look`'s list must be read after; undefined when no list answers it (what was kept for the object
   * then goes: it matters only to a rollout still watched or a deletion). A deletion the informer did not report
   * counts as seen now.
   */
  listAfter(key: string, look: ListLook): number | undefined {
    const answered = this.answeredAt.get(key) ?? Number.NEGATIVE_INFINITY;
    if (look.deleting) return Math.max(this.deletionSeenAt(key), answered);
    if (look.watching) return answered;
    this.answeredAt.delete(key);
    return undefined;
  }
}
