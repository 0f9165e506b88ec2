// The endpoint reconciler's I/O shell, fast: a stub Databricks client, a fake API server for the status
// and finalizer writes, and the real StatusWriter and plan. What it must do around the plan (issue 16, 8 and 11).
import { describe, expect, it } from 'vitest';
import { type Endpoint } from '../../../../src/controllers/endpoint/reconciler.js';
import { DatabricksError } from '../../../../src/databricks/index.js';
import { errorFromHttpResponse } from '../../../../src/databricks/errors.js';
import { NOW, readyEndpoint } from '../fixtures.js';
import { endpoint, harness } from './reconciler-harness.js';

describe('endpoint reconciler (I/O shell)', () => {
  describe('settings parts', () => {
    const withSpec = (extra: Record<string, unknown>) => ({ ...endpoint(), spec: { ...endpoint().spec, ...extra } }) as unknown as Endpoint;
    const acl = () => ({ object_type: 'serving-endpoint', access_control_list: [{ user_name: 'pt-operator@company.com', all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: false }] }] });

    it("a telemetry PATCH's answer is recorded: what was sent and the profile Databricks made of it", async () => {
      const tables = { tables: { logsTable: 'main.obs.logs' } };
      const made = { ...readyEndpoint(), telemetry_config: { telemetry_profile_id: 'p-made' } };
      const h = harness({ object: withSpec({ telemetry: tables }), settings: { patchTelemetryConfig: () => made } });
      await h.run();
      expect(h.client.patchTelemetryConfig).toHaveBeenCalledTimes(1);
      const written = h.patches.filter((p) => p.subresource === 'status').at(-1)?.body as { status: { settings: { telemetry: unknown } } };
      expect(written.status.settings.telemetry).toMatchObject({ sent: 'logs main.obs.logs, all features', profileId: 'p-made' });
    });

    it('reads the ACL only for an object that manages permissions', async () => {
      const h = harness();
      await h.run();
      expect(h.client.getPermissions).not.toHaveBeenCalled();
    });

    it('an object being deleted reads no ACL, even when it manages permissions: only ownership matters before a DELETE', async () => {
      const managed = withSpec({ permissions: [{ groupName: 'ml-eng', permissionLevel: 'CAN_QUERY' }] });
      const h = harness({ object: { ...managed, metadata: { ...managed.metadata, deletionTimestamp: NOW.toISOString() } } as Endpoint, settings: { getPermissions: acl }, listed: ['llama-chat'] });
      await h.run();
      expect(h.client.getPermissions).not.toHaveBeenCalled();
      expect(h.client.deleteEndpoint).toHaveBeenCalledTimes(1);
    });

    it('reads the ACL by endpoint ID and sends the one PUT the plan asks for', async () => {
      const h = harness({ object: withSpec({ permissions: [{ groupName: 'ml-eng', permissionLevel: 'CAN_QUERY' }] }), settings: { getPermissions: acl } });
      await h.run();
      expect(h.client.getPermissions).toHaveBeenCalledWith(readyEndpoint().id, expect.anything());
      expect(h.client.setPermissions).toHaveBeenCalledWith(
        readyEndpoint().id,
        { access_control_list: [{ group_name: 'ml-eng', permission_level: 'CAN_QUERY' }, { user_name: 'pt-operator@company.com', permission_level: 'CAN_MANAGE' }] },
        expect.anything(),
      );
    });

    it('a part Databricks refuses is written as that part\'s condition, without throwing', async () => {
      const h = harness({
        object: withSpec({ aiGateway: { inferenceTables: { enabled: true, catalogName: 'missing', schemaName: 'default' } } }),
        settings: {
          putAiGateway: () => {
            throw new DatabricksError({ kind: 'InvalidRequest', status: 400, message: "Catalog 'missing' does not exist." });
          },
        },
      });
      await expect(h.run()).resolves.toEqual({ requeueAfterMs: 1 });
      const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; status: string; reason: string }[] } };
      expect(status.status.conditions).toContainEqual(expect.objectContaining({ type: 'AiGatewaySynced', status: 'False', reason: 'Rejected' }));
      expect(status.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
      expect(h.events.map((e) => e.reason)).toContain('AiGatewayRejected');
    });

    it('sends the telemetry PATCH the plan asks for, by endpoint name, and nothing for an endpoint that shows the spec', async () => {
      const telemetry = { tables: { logsTable: 'main.obs.logs' } };
      const h = harness({ object: withSpec({ telemetry }) });
      await h.run();
      expect(h.client.patchTelemetryConfig).toHaveBeenCalledTimes(1);
      expect(h.client.patchTelemetryConfig).toHaveBeenCalledWith('llama-chat', { telemetry_config: { table_names: { logs_table: 'main.obs.logs' } } }, expect.anything());
      // As Databricks may echo it: the profile made from the tables beside them.
      const shown = { ...readyEndpoint(), telemetry_config: { telemetry_profile_id: 'tp-9', table_names: { logs_table: 'main.obs.logs' } } };
      const settled = harness({ object: withSpec({ telemetry }), getEndpoint: () => shown });
      await settled.run();
      expect(settled.client.patchTelemetryConfig).not.toHaveBeenCalled();
    });

    it('a telemetry PATCH Databricks refuses is TelemetrySynced=Rejected with how to fix it, the endpoint Ready', async () => {
      const h = harness({
        object: withSpec({ telemetry: { profileId: 'tp-missing' } }),
        settings: {
          patchTelemetryConfig: () => {
            throw new DatabricksError({ kind: 'InvalidRequest', status: 400, message: "Telemetry profile 'tp-missing' does not exist." });
          },
        },
      });
      await expect(h.run()).resolves.toEqual({ requeueAfterMs: 1 });
      const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; status: string; reason: string; message: string }[] } };
      const telemetry = status.status.conditions.find((c) => c.type === 'TelemetrySynced');
      expect(telemetry).toMatchObject({ status: 'False', reason: 'Rejected' });
      expect(telemetry?.message).toMatch(/Telemetry profile 'tp-missing' does not exist.*Fix spec\.telemetry.*requested-at/);
      expect(status.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
      expect(h.events.map((e) => e.reason)).toContain('TelemetryRejected');
    });

    // Databricks may answer a principal that does not exist (deleted from the workspace, or misspelt) with 404
    // RESOURCE_DOES_NOT_EXIST, the code of a missing endpoint. Read as "the endpoint vanished, look again now", the
    // operator would read and PUT again at once, forever, with no condition saying why.
    it('a permissions PUT refused because a principal does not exist (404) is PermissionsSynced=Rejected naming it, not an immediate retry', async () => {
      const h = harness({
        object: withSpec({ permissions: [{ userName: 'bob@example.com', permissionLevel: 'CAN_QUERY' }] }),
        settings: {
          getPermissions: acl,
          setPermissions: () => {
            throw errorFromHttpResponse({
              status: 404,
              headers: {},
              bodyText: JSON.stringify({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Principal: UserName(bob@example.com) does not exist' }),
              method: 'PUT',
              path: `/api/2.0/permissions/serving-endpoints/${readyEndpoint().id}`,
              nowMs: NOW.getTime(),
            });
          },
        },
      });
      await h.run();
      const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; status: string; reason: string; message: string }[] } };
      const permissions = status.status.conditions.find((c) => c.type === 'PermissionsSynced');
      expect(permissions).toMatchObject({ status: 'False', reason: 'Rejected' });
      expect(permissions?.message).toMatch(/Principal: UserName\(bob@example\.com\) does not exist.*Fix spec\.permissions/);
      expect(status.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    });

    // The same for a telemetry profile that does not exist, should Databricks answer it with 404 RESOURCE_DOES_NOT_EXIST
    // (its wording is not known): an answer that does not name the endpoint is about something else. One that does is
    // the endpoint gone: read again at once.
    const telemetry404 = (message: string) => () => {
      throw errorFromHttpResponse({
        status: 404,
        headers: {},
        bodyText: JSON.stringify({ error_code: 'RESOURCE_DOES_NOT_EXIST', message }),
        method: 'PATCH',
        path: '/api/2.0/serving-endpoints/llama-chat/telemetry-config',
        nowMs: NOW.getTime(),
      });
    };
    it('a telemetry PATCH answered 404 about a profile (not the endpoint) is TelemetrySynced=Rejected, not an immediate retry', async () => {
      const h = harness({ object: withSpec({ telemetry: { profileId: 'tp-missing' } }), settings: { patchTelemetryConfig: telemetry404("Telemetry profile 'tp-missing' does not exist.") } });
      await h.run();
      const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; status: string; reason: string; message: string }[] } };
      expect(status.status.conditions.find((c) => c.type === 'TelemetrySynced')).toMatchObject({ status: 'False', reason: 'Rejected', message: expect.stringMatching(/tp-missing' does not exist.*Fix spec\.telemetry/) });
      expect(status.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    });

    it('a telemetry PATCH answered 404 naming the endpoint is the endpoint gone: no Rejected, read again', async () => {
      const h = harness({ object: withSpec({ telemetry: { profileId: 'tp-1' } }), settings: { patchTelemetryConfig: telemetry404("Endpoint with name 'llama-chat' does not exist.") } });
      await expect(h.run()).resolves.toEqual({ requeueAfterMs: 1 });
      const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions?: { type: string; reason: string }[] } } | undefined;
      expect(status?.status.conditions?.find((c) => c.type === 'TelemetrySynced')?.reason).not.toBe('Rejected');
    });
  });
});
