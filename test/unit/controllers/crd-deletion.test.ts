// Is a CRD of ours being deleted (crd-deletion.ts)? One metadata-only GET shared by the deletions seen before it
// started; never an answer read before a caller saw its deletion.
import { describe, expect, it, vi } from 'vitest';
import { ENDPOINT_CRD, crdDeletionCheck } from '../../../src/controllers/crd-deletion.js';
import { KubeApiError, type KubeClient, type KubeObject } from '../../../src/kube/index.js';

function fakeApiserver(answer: () => KubeObject) {
  const clock = { at: 10_000 };
  const getMetadata = vi.fn(async () => answer());
  const check = crdDeletionCheck({ getMetadata } as unknown as Pick<KubeClient, 'getMetadata'>, () => clock.at);
  return { clock, getMetadata, check };
}

const crd = (deleting: boolean): KubeObject => ({
  apiVersion: 'meta.k8s.io/v1',
  kind: 'PartialObjectMetadata',
  metadata: { name: ENDPOINT_CRD, ...(deleting && { deletionTimestamp: '2026-11-29T10:00:00Z' }) },
});

describe('crdDeletionCheck', () => {
  it('asks for the metadata only, and says whether the CRD is marked for deletion (gone counts as deleting)', async () => {
    const live = fakeApiserver(() => crd(false));
    expect(await live.check(ENDPOINT_CRD)).toBe(false);
    expect(live.getMetadata).toHaveBeenCalledWith(expect.objectContaining({ plural: 'customresourcedefinitions' }), undefined, ENDPOINT_CRD, undefined);
    expect(await fakeApiserver(() => crd(true)).check(ENDPOINT_CRD)).toBe(true);
    const gone = fakeApiserver(() => {
      throw new KubeApiError(404, 'NotFound', 'not found');
    });
    expect(await gone.check(ENDPOINT_CRD)).toBe(true);
  });

  it('deletions seen before a GET started share it: a namespace of deletions costs one GET', async () => {
    const api = fakeApiserver(() => crd(false));
    const seenAt = api.clock.at;
    api.clock.at += 5;
    const answers = await Promise.all(Array.from({ length: 50 }, () => api.check(ENDPOINT_CRD, undefined, seenAt)));
    expect(answers.every((a) => a === false)).toBe(true);
    expect(api.getMetadata).toHaveBeenCalledTimes(1);
    // ...and one seen before it, asking 500 ms later, still gets that answer
    api.clock.at += 500;
    await api.check(ENDPOINT_CRD, undefined, seenAt);
    expect(api.getMetadata).toHaveBeenCalledTimes(1);
  });

  it('a deletion seen after the last GET started gets a GET of its own: the CRD may have been marked since', async () => {
    let deleting = false;
    const api = fakeApiserver(() => crd(deleting));
    const firstSeen = api.clock.at;
    api.clock.at += 5;
    expect(await api.check(ENDPOINT_CRD, undefined, firstSeen)).toBe(false);
    deleting = true; // kubectl delete crd: the API server marks the CRD, then deletes its objects
    api.clock.at += 10;
    const laterSeen = api.clock.at;
    api.clock.at += 1;
    expect(await api.check(ENDPOINT_CRD, undefined, laterSeen)).toBe(true);
    expect(api.getMetadata).toHaveBeenCalledTimes(2);
  });

  it('without a moment (the workspace reconciler) every call reads afresh', async () => {
    const api = fakeApiserver(() => crd(false));
    await api.check(ENDPOINT_CRD);
    await api.check(ENDPOINT_CRD);
    expect(api.getMetadata).toHaveBeenCalledTimes(2);
  });

  it('a failed GET is not kept: the next caller reads again', async () => {
    const api = fakeApiserver(() => crd(false));
    api.getMetadata.mockRejectedValueOnce(new KubeApiError(503, 'ServiceUnavailable', 'unavailable'));
    const seenAt = api.clock.at;
    api.clock.at += 1;
    await expect(api.check(ENDPOINT_CRD, undefined, seenAt)).rejects.toThrow();
    expect(await api.check(ENDPOINT_CRD, undefined, seenAt)).toBe(false);
    expect(api.getMetadata).toHaveBeenCalledTimes(2);
  });
});
