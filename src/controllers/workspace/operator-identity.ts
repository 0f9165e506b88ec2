// Who the operator is in a workspace, as Databricks names it: SCIM Me's userName (a user's e-mail, or a service
// principal's application ID), asked as the Terraform provider and the SDKs' current_user.me() ask it. The endpoint
// permissions keep that principal at CAN_MANAGE (endpoint/permissions.ts). Asked once per client, and a client is made
// per credential (connections.ts), so a rotated or edited credential is asked again; a failed ask is retried after a
// while, meanwhile the answer is "unknown" and the permissions send nothing (a PUT without it could revoke the
// operator's own grant; endpoint/reconciler.ts).
import type { CallOptions, DatabricksClient } from '../../databricks/index.js';
import type { CurrentUser } from '../../databricks/api-types.js';

type Asked = { kind: 'known'; userName: string } | { kind: 'asking'; answer: Promise<string | undefined> } | { kind: 'failed'; retryAt: number };

export interface OperatorIdentitiesOptions {
  /** How long after a failed ask it is asked again; default one minute. */
  retryMs?: number;
  now?: () => number;
}

export class OperatorIdentities {
  readonly #asked = new WeakMap<object, Asked>();
  readonly #retryMs: number;
  readonly #now: () => number;

  constructor(options: OperatorIdentitiesOptions = {}) {
    this.#retryMs = options.retryMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** The identity behind `client`'s credentials, or undefined while it is unknown (never asked twice at once). */
  async of(client: Pick<DatabricksClient, 'currentUser'>, options?: CallOptions): Promise<string | undefined> {
    const asked = this.#asked.get(client);
    if (asked?.kind === 'known') return asked.userName;
    if (asked?.kind === 'asking') return asked.answer;
    if (asked?.kind === 'failed' && asked.retryAt > this.#now()) return undefined;
    const answer = new Promise<CurrentUser>((resolve) => resolve(client.currentUser(options))).then(
      (user) => {
        this.#asked.set(client, { kind: 'known', userName: user.userName });
        return user.userName;
      },
      () => {
        // a reconcile cut short (shutdown, leadership lost) is no answer: the next one asks at once
        if (options?.signal?.aborted) this.#asked.delete(client);
        else this.#asked.set(client, { kind: 'failed', retryAt: this.#now() + this.#retryMs });
        return undefined;
      },
    );
    this.#asked.set(client, { kind: 'asking', answer });
    return answer;
  }

  /** Whether an ask of `client`'s identity is under way (its answer is not in yet). */
  asking(client: object): boolean {
    return this.#asked.get(client)?.kind === 'asking';
  }

  /** What is known of `client`'s identity, without asking. */
  known(client: object): string | undefined {
    const asked = this.#asked.get(client);
    return asked?.kind === 'known' ? asked.userName : undefined;
  }
}
