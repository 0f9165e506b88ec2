"""Drives the pt-operator emulator with the official Databricks Python SDK.

Usage: compat.py <pat|oauth-m2m|file-oidc>. Reads DATABRICKS_HOST and the credentials from the environment,
as any SDK user would. Prints one JSON line per step, then {"done": true}; any unexpected
exception ends the script with a non-zero code. The vitest test asserts on these lines.
"""

import base64
import json
import os
import sys
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.errors import (
    BadRequest,
    InvalidParameterValue,
    NotFound,
    ResourceConflict,
    ResourceDoesNotExist,
)
from databricks.sdk.service.serving import (
    AiGatewayGuardrailParameters,
    AiGatewayGuardrailPiiBehavior,
    AiGatewayGuardrailPiiBehaviorBehavior,
    AiGatewayGuardrails,
    AiGatewayInferenceTableConfig,
    AiGatewayRateLimit,
    AiGatewayRateLimitKey,
    AiGatewayRateLimitRenewalPeriod,
    AiGatewayUsageTrackingConfig,
    EmailNotifications,
    EndpointTag,
    EndpointCoreConfigInput,
    FallbackConfig,
    ServingEndpointAccessControlRequest,
    ServingEndpointPermissionLevel,
    PtEndpointCoreConfig,
    PtServedModel,
    TelemetryConfig,
    TelemetryFeature,
    TelemetryInferenceTableConfig,
    UnityCatalogTableNames,
    Route,
    ServedEntityInput,
    TrafficConfig,
)

LLAMA = "system.ai.meta_llama_v3_1_8b_instruct"
TIMEOUT = timedelta(minutes=2)


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def llama(max_throughput):
    return [
        ServedEntityInput(
            entity_name=LLAMA,
            entity_version="3",
            min_provisioned_throughput=0,
            max_provisioned_throughput=max_throughput,
        )
    ]


def entity_summary(endpoint):
    entity = endpoint.config.served_entities[0]
    return {
        "name": entity.name,
        "max": entity.max_provisioned_throughput,
        "units": entity.provisioned_model_units,
        "deployment": entity.state.deployment.value,
        "scale_to_zero": entity.scale_to_zero_enabled,
    }


def main(auth_type):
    w = WorkspaceClient(auth_type=auth_type)
    name = f"sdk-{auth_type}"
    current_user(w)

    created = w.serving_endpoints.create_and_wait(
        name=name, config=EndpointCoreConfigInput(name=name, served_entities=llama(980)), timeout=TIMEOUT
    )
    emit(
        "create_and_wait",
        ready=created.state.ready.value,
        config_update=created.state.config_update.value,
        config_version=created.config.config_version,
        id_length=len(created.id),
        entity=entity_summary(created),
    )

    got = w.serving_endpoints.get(name)
    emit("get", ready=got.state.ready.value, entity=entity_summary(got))

    updated = w.serving_endpoints.update_config_and_wait(name=name, served_entities=llama(1960), timeout=TIMEOUT)
    emit(
        "update_config_and_wait",
        config_update=updated.state.config_update.value,
        config_version=updated.config.config_version,
        entity=entity_summary(updated),
    )

    # An update while an update is in progress is refused with 409.
    waiter = w.serving_endpoints.update_config(name=name, served_entities=llama(2940))
    try:
        w.serving_endpoints.update_config(name=name, served_entities=llama(3920))
        emit("update_during_update", raised=None)
    except ResourceConflict as e:
        emit("update_during_update", raised=type(e).__name__, error_code=e.error_code)
    during = w.serving_endpoints.get(name)
    emit(
        "old_config_serving_during_update",
        config_update=during.state.config_update.value,
        serving_max=during.config.served_entities[0].max_provisioned_throughput,
        pending_max=during.pending_config.served_entities[0].max_provisioned_throughput,
    )
    finished = waiter.result(timeout=TIMEOUT)
    emit("first_update_finished", config_version=finished.config.config_version, entity=entity_summary(finished))

    try:
        w.serving_endpoints.get("sdk-missing-endpoint")
        emit("get_missing", raised=None)
    except NotFound as e:
        emit(
            "get_missing",
            raised=type(e).__name__,
            is_resource_does_not_exist=isinstance(e, ResourceDoesNotExist),
            error_code=e.error_code,
        )

    # scale_to_zero_enabled: a PT entity may leave it out (the creates above, answered false); an entity that is not PT
    # may not, as a workspace answers (terraform-provider-databricks #3946).
    try:
        w.serving_endpoints.create(
            name=f"{name}-cpu",
            config=EndpointCoreConfigInput(
                name=f"{name}-cpu",
                served_entities=[ServedEntityInput(entity_name="system.ai.meta_llama_v3_1_8b", entity_version="1", workload_size="Small")]
            ),
        )
        emit("create_without_scale_to_zero", raised=None)
    except BadRequest as e:
        emit("create_without_scale_to_zero", raised=type(e).__name__, message=str(e))

    # The model-unit flavour: POST /serving-endpoints/pt and PUT /serving-endpoints/pt/{name}/config.
    pt_name = f"{name}-units"
    pt = w.serving_endpoints.create_provisioned_throughput_endpoint_and_wait(
        name=pt_name,
        config=PtEndpointCoreConfig(
            served_entities=[PtServedModel(entity_name="system.ai.gpt-oss-120b", entity_version="1", provisioned_model_units=50)]
        ),
        timeout=TIMEOUT,
    )
    pt = w.serving_endpoints.update_provisioned_throughput_endpoint_config_and_wait(
        name=pt_name,
        config=PtEndpointCoreConfig(
            served_entities=[PtServedModel(entity_name="system.ai.gpt-oss-120b", entity_version="1", provisioned_model_units=100)]
        ),
        timeout=TIMEOUT,
    )
    emit("pt_model_units", config_version=pt.config.config_version, entity=entity_summary(pt))

    listed = sorted(w.serving_endpoints.list(), key=lambda e: e.name)
    # The operator reads name and state.config_update of each entry (a look at a running rollout uses the list).
    emit(
        "list",
        names=[e.name for e in listed],
        config_updates=[e.state.config_update.value if e.state and e.state.config_update else None for e in listed],
    )

    tags_and_optimization_info(w, name)
    settings(w, name)
    canary(w, name)

    for endpoint_name in (name, pt_name):
        w.serving_endpoints.delete(endpoint_name)
    try:
        w.serving_endpoints.get(name)
        emit("get_after_delete", raised=None)
    except NotFound as e:
        emit("get_after_delete", raised=type(e).__name__)

    if auth_type == "file-oidc":
        federation_refused()

    print(json.dumps({"done": True}), flush=True)


def current_user(w):
    """SCIM Me, as the SDKs' current_user.me() and the Terraform provider ask who they are; with PT_SECOND_TOKEN, a
    second credential that stands for another identity (a service principal: its application ID, no e-mail)."""
    me = w.current_user.me()
    emit("current_user", user_name=me.user_name, emails=[e.value for e in me.emails or []], active=me.active)
    second = os.environ.get("PT_SECOND_TOKEN")
    if second:
        other = WorkspaceClient(config=Config(host=os.environ["DATABRICKS_HOST"], token=second, auth_type="pat"))
        me = other.current_user.me()
        emit("current_user_second", user_name=me.user_name, emails=[e.value for e in me.emails or []])


def tags_and_optimization_info(w, name):
    """The tags PATCH and get-model-optimization-info (no SDK method: raw, as SDK users call it)."""
    added = w.serving_endpoints.patch(
        name=name, add_tags=[EndpointTag(key="team", value="data science"), EndpointTag(key="old", value="x")]
    )
    emit("patch_tags_add", tags=sorted([t.key, t.value] for t in added.tags))
    changed = w.serving_endpoints.patch(name=name, add_tags=[EndpointTag(key="team", value="ml")], delete_tags=["old"])
    emit(
        "patch_tags_change",
        tags=sorted([t.key, t.value] for t in changed.tags),
        on_get=sorted([t.key, t.value] for t in w.serving_endpoints.get(name).tags),
    )
    try:
        w.serving_endpoints.patch(name="sdk-missing-endpoint", add_tags=[EndpointTag(key="team", value="ml")])
        emit("patch_tags_missing_endpoint", raised=None)
    except NotFound as e:
        emit("patch_tags_missing_endpoint", raised=type(e).__name__, error_code=e.error_code)

    info = "/api/2.0/serving-endpoints/get-model-optimization-info"
    emit("optimization_info_token_band", answer=w.api_client.do("GET", f"{info}/{LLAMA}/3"))
    emit("optimization_info_model_units", answer=w.api_client.do("GET", f"{info}/system.ai.gpt-oss-120b/1"))
    emit("optimization_info_not_eligible", answer=w.api_client.do("GET", f"{info}/system.ai.meta_llama_v3_1_8b/1"))
    try:
        w.api_client.do("GET", f"{info}/main.ml.no_such_model/1")
        emit("optimization_info_missing_model", raised=None)
    except NotFound as e:
        emit("optimization_info_missing_model", raised=type(e).__name__, error_code=e.error_code)


def federation_refused():
    """Token federation: ID tokens no federation policy accepts are refused at the exchange; a service principal's
    policy (the scenario's Kubernetes one) accepts its issuer's tokens only when the SDK names the principal."""
    good = open(os.environ["DATABRICKS_OIDC_TOKEN_FILEPATH"]).read().strip()
    header, claims, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))

    def token_file(file_name, **changes):
        body = base64.urlsafe_b64encode(json.dumps({**claims, **changes}).encode()).decode().rstrip("=")
        path = os.path.join(os.path.dirname(os.environ["DATABRICKS_OIDC_TOKEN_FILEPATH"]), file_name)
        with open(path, "w") as f:
            f.write(f"{header}.{body}.{signature}")
        return path

    def attempt(step, path, **config):
        try:
            w = WorkspaceClient(config=Config(auth_type="file-oidc", oidc_token_filepath=path, **config))
            w.serving_endpoints.list()
            emit(step, raised=None, user_name=w.current_user.me().user_name)
        except Exception as e:  # what an SDK user sees: the type and the message
            emit(step, raised=type(e).__name__, message=str(e))

    attempt("federation_refused", token_file("other-id-token.jwt", sub="repo:acme/elsewhere:ref:refs/heads/main"))
    k8s = token_file("k8s-id-token.jwt", iss=os.environ["PT_SP_POLICY_ISSUER"], sub="system:serviceaccount:pt:pt-operator")
    attempt("federation_sp_policy_without_client_id", k8s)
    attempt("federation_sp_policy_with_client_id", k8s, client_id=os.environ["PT_SP_POLICY_CLIENT_ID"])


def acl_summary(permissions):
    """Direct and inherited entries as 'who:level[:inherited]' strings, sorted."""
    out = []
    for entry in permissions.access_control_list or []:
        who = entry.user_name or entry.group_name or entry.service_principal_name
        for p in entry.all_permissions or []:
            out.append(f"{who}:{p.permission_level.value}" + (":inherited" if p.inherited else ""))
    return sorted(out)


def settings(w, name):
    """AI Gateway, permissions (by endpoint ID), notifications, the telemetry config and a create with a budget policy."""
    gateway = w.serving_endpoints.put_ai_gateway(
        name=name,
        usage_tracking_config=AiGatewayUsageTrackingConfig(enabled=True),
        inference_table_config=AiGatewayInferenceTableConfig(catalog_name="main", schema_name="default", enabled=True),
        guardrails=AiGatewayGuardrails(input=AiGatewayGuardrailParameters(safety=True)),
        rate_limits=[
            AiGatewayRateLimit(calls=10, key=AiGatewayRateLimitKey.USER, renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE)
        ],
        fallback_config=FallbackConfig(enabled=True),
    )
    emit(
        "put_ai_gateway",
        usage_tracking=gateway.usage_tracking_config.enabled,
        table_prefix=gateway.inference_table_config.table_name_prefix,
        input_pii=gateway.guardrails.input.pii.behavior.value,
        rate_limit_key=gateway.rate_limits[0].key.value,
        fallback=gateway.fallback_config.enabled,
    )
    got = w.serving_endpoints.get(name)
    emit("get_ai_gateway", usage_tracking=got.ai_gateway.usage_tracking_config.enabled, rate_limits=len(got.ai_gateway.rate_limits))
    try:
        w.serving_endpoints.put_ai_gateway(
            name=name,
            inference_table_config=AiGatewayInferenceTableConfig(catalog_name="nowhere", schema_name="default", enabled=True),
        )
        emit("put_ai_gateway_missing_catalog", raised=None)
    except BadRequest as e:
        emit(
            "put_ai_gateway_missing_catalog",
            raised=type(e).__name__,
            is_invalid_parameter=isinstance(e, InvalidParameterValue),
            message=str(e),
        )
    # One of calls or tokens per rate limit: both caps for one key are two limits (how the operator sends a spec limit
    # with both); one limit with both is refused, as a real workspace answered a user's PUT.
    rate = AiGatewayRateLimitRenewalPeriod.MINUTE
    two_caps = w.serving_endpoints.put_ai_gateway(
        name=name,
        rate_limits=[
            AiGatewayRateLimit(calls=10, key=AiGatewayRateLimitKey.USER, renewal_period=rate),
            AiGatewayRateLimit(tokens=1000, key=AiGatewayRateLimitKey.USER, renewal_period=rate),
        ],
    )
    emit("put_ai_gateway_two_caps", caps=sorted("calls" if r.calls is not None else "tokens" for r in two_caps.rate_limits))
    try:
        w.serving_endpoints.put_ai_gateway(
            name=name,
            rate_limits=[AiGatewayRateLimit(calls=10, tokens=1000, key=AiGatewayRateLimitKey.USER, renewal_period=rate)],
        )
        emit("put_ai_gateway_both_caps", raised=None)
    except BadRequest as e:
        emit("put_ai_gateway_both_caps", raised=type(e).__name__, message=str(e))
    # The operator reads an inference table's target schema before moving the table there (Unity Catalog).
    schema = w.schemas.get("main.default")
    emit("get_schema", name=schema.name, catalog_name=schema.catalog_name, full_name=schema.full_name)
    for step, full_name in (("get_schema_missing_catalog", "nowhere.default"), ("get_schema_missing_schema", "main.nowhere")):
        try:
            w.schemas.get(full_name)
            emit(step, raised=None)
        except NotFound as e:
            emit(step, raised=type(e).__name__, error_code=e.error_code, message=str(e))
    cleared = w.serving_endpoints.put_ai_gateway(name=name)
    emit("put_ai_gateway_empty", cleared=cleared.as_dict(), on_get=w.serving_endpoints.get(name).ai_gateway is None)
    try:
        w.serving_endpoints.put_ai_gateway(name="sdk-missing-endpoint", fallback_config=FallbackConfig(enabled=True))
        emit("put_ai_gateway_missing_endpoint", raised=None)
    except NotFound as e:
        emit("put_ai_gateway_missing_endpoint", raised=type(e).__name__)

    endpoint_id = got.id
    levels = w.serving_endpoints.get_permission_levels(endpoint_id)
    emit("get_permission_levels", levels=sorted(level.permission_level.value for level in levels.permission_levels))
    before = w.serving_endpoints.get_permissions(endpoint_id)
    emit("get_permissions", object_type=before.object_type, acl=acl_summary(before))
    replaced = w.serving_endpoints.set_permissions(
        endpoint_id,
        access_control_list=[
            ServingEndpointAccessControlRequest(group_name="ml-eng", permission_level=ServingEndpointPermissionLevel.CAN_QUERY)
        ],
    )
    emit("set_permissions", acl=acl_summary(replaced))
    merged = w.serving_endpoints.update_permissions(
        endpoint_id,
        access_control_list=[
            ServingEndpointAccessControlRequest(user_name="alice@example.com", permission_level=ServingEndpointPermissionLevel.CAN_VIEW)
        ],
    )
    emit("update_permissions", acl=acl_summary(merged))
    try:
        w.serving_endpoints.get_permissions("0" * 32)
        emit("get_permissions_missing", raised=None)
    except NotFound as e:
        emit("get_permissions_missing", raised=type(e).__name__)

    notified = w.serving_endpoints.update_notifications(
        name=name, email_notifications=EmailNotifications(on_update_failure=["oncall@example.com"])
    )
    emit(
        "update_notifications",
        name=notified.name,
        on_failure=notified.email_notifications.on_update_failure,
        on_get=w.serving_endpoints.get(name).email_notifications.on_update_failure,
    )

    telemetry = w.serving_endpoints.patch_telemetry_config(
        name=name,
        telemetry_config=TelemetryConfig(
            table_names=UnityCatalogTableNames(logs_table="main.default.logs", traces_table="main.default.traces"),
            enabled_telemetry_features=[TelemetryFeature.TELEMETRY_FEATURE_LOGS, TelemetryFeature.TELEMETRY_FEATURE_TRACES],
            inference_table_config=TelemetryInferenceTableConfig(sampling_fraction=0.5),
        ),
    )
    shown = w.serving_endpoints.get(name).telemetry_config
    emit(
        "patch_telemetry_config",
        name=telemetry.name,
        # Databricks consumes the tables and features to make a profile, and shows the profile and its inference table
        tables_shown=telemetry.telemetry_config.table_names is not None,
        features_shown=telemetry.telemetry_config.enabled_telemetry_features is not None,
        inference_table=telemetry.telemetry_config.inference_table_config.name,
        sampling=telemetry.telemetry_config.inference_table_config.sampling_fraction,
        profile_on_get=shown.telemetry_profile_id == telemetry.telemetry_config.telemetry_profile_id,
    )
    try:
        w.serving_endpoints.patch_telemetry_config(
            name=name,
            telemetry_config=TelemetryConfig(telemetry_profile_id="tp-1", table_names=UnityCatalogTableNames(logs_table="main.default.logs")),
        )
        emit("patch_telemetry_config_both", raised=None)
    except BadRequest as e:
        emit("patch_telemetry_config_both", raised=type(e).__name__, error_code=e.error_code)
    try:
        w.serving_endpoints.patch_telemetry_config(name="sdk-missing-endpoint", telemetry_config=TelemetryConfig(telemetry_profile_id="tp-1"))
        emit("patch_telemetry_config_missing_endpoint", raised=None)
    except NotFound as e:
        emit("patch_telemetry_config_missing_endpoint", raised=type(e).__name__, error_code=e.error_code)
    removed = w.serving_endpoints.patch_telemetry_config(name=name)
    emit("patch_telemetry_config_removed", answered=removed.telemetry_config is None, on_get=w.serving_endpoints.get(name).telemetry_config is None)

    budgeted = w.serving_endpoints.create_and_wait(
        name=f"{name}-budget",
        config=EndpointCoreConfigInput(name=f"{name}-budget", served_entities=llama(980)),
        budget_policy_id="budget-policy-1",
        description="chat for the support team",
        timeout=TIMEOUT,
    )
    # The SDK's typed answer has no effective_budget_policy_id (the field a real GET answers the policy in): read raw.
    raw = w.api_client.do("GET", f"/api/2.0/serving-endpoints/{name}-budget")
    emit(
        "create_with_budget_policy",
        budget_policy_id=budgeted.budget_policy_id,
        effective_budget_policy_id=raw.get("effective_budget_policy_id"),
        description=budgeted.description,
    )
    w.serving_endpoints.delete(f"{name}-budget")

    # Model units through the generic create, with what the model-unit create (/pt) has no field for: a description and
    # route optimization (as Terraform's databricks_model_serving creates such an endpoint, and the operator too).
    gold = w.serving_endpoints.create_and_wait(
        name=f"{name}-gold",
        config=EndpointCoreConfigInput(
            name=f"{name}-gold",
            served_entities=[
                ServedEntityInput(entity_name="system.ai.gpt-oss-120b", entity_version="1", provisioned_model_units=50, burst_scaling_enabled=False)
            ]
        ),
        description="gold tier",
        route_optimized=True,
        timeout=TIMEOUT,
    )
    emit(
        "create_model_units_generic",
        units=gold.config.served_entities[0].provisioned_model_units,
        description=gold.description,
        route_optimized=gold.route_optimized,
        has_endpoint_url=bool(gold.endpoint_url),
    )
    w.serving_endpoints.delete(f"{name}-gold")


def canary(w, name):
    """What a canary rollout uses: two versions side by side routed by traffic_config, and the metrics export."""

    def entity(version):
        return ServedEntityInput(
            name=f"v{version}", entity_name=LLAMA, entity_version=version, min_provisioned_throughput=0, max_provisioned_throughput=980
        )

    split = w.serving_endpoints.update_config_and_wait(
        name=name,
        served_entities=[entity("2"), entity("3")],
        traffic_config=TrafficConfig(
            routes=[Route(served_entity_name="v2", traffic_percentage=90), Route(served_entity_name="v3", traffic_percentage=10)]
        ),
        timeout=TIMEOUT,
    )
    emit(
        "canary_split",
        routes=sorted([r.served_entity_name, r.traffic_percentage] for r in split.config.traffic_config.routes),
        versions=sorted(e.entity_version for e in split.config.served_entities),
    )
    text = w.serving_endpoints.export_metrics(name).contents.read().decode("utf-8")
    emit("export_metrics", errors=[line for line in text.splitlines() if line.startswith("request_5xx_count_total")])


if __name__ == "__main__":
    main(sys.argv[1])
