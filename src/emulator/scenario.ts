// The scenario file (YAML or JSON): catalog, credentials, timings, limits, faults and pre-existing
// endpoints. Everything has a default, so an empty scenario is the built-in emulator.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CreateServingEndpointSchema } from '../databricks/api-types.js';
import { CatalogModelSchema } from './catalog.js';
import { FaultSpecSchema } from './faults.js';

/**
 * Who a credential stands for, as SCIM Me answers it and as endpoints name their creator: a user's e-mail or a service
 * principal's application ID (a UUID). Omitted: workspace.creator, the one identity of a scenario that names none.
 */
const UserNameSchema = z.string().min(1).optional();

/** workspace.creator when a scenario names none */
export const DEFAULT_CREATOR = 'emulator-user@example.com';

const PatSchema = z.union([
  z.string().min(1),
  z.object({
    token: z.string().min(1),
    /** may read but not mutate (403 on create/update/delete) */ readOnly: z.boolean().default(false),
    userName: UserNameSchema,
  }),
]);

const ClientSchema = z.object({ id: z.string().min(1), secret: z.string().min(1), readOnly: z.boolean().default(false), userName: UserNameSchema });

/**
 * A federation policy: a JWT is exchanged when its iss (and aud/sub, if given) match. With `clientId` it is a service
 * principal's policy (workload identity federation), matched only by an exchange whose client_id names that service
 * principal; without it, an account-wide policy.
 */
const FederationPolicySchema = z.object({
  issuer: z.string().min(1),
  audience: z.string().optional(),
  subject: z.string().optional(),
  clientId: z.string().min(1).optional(),
  /** the identity an exchanged token stands for (the service principal's application ID) */
  userName: UserNameSchema,
});

const AuthSchema = z.object({
  /** exact PATs accepted; omitted = any bearer token starting with "dapi" */
  pats: z.array(PatSchema).optional(),
  /** OAuth M2M clients; omitted = the documented default client */
  clients: z.array(ClientSchema).optional(),
  /** token-federation policies; omitted = any well-formed, unexpired JWT with iss and sub */
  federation: z.array(FederationPolicySchema).optional(),
  /** virtual seconds an OAuth access token lives */
  tokenLifetimeSeconds: z.number().int().positive().default(3600),
});
export type AuthPolicy = z.infer<typeof AuthSchema>;

/** A rotation (POST /__emulator/auth): the PATs and clients accepted from now on; a list left out is kept. */
export const AuthRotationSchema = AuthSchema.pick({ pats: true, clients: true }).strict();
export type AuthRotation = z.infer<typeof AuthRotationSchema>;

export const ScenarioSchema = z.object({
  /** seed of the RNG behind fault rates */
  seed: z.number().int().default(1),
  clock: z
    .object({
      /** virtual ms per real ms; 0 = frozen (manual advance only) */
      speed: z.number().min(0).default(1),
    })
    .prefault({}),
  timing: z
    .object({
      /** virtual seconds from a create/update to READY/NOT_UPDATING */
      rolloutSeconds: z.number().positive().default(600),
      /** virtual seconds a rollout short of GPU capacity stays IN_PROGRESS before it times out (default: rolloutSeconds) */
      capacityTimeoutSeconds: z.number().positive().optional(),
      /** virtual seconds before an injected deployment failure ends the rollout (default: rolloutSeconds) */
      failureAfterSeconds: z.number().positive().optional(),
    })
    .prefault({}),
  catalog: z
    .object({
      /** keep the built-in models next to the scenario's own */
      includeDefaults: z.boolean().default(true),
      models: z.array(CatalogModelSchema).default([]),
    })
    .prefault({}),
  auth: AuthSchema.prefault({}),
  limits: z
    .object({
      /** create/update operations per workspace per window (documented: 50 in 5 minutes) */
      mutationsPerWindow: z.number().int().positive().default(50),
      windowSeconds: z.number().positive().default(300),
      /** serving endpoints a workspace may hold (documented: 1000, raised by the account team on request) */
      endpointsPerWorkspace: z.number().int().positive().default(1000),
    })
    .prefault({}),
  faults: z.array(FaultSpecSchema).default([]),
  /** endpoints that already exist, READY, when the emulator starts (bodies as for POST /serving-endpoints) */
  endpoints: z.array(CreateServingEndpointSchema).default([]),
  unityCatalog: z
    .object({
      /** "catalog.schema" names that exist, for inference tables */
      schemas: z.array(z.string().regex(/^[^.]+[.][^.]+$/)).default(['main.default', 'ml.serving']),
    })
    .prefault({}),
  /** principals that exist, for permissions; a list left out accepts any name */
  directory: z
    .object({
      users: z.array(z.string()).optional(),
      groups: z.array(z.string()).optional(),
      servicePrincipals: z.array(z.string()).optional(),
      /**
       * group name -> the identities (user e-mails, service principals' application IDs) that belong to it, for
       * permission checks: a group's entry on an endpoint's ACL grants its members. Every identity is also in `users`.
       */
      members: z.record(z.string(), z.array(z.string())).default({}),
    })
    .prefault({}),
  workspace: z
    .object({
      /** the `creator` of everything created */
      creator: z.string().default(DEFAULT_CREATOR),
      /**
       * identities that are workspace admins, who may read and manage every endpoint whatever its ACL; any other
       * identity needs an entry of its own or of a group it is in (directory.members, `users`). Default: workspace.creator alone.
       */
      admins: z.array(z.string()).optional(),
      /** served in /.well-known/databricks-config */
      id: z.string().regex(/^\d+$/).default('1234567890123456'),
    })
    .prefault({}),
});
export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

export function parseScenario(input: unknown): Scenario {
  return ScenarioSchema.parse(input ?? {});
}

/** Reads a scenario file; YAML is a superset of JSON, so one parser reads both. */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  const text = await readFile(path, 'utf8');
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new Error(`scenario ${path} is neither YAML nor JSON: ${(error as Error).message}`, { cause: error });
  }
  const result = ScenarioSchema.safeParse(raw ?? {});
  if (!result.success) throw new Error(`scenario ${path} is invalid:\n${z.prettifyError(result.error)}`);
  return result.data;
}
