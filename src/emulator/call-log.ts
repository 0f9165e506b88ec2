// The call log: every API call (never its headers or body, so never a token), with counts, so tests
// can assert "exactly one create" or "no mutation".
import type { RejectingFault } from './faults.js';

export interface CallRecord {
  seq: number;
  method: string;
  path: string;
  /** e.g. create, get, updateConfig, token; "unknown" for paths the API does not have */
  operation: string;
  endpoint?: string;
  /** HTTP status, or 0 when the connection was dropped */
  status: number;
  /** an injected fault that shaped the answer */
  fault?: 'drop' | RejectingFault | 'latency';
  /** virtual Unix ms */
  virtualTime: number;
  /** real Unix ms */
  realTime: number;
}

export interface CallFilter {
  method?: string;
  /** exact path, or a prefix when it ends with "*" */
  path?: string;
  operation?: string;
  endpoint?: string;
  status?: number;
  /** only calls with seq greater than this */
  afterSeq?: number;
}

export interface CallCounts {
  total: number;
  byMethod: Record<string, number>;
  byPath: Record<string, number>;
  byOperation: Record<string, number>;
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
}

/** Operations that change Databricks state. */
export const MUTATING_OPERATIONS = new Set([
  'create',
  'createPt',
  'updateConfig',
  'updatePtConfig',
  'delete',
  'patchTags',
  'putAiGateway',
  'updateNotifications',
  'patchTelemetryConfig',
  'setPermissions',
  'updatePermissions',
]);

/** A long-running emulator (a demo, an operator polling for hours) keeps only the newest calls. */
export const DEFAULT_MAX_CALL_RECORDS = 100_000;

export class CallLog {
  #records: CallRecord[] = [];
  #nextSeq = 1;
  readonly #maxRecords: number;

  constructor(maxRecords = DEFAULT_MAX_CALL_RECORDS) {
    this.#maxRecords = maxRecords;
  }

  record(entry: Omit<CallRecord, 'seq'>): CallRecord {
    const record = { seq: this.#nextSeq++, ...entry };
    this.#records.push(record);
    // Trim in batches, so a full log does not copy the array on every call.
    if (this.#records.length > this.#maxRecords * 1.1) this.#records = this.#records.slice(-this.#maxRecords);
    return record;
  }

  query(filter: CallFilter = {}): CallRecord[] {
    return this.#records.filter((r) => matches(r, filter));
  }

  clear(): void {
    this.#records = [];
  }
}

export function countCalls(records: readonly CallRecord[]): CallCounts {
  const counts: CallCounts = { total: records.length, byMethod: {}, byPath: {}, byOperation: {}, byEndpoint: {}, byStatus: {} };
  for (const r of records) {
    bump(counts.byMethod, r.method);
    bump(counts.byPath, r.path);
    bump(counts.byOperation, r.operation);
    if (r.endpoint !== undefined) bump(counts.byEndpoint, r.endpoint);
    bump(counts.byStatus, String(r.status));
  }
  return counts;
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function matches(r: CallRecord, f: CallFilter): boolean {
  if (f.method !== undefined && r.method !== f.method.toUpperCase()) return false;
  if (f.path !== undefined && !(f.path.endsWith('*') ? r.path.startsWith(f.path.slice(0, -1)) : r.path === f.path)) return false;
  if (f.operation !== undefined && r.operation !== f.operation) return false;
  if (f.endpoint !== undefined && r.endpoint !== f.endpoint) return false;
  if (f.status !== undefined && r.status !== f.status) return false;
  if (f.afterSeq !== undefined && r.seq <= f.afterSeq) return false;
  return true;
}
