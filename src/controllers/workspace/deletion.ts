// What a DatabricksWorkspace being deleted waits for. It keeps its finalizer while endpoint objects use it,
// so that deleting a namespace (or a directory of manifests) deletes the endpoints first, with this
// workspace's credentials, and the workspace last. Deleting the CRD itself releases it at once.

export interface WorkspaceDeletionInput {
  /** Endpoint objects in the namespace whose spec.workspaceRef names this workspace (being deleted or not). */
  users: readonly { name: string; deleting: boolean }[];
  /** The DatabricksWorkspace CRD is being deleted: the API server is removing every workspace object. */
  crdDeleting: boolean;
}

export type WorkspaceDeletionPlan =
  | { action: 'removeFinalizer'; event?: { type: 'Warning'; reason: string; message: string } }
  /**
   * The Event says it where the one who deleted it looks (kubectl describe). Normal even when some are not being
   * deleted: in a namespace deletion the workspace may be looked at before its users are marked.
   */
  | { action: 'wait'; message: string; event: { type: 'Normal'; reason: string; message: string }; /** every user is being deleted */ usersDeleting: boolean };

const LISTED = 5;

/** The endpoint objects among `endpoints` whose spec.workspaceRef names `workspace` (of their namespace). */
export function workspaceUsers(
  endpoints: readonly { metadata: { name: string; deletionTimestamp?: string }; spec?: { workspaceRef?: { name: string } } }[],
  workspace: string,
): WorkspaceDeletionInput['users'] {
  return endpoints.filter((e) => e.spec?.workspaceRef?.name === workspace).map((e) => ({ name: e.metadata.name, deleting: e.metadata.deletionTimestamp !== undefined }));
}

export function planWorkspaceDeletion(input: WorkspaceDeletionInput): WorkspaceDeletionPlan {
  if (input.crdDeleting) {
    return {
      action: 'removeFinalizer',
      event: {
        type: 'Warning',
        reason: 'CRDDeleted',
        message:
          'the DatabricksWorkspace CustomResourceDefinition is being deleted, so this workspace goes without waiting for its endpoint objects; nothing was changed in Databricks',
      },
    };
  }
  if (input.users.length === 0) return { action: 'removeFinalizer' };
  const names = input.users.map((u) => u.name).sort();
  const shown = names.slice(0, LISTED).join(', ') + (names.length > LISTED ? ` and ${names.length - LISTED} more` : '');
  const notDeleting = input.users.filter((u) => !u.deleting).length;
  const advice =
    notDeleting > 0
      ? `; delete them first (set their spec.deletionPolicy to Orphan before, to keep their Databricks endpoints)`
      : '; they are being deleted with this workspace\'s credentials';
  const message = `deletion waits for ${names.length} endpoint object(s) that use this workspace: ${shown}${advice}`;
  return { action: 'wait', message, event: { type: 'Normal', reason: 'DeletionWaiting', message }, usersDeleting: notDeleting === 0 };
}
