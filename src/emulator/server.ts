// The emulator's HTTP shell on node:http: routes API calls to the core, applies request faults, logs
// calls, and serves the inspection API under /__emulator/. Binds 127.0.0.1 unless told otherwise.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { countCalls, MUTATING_OPERATIONS, type CallFilter, type CallRecord } from './call-log.js';
import { ChunkSizeChangeSchema } from './catalog.js';
import { Emulator, type EmulatorOptions } from './emulator.js';
import { ApiError, invalidParameter } from './errors.js';
import { FaultSpecSchema } from './faults.js';
import { endpointOf, routeRequest, type Operation } from './routes.js';
import { SETTABLE_METRICS } from './metrics.js';
import { AuthRotationSchema, loadScenarioFile } from './scenario.js';

export const INSPECTION_PREFIX = '/__emulator';
const MAX_BODY_BYTES = 1024 * 1024;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export interface StartEmulatorOptions extends EmulatorOptions {
  /** 0 (default) picks a free port */
  port?: number;
  host?: string;
  /** a YAML or JSON scenario file; used when `scenario` is not given */
  scenarioFile?: string;
  /** called after every logged API call (never carries tokens) */
  onCall?: (record: CallRecord) => void;
}

export interface RunningEmulator {
  url: string;
  port: number;
  /** the core, for in-process control: clock, faults, call log, endpoints, reset */
  emulator: Emulator;
  close(): Promise<void>;
}

export async function startEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const scenario = options.scenario ?? (options.scenarioFile ? await loadScenarioFile(options.scenarioFile) : undefined);
  const emulator = new Emulator({ ...options, ...(scenario ? { scenario } : {}) });
  const server = createServer((req, res) => {
    handleRequest(emulator, req, res, options.onCall).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      const apiError = error instanceof ApiError ? error : new ApiError(500, 'INTERNAL_ERROR', describe(error));
      sendJson(res, apiError.status, apiError.body(), apiError.headers);
    });
  });
  const host = options.host ?? '127.0.0.1';
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    emulator,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function handleRequest(emulator: Emulator, req: IncomingMessage, res: ServerResponse, onCall?: (r: CallRecord) => void): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  const rawBody = await readBody(req);
  if (url.pathname === INSPECTION_PREFIX || url.pathname.startsWith(`${INSPECTION_PREFIX}/`)) {
    return handleInspection(emulator, method, url, rawBody, res);
  }

  const operation = routeRequest(method, url.pathname);
  const reply: Reply = { status: 200, body: {}, headers: {} };
  let endpoint = endpointOf(operation);
  let fault: CallRecord['fault'];
  try {
    // Only writes carry a body; the token endpoint's is a form. A stray GET body is ignored.
    const body = operation.op === 'token' || !BODY_METHODS.has(method) ? undefined : parseJson(rawBody);
    if ((operation.op === 'create' || operation.op === 'createPt') && isRecord(body) && typeof body.name === 'string') endpoint = body.name;
    // The Permissions API names the endpoint by ID; the call log names it as every other call does.
    if ('endpointId' in operation) endpoint = emulator.endpointNameById(operation.endpointId);
    const faults = emulator.faults.requestFaults({ method, path: url.pathname, ...(endpoint ? { endpoint } : {}) }, emulator.now());
    if (faults.latencyMs > 0) {
      fault = 'latency';
      await sleep(faults.latencyMs);
    }
    if (faults.drop) {
      log(emulator, onCall, { method, path: url.pathname, operation: operation.op, endpoint, status: 0, fault: 'drop' });
      req.socket.destroy();
      return;
    }
    if (faults.reject) {
      fault = faults.rejectedBy;
      throw faults.reject;
    }
    Object.assign(reply, dispatch(emulator, operation, req, body, rawBody));
  } catch (error) {
    const apiError = error instanceof ApiError ? error : new ApiError(500, 'INTERNAL_ERROR', describe(error));
    reply.status = apiError.status;
    reply.body = apiError.body();
    reply.headers = apiError.headers;
  }
  if (reply.text !== undefined && reply.status < 300) sendText(res, reply.status, reply.text);
  else sendJson(res, reply.status, reply.body, reply.headers);
  log(emulator, onCall, { method, path: url.pathname, operation: operation.op, endpoint, status: reply.status, fault });
}

interface Reply {
  status: number;
  body: unknown;
  /** a text/plain answer (Prometheus exposition) instead of JSON */
  text?: string;
  headers: Record<string, string>;
}

function dispatch(emulator: Emulator, operation: Operation, req: IncomingMessage, body: unknown, rawBody: string): Partial<Reply> {
  switch (operation.op) {
    case 'unknown':
      throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${req.method ?? 'GET'} ${withoutApiVersion(new URL(req.url ?? '/', 'http://x').pathname)}'`);
    case 'hostMetadata':
      return { body: emulator.auth.hostMetadata(baseUrl(req), emulator.scenario.workspace.id) };
    case 'oidcDiscovery':
      return { body: emulator.auth.discovery(baseUrl(req)) };
    case 'token': {
      const result = emulator.auth.token(new URLSearchParams(rawBody), req.headers.authorization);
      return { status: result.status, body: result.body };
    }
  }
  const principal = emulator.auth.authenticate(req.headers.authorization);
  if (principal.readOnly && MUTATING_OPERATIONS.has(operation.op)) {
    throw new ApiError(403, 'PERMISSION_DENIED', 'The caller does not have CAN_MANAGE permission on serving endpoints.');
  }
  // The endpoint's ACL, for an identity that is not a workspace admin (scenario workspace.admins).
  const needed = levelNeeded(operation);
  if (needed) emulator.authorize(principal.userName, needed.ref, needed.level);
  switch (operation.op) {
    case 'list':
      return { body: emulator.listEndpoints() };
    case 'create':
      return { body: emulator.createEndpoint(body, principal.userName) };
    case 'createPt':
      return { body: emulator.createPtEndpoint(body, principal.userName) };
    case 'get': {
      // permission_level is "the permission level of the principal making the request" (the SDKs' field doc): a
      // read-only credential may view but not manage. Every other detailed answer is to a caller that may manage.
      const endpoint = emulator.getEndpoint(operation.name);
      const level = principal.readOnly ? 'CAN_VIEW' : emulator.accessLevel(principal.userName, { name: operation.name });
      return { body: level === 'CAN_MANAGE' ? endpoint : { ...endpoint, permission_level: level } };
    }
    case 'delete':
      return { body: emulator.deleteEndpoint(operation.name) };
    case 'updateConfig':
      return { body: emulator.updateConfig(operation.name, body) };
    case 'updatePtConfig':
      return { body: emulator.updatePtConfig(operation.name, body) };
    case 'patchTags':
      return { body: emulator.patchTags(operation.name, body) };
    case 'putAiGateway':
      return { body: emulator.putAiGateway(operation.name, body) };
    case 'updateNotifications':
      return { body: emulator.updateNotifications(operation.name, body) };
    case 'patchTelemetryConfig':
      return { body: emulator.patchTelemetryConfig(operation.name, body) };
    case 'getPermissions':
      return { body: emulator.getPermissions(operation.endpointId) };
    case 'setPermissions':
      return { body: emulator.setPermissions(operation.endpointId, body) };
    case 'updatePermissions':
      return { body: emulator.updatePermissions(operation.endpointId, body) };
    case 'getPermissionLevels':
      return { body: emulator.getPermissionLevels(operation.endpointId) };
    case 'getSchema':
      return { body: emulator.getSchema(operation.fullName) };
    case 'currentUser':
      return { body: emulator.currentUser(principal.userName) };
    case 'optimizationInfo':
      return { body: emulator.optimizationInfo(operation.model, operation.version) };
    case 'exportMetrics':
      return { text: emulator.exportMetrics(operation.name) };
  }
}

/** The level an operation on one endpoint needs of the caller; undefined for the others. */
function levelNeeded(operation: Operation): { level: 'CAN_VIEW' | 'CAN_MANAGE'; ref: { name: string } | { endpointId: string } } | undefined {
  switch (operation.op) {
    case 'get':
    case 'exportMetrics':
      return { level: 'CAN_VIEW', ref: { name: operation.name } };
    case 'getPermissionLevels':
      return { level: 'CAN_VIEW', ref: { endpointId: operation.endpointId } };
    case 'delete':
    case 'updateConfig':
    case 'updatePtConfig':
    case 'patchTags':
    case 'putAiGateway':
    case 'updateNotifications':
    case 'patchTelemetryConfig':
      return { level: 'CAN_MANAGE', ref: { name: operation.name } };
    case 'getPermissions':
    case 'setPermissions':
    case 'updatePermissions':
      return { level: 'CAN_MANAGE', ref: { endpointId: operation.endpointId } };
    default:
      return undefined;
  }
}

// ---- inspection API ------------------------------------------------------------------------------

const ClockChangeSchema = z.object({
  advanceSeconds: z.number().min(0).optional(),
  advanceMs: z.number().min(0).optional(),
  speed: z.number().min(0).optional(),
});

function handleInspection(emulator: Emulator, method: string, url: URL, rawBody: string, res: ServerResponse): void {
  const segments = url.pathname.slice(INSPECTION_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
  const key = `${method} ${segments.map((s, i) => (i === 1 && (segments[0] === 'faults' || segments[0] === 'endpoints' || segments[0] === 'catalog' || segments[0] === 'principals') ? ':id' : s)).join('/')}`;
  try {
    const body = parseJson(rawBody);
    switch (key) {
      case 'GET state':
        return sendJson(res, 200, {
          now: emulator.now(),
          speed: emulator.clock.speed,
          endpoints: emulator.endpoints(),
          permissions: emulator.permissionsByEndpoint(),
          faults: emulator.faults.list(),
          budget: { used: emulator.budget.used(emulator.now()), limit: emulator.budget.limit, windowSeconds: emulator.budget.windowMs / 1000 },
        });
      case 'GET calls': {
        const calls = emulator.calls.query(callFilter(url.searchParams));
        return sendJson(res, 200, { calls, counts: countCalls(calls) });
      }
      case 'DELETE calls':
        emulator.calls.clear();
        return sendJson(res, 200, {});
      case 'GET faults':
        return sendJson(res, 200, { faults: emulator.faults.list() });
      case 'POST faults': {
        const specs = z.union([FaultSpecSchema, z.array(FaultSpecSchema)]).parse(body);
        const added = (Array.isArray(specs) ? specs : [specs]).map((spec) => emulator.addFault(spec));
        return sendJson(res, 200, { faults: added });
      }
      case 'DELETE faults':
        emulator.faults.clear();
        return sendJson(res, 200, {});
      case 'DELETE faults/:id':
        if (!emulator.faults.remove(segments[1] ?? '')) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `No fault with id '${segments[1]}'.`);
        return sendJson(res, 200, {});
      case 'GET clock':
        return sendJson(res, 200, { now: emulator.now(), speed: emulator.clock.speed });
      case 'POST clock': {
        const change = ClockChangeSchema.parse(body);
        if (change.speed !== undefined) emulator.clock.setSpeed(change.speed);
        emulator.advance((change.advanceSeconds ?? 0) * 1000 + (change.advanceMs ?? 0));
        return sendJson(res, 200, { now: emulator.now(), speed: emulator.clock.speed });
      }
      case 'POST endpoints/:id/metrics':
        // Only the documented metrics (metrics.ts): a misspelt name is refused, not silently never reported.
        emulator.setMetrics(segments[1] ?? '', z.record(z.string(), z.partialRecord(z.enum(SETTABLE_METRICS), z.number())).parse(body) as Record<string, Record<string, number>>);
        return sendJson(res, 200, {});
      case 'POST endpoints/:id/edit':
        return sendJson(res, 200, emulator.editEndpoint(segments[1] ?? '', body as never));
      case 'DELETE principals/:id':
        emulator.deletePrincipal(segments[1] ?? '');
        return sendJson(res, 200, {});
      case 'POST auth':
        emulator.auth.rotate(AuthRotationSchema.parse(body));
        return sendJson(res, 200, {});
      case 'POST reset':
        emulator.reset();
        return sendJson(res, 200, {});
      case 'GET catalog':
        return sendJson(res, 200, { models: emulator.catalog.list() });
      case 'POST catalog/:id': {
        const name = segments[1] ?? '';
        if (!emulator.catalog.list().some((m) => m.name === name)) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `No model '${name}' in the catalog.`);
        return sendJson(res, 200, emulator.catalog.changeChunkSizes(name, ChunkSizeChangeSchema.parse(body)));
      }
      default:
        throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No inspection API for '${method} ${url.pathname}'`);
    }
  } catch (error) {
    const apiError =
      error instanceof ApiError ? error : error instanceof z.ZodError ? invalidParameter(z.prettifyError(error)) : new ApiError(500, 'INTERNAL_ERROR', describe(error));
    sendJson(res, apiError.status, apiError.body(), apiError.headers);
  }
}

function callFilter(params: URLSearchParams): CallFilter {
  const filter: CallFilter = {};
  for (const key of ['method', 'path', 'operation', 'endpoint'] as const) {
    const value = params.get(key);
    if (value !== null) filter[key] = value;
  }
  const status = params.get('status');
  if (status !== null) filter.status = Number(status);
  const afterSeq = params.get('afterSeq');
  if (afterSeq !== null) filter.afterSeq = Number(afterSeq);
  return filter;
}

// ---- plumbing ------------------------------------------------------------------------------------

function log(emulator: Emulator, onCall: ((r: CallRecord) => void) | undefined, entry: Omit<CallRecord, 'seq' | 'virtualTime' | 'realTime'> & { endpoint: string | undefined; fault: CallRecord['fault'] | undefined }): void {
  const { endpoint, fault, ...rest } = entry;
  const record = emulator.calls.record({
    ...rest,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(fault !== undefined ? { fault } : {}),
    virtualTime: emulator.now(),
    realTime: Date.now(),
  });
  onCall?.(record);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'Request body is too large.');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** JSON regardless of Content-Type (DOC-PT's own sample sends a misspelled header). */
function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(400, 'MALFORMED_REQUEST', 'Invalid JSON given in the body of the request - expected a map.');
  }
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A path as a workspace names it in "No API found": without the /api/2.x prefix ("GET /unity-catalog/domains"). */
function withoutApiVersion(path: string): string {
  return path.replace(/^\/api\/\d+\.\d+(?=\/)/, '');
}

/** The URL the client used to reach us, so discovery documents point back at the same address. */
function baseUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
