// Delegated authentication and authorization for the metrics endpoint, as controller-runtime's secure metrics
// (filters.WithAuthenticationAndAuthorization) do: the bearer token is checked with a TokenReview, the caller's
// right to GET the path with a SubjectAccessReview. Needs: create tokenreviews.authentication.k8s.io and
// subjectaccessreviews.authorization.k8s.io (the chart grants both when metrics.secure is on).
import { createHash } from 'node:crypto';
import type { KubeClient } from './client.js';
import type { KubeObject, ResourceType } from './types.js';

const TokenReviews: ResourceType = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview', plural: 'tokenreviews', namespaced: false };
const SubjectAccessReviews: ResourceType = { group: 'authorization.k8s.io', version: 'v1', kind: 'SubjectAccessReview', plural: 'subjectaccessreviews', namespaced: false };

export type AuthDecision = { allowed: true; user: string } | { allowed: false; status: 401 | 403 | 429; reason: string };
export type RequestAuthorizer = (authorization: string | undefined, path: string, verb: string) => Promise<AuthDecision>;

interface TokenReview extends KubeObject {
  status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> }; error?: string };
}
interface SubjectAccessReview extends KubeObject {
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

/**
 * Reviews in flight at most. Whoever reaches the metrics port may send any token, and each unknown one costs a review
 * on the operator's own API-server client (its watches, status writes and Lease renewals): beyond this many, a
 * scrape is answered 429 without one. Prometheus scrapes each target once per interval, far below it.
 */
export const MAX_REVIEWS_IN_FLIGHT = 4;

/**
 * A bearer token → TokenReview → SubjectAccessReview on the non-resource path. Decisions are cached briefly per
 * token and path (by hash; the token itself is never kept), so a scrape every 15 s costs two reviews a minute.
 */
export function delegatedAuthorizer(client: KubeClient, options: { cacheTtlMs?: number; now?: () => number } = {}): RequestAuthorizer {
  const ttl = options.cacheTtlMs ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { decision: AuthDecision; expiresAt: number }>();
  let inFlight = 0;
  return async (authorization, path, verb) => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) return { allowed: false, status: 401, reason: 'a bearer token is required' };
    const key = `${createHash('sha256').update(token).digest('hex')} ${verb} ${path}`;
    const cached = cache.get(key);
    if (cached && cached.expiresAt > now()) return cached.decision;
    if (inFlight >= MAX_REVIEWS_IN_FLIGHT) return { allowed: false, status: 429, reason: 'too many token reviews in flight; try again' };
    inFlight += 1;
    let decision: AuthDecision;
    try {
      decision = await review(client, token, path, verb);
    } finally {
      inFlight -= 1;
    }
    if (cache.size > 1000) cache.clear();
    cache.set(key, { decision, expiresAt: now() + ttl });
    return decision;
  };
}

async function review(client: KubeClient, token: string, path: string, verb: string): Promise<AuthDecision> {
  const tokenReview = await client.create<TokenReview>(TokenReviews, undefined, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    metadata: { name: '' },
    spec: { token },
  } as TokenReview);
  const user = tokenReview.status?.user;
  if (!tokenReview.status?.authenticated || !user?.username) return { allowed: false, status: 401, reason: 'the token was not accepted' };
  const access = await client.create<SubjectAccessReview>(SubjectAccessReviews, undefined, {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    metadata: { name: '' },
    spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, nonResourceAttributes: { path, verb } },
  } as SubjectAccessReview);
  if (!access.status?.allowed) return { allowed: false, status: 403, reason: `${user.username} may not ${verb} ${path}` };
  return { allowed: true, user: user.username };
}
