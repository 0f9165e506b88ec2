// Who the operator is in a workspace (SCIM Me), asked once per client (a client per credential): memoised, never asked
// twice at once, a failure answered "unknown" and asked again only after a while, a cut-short ask asked again at once.
import { describe, expect, it } from 'vitest';
import { OperatorIdentities } from '../../../../src/controllers/workspace/operator-identity.js';
import type { CurrentUser } from '../../../../src/databricks/api-types.js';

/** A client whose currentUser() answers from a queue ('fail' rejects), counting the calls. */
function client(answers: (string | 'fail')[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    currentUser: (options?: { signal?: AbortSignal }): Promise<CurrentUser> => {
      calls++;
      const next = answers.shift() ?? 'fail';
      if (options?.signal?.aborted || next === 'fail') return Promise.reject(new Error('503'));
      return Promise.resolve({ userName: next });
    },
  };
}

describe('OperatorIdentities', () => {
  it('asks once per client, also when asked twice at once; another client (a new credential) is asked again', async () => {
    const identities = new OperatorIdentities();
    const first = client(['pt-operator@example.com']);
    expect(await Promise.all([identities.of(first), identities.of(first)])).toEqual(['pt-operator@example.com', 'pt-operator@example.com']);
    expect(await identities.of(first)).toBe('pt-operator@example.com');
    expect(first.calls).toBe(1);
    expect(identities.known(first)).toBe('pt-operator@example.com');
    const rotated = client(['6f1f3c1e-8d2a-4c51-9a57-0c1d2e3f4a5b']);
    expect(await identities.of(rotated)).toBe('6f1f3c1e-8d2a-4c51-9a57-0c1d2e3f4a5b');
    expect(rotated.calls).toBe(1);
  });

  it('a failure is "unknown" (nothing waits for it) and is asked again only after retryMs', async () => {
    let now = 0;
    const identities = new OperatorIdentities({ retryMs: 60_000, now: () => now });
    const flaky = client(['fail', 'pt-operator@example.com']);
    expect(await identities.of(flaky)).toBeUndefined();
    now = 59_999;
    expect(await identities.of(flaky)).toBeUndefined();
    expect(flaky.calls).toBe(1);
    now = 60_000;
    expect(await identities.of(flaky)).toBe('pt-operator@example.com');
    expect(flaky.calls).toBe(2);
  });

  it('an ask cut short (the reconcile aborted) is asked again at once', async () => {
    const identities = new OperatorIdentities();
    const c = client(['pt-operator@example.com', 'pt-operator@example.com']);
    const aborted = new AbortController();
    aborted.abort();
    expect(await identities.of(c, { signal: aborted.signal })).toBeUndefined();
    expect(await identities.of(c)).toBe('pt-operator@example.com');
    expect(c.calls).toBe(2);
  });
});
