import { describe, expect, it } from 'vitest';
import { planWorkspaceDeletion } from '../../../../src/controllers/workspace/deletion.js';

describe('planWorkspaceDeletion (issue 11, finding 8)', () => {
  it('lets the workspace go once no endpoint object uses it', () => {
    expect(planWorkspaceDeletion({ users: [], crdDeleting: false })).toEqual({ action: 'removeFinalizer' });
  });

  it('waits while endpoint objects use it, naming them; the advice depends on whether they are being deleted', () => {
    const waiting = planWorkspaceDeletion({ users: [{ name: 'b', deleting: true }, { name: 'a', deleting: true }], crdDeleting: false });
    expect(waiting).toEqual({ action: 'wait', message: expect.stringContaining('2 endpoint object(s) that use this workspace: a, b'), event: expect.objectContaining({ type: 'Normal', reason: 'DeletionWaiting' }), usersDeleting: true });
    expect(waiting.action === 'wait' && waiting.message).toContain("being deleted with this workspace's credentials");
    const kept = planWorkspaceDeletion({ users: [{ name: 'a', deleting: false }], crdDeleting: false });
    expect(kept.action === 'wait' && kept.message).toContain('delete them first (set their spec.deletionPolicy to Orphan before');
    expect(kept).toMatchObject({ event: { type: 'Normal', reason: 'DeletionWaiting' }, usersDeleting: false });
  });

  it('names at most five users', () => {
    const users = Array.from({ length: 8 }, (_, i) => ({ name: `e${i}`, deleting: true }));
    const plan = planWorkspaceDeletion({ users, crdDeleting: false });
    expect(plan.action === 'wait' && plan.message).toContain('e0, e1, e2, e3, e4 and 3 more');
  });

  it('the CRD is being deleted: goes at once, with a Warning', () => {
    const plan = planWorkspaceDeletion({ users: [{ name: 'a', deleting: true }], crdDeleting: true });
    expect(plan).toMatchObject({ action: 'removeFinalizer', event: { type: 'Warning', reason: 'CRDDeleted' } });
  });
});
