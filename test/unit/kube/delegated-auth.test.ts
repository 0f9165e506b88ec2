import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../src/kube/client.js';
import { delegatedAuthorizer } from '../../../src/kube/delegated-auth.js';

/** A kube client whose reviews hang until released, counting how many are open at once. */
function hangingReviews() {
  let open = 0;
  let most = 0;
  const waiting: (() => void)[] = [];
  const client = {
    create: async (_type: unknown, _namespace: unknown, review: { kind: string }) => {
      open += 1;
      most = Math.max(most, open);
      await new Promise<void>((resolve) => waiting.push(resolve));
      open -= 1;
      return { ...review, status: { authenticated: false } };
    },
  } as unknown as KubeClient;
  return { client, mostOpen: () => most, release: () => waiting.splice(0).forEach((resolve) => resolve()) };
}

describe('delegatedAuthorizer (secure /metrics)', () => {
  it('sends a bounded number of TokenReviews at once, however many made-up tokens arrive together', async () => {
    // Anyone who reaches the metrics port can send requests with made-up bearer tokens. Each became a TokenReview on
    // the operator's own API-server client (the one its watches, status writes and Lease renewals use), all at once,
    // each on a connection of its own: a flood from any Pod loaded the API server in the operator's name and could
    // make it miss its Lease renewal.
    const reviews = hangingReviews();
    const authorize = delegatedAuthorizer(reviews.client);
    const decisions = Array.from({ length: 200 }, (_, i) => authorize(`Bearer made-up-${i}`, '/metrics', 'get'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(reviews.mostOpen()).toBeLessThanOrEqual(8);
    reviews.release();
    const answered = await Promise.all(decisions);
    expect(answered.every((decision) => !decision.allowed)).toBe(true);
  });
});
