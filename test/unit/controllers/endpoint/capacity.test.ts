import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPACITY_PATTERNS, capacityBackoffMs, rolloutFailure } from '../../../../src/controllers/endpoint/capacity.js';
import { CAPACITY_ABORT_MESSAGE, MINUTE, creatingEndpoint, failedEndpoint, readyEndpoint, updatingEndpoint } from '../fixtures.js';

describe('rolloutFailure', () => {
  it.each([
    ['a settled endpoint', readyEndpoint()],
    ['an update in progress', updatingEndpoint({ version: '3' }, { version: '4' })],
    ['a create in progress', creatingEndpoint()],
  ])('is undefined for %s', (_, endpoint) => {
    expect(rolloutFailure(endpoint, DEFAULT_CAPACITY_PATTERNS)).toBeUndefined();
  });

  it.each([
    ['the captured abort after the update timed out', { deployment: 'DEPLOYMENT_ABORTED', message: CAPACITY_ABORT_MESSAGE }, true],
    ['an abort without a message', { deployment: 'DEPLOYMENT_ABORTED', message: '' }, true],
    ['a failure that speaks of capacity', { deployment: 'DEPLOYMENT_FAILED', message: 'Insufficient GPU capacity in region eastus2' }, true],
    ['a build failure', { deployment: 'DEPLOYMENT_FAILED', message: 'Model build failed: no online store configured' }, false],
  ])('classifies %s (capacity: %s)', (_, entity, capacity) => {
    const failure = rolloutFailure(failedEndpoint({ version: '3' }, { version: '4', ...entity }), DEFAULT_CAPACITY_PATTERNS);
    expect(failure?.capacity).toBe(capacity);
    expect(failure?.message).toContain(entity.deployment);
    // Databricks' words, without the final period so that messages can continue the sentence.
    if (entity.message) expect(failure?.message).toContain(entity.message.replace(/\.$/, ''));
    expect(failure?.message).not.toMatch(/\.$/);
  });

  it('keeps at most 1000 characters of what the host reports (issue 11, finding 11)', () => {
    const endpoint = failedEndpoint(undefined, { deployment: 'DEPLOYMENT_FAILED', message: 'x'.repeat(200_000) });
    expect(rolloutFailure(endpoint, DEFAULT_CAPACITY_PATTERNS)?.message.length).toBeLessThan(1100);
  });

  it('shows the control characters the host reports (ESC, line breaks) instead of passing them to whoever reads Events', () => {
    const endpoint = failedEndpoint(undefined, { deployment: 'DEPLOYMENT_FAILED', message: 'build \u001b[31mfailed\u001b[0m\nat step 2\u2028done' });
    const message = rolloutFailure(endpoint, DEFAULT_CAPACITY_PATTERNS)?.message;
    expect(message).toBe('DEPLOYMENT_FAILED: build \\u001b[31mfailed\\u001b[0m at step 2 done');
  });

  it('uses the configured patterns', () => {
    const endpoint = failedEndpoint(undefined, { deployment: 'DEPLOYMENT_FAILED', message: 'no GPUs left in the pool' });
    expect(rolloutFailure(endpoint, DEFAULT_CAPACITY_PATTERNS)?.capacity).toBe(false);
    expect(rolloutFailure(endpoint, [/no GPUs left/])?.capacity).toBe(true);
  });
});

describe('capacityBackoffMs', () => {
  it.each([
    [1, 0.5, 2 * MINUTE],
    [2, 0.5, 4 * MINUTE],
    [3, 0.5, 8 * MINUTE],
    [5, 0.5, 30 * MINUTE], // 32m capped at 30m
    [1, 0, 0.8 * 2 * MINUTE], // jitter −20 %
    [1, 0.999999, Math.round(1.2 * 2 * MINUTE)], // jitter +20 % (random < 1)
    [9, 0, 0.8 * 30 * MINUTE],
  ])('attempt %i with random %d waits %i ms (initial 2m, max 30m)', (attempt, random, expected) => {
    expect(capacityBackoffMs(attempt, 2 * MINUTE, 30 * MINUTE, random)).toBe(expected);
  });
});

describe('rolloutFailure: a host that echoes a credential in its rollout message', () => {
  it.each([
    ['a personal access token', 'dapi0123456789abcdef0123456789abcdef'],
    ['an OAuth client secret', 'dose0123456789abcdef0123456789abcdef'],
    ['an OAuth access token (JWT)', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzcC0xIn0.c2lnbmF0dXJl'],
  ])('keeps %s out of status.capacity.lastMessage, conditions and Events', (_, secret) => {
    // The message goes to status.capacity.lastMessage as it is (conditions and Events scrub only bearer tokens and PATs).
    const endpoint = failedEndpoint(undefined, { deployment: 'DEPLOYMENT_FAILED', message: `build failed, retried with ${secret}` });
    const message = rolloutFailure(endpoint, DEFAULT_CAPACITY_PATTERNS)?.message ?? '';
    expect(message).toContain('build failed, retried with');
    expect(message).not.toContain(secret.slice(0, 20));
  });

  it('scrubs the whole message before cutting it: a credential across the cut leaves no prefix', () => {
    const secret = 'dapi0123456789abcdef0123456789abcdef';
    const endpoint = failedEndpoint(undefined, { deployment: 'DEPLOYMENT_FAILED', message: `${'x'.repeat(990)} ${secret}` });
    expect(rolloutFailure(endpoint, DEFAULT_CAPACITY_PATTERNS)?.message).not.toMatch(/dapi0/);
  });
});
