"""Drives the pt-operator emulator with the official Databricks Python SDK.

Usage: compat.py <pat|oauth-m2m>. Reads DATABRICKS_HOST and the credentials from the environment,
as any SDK user would. Prints one JSON line per step, then {"done": true}; any unexpected
exception ends the script with a non-zero code. The vitest test asserts on these lines.
"""

import json
import sys
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, ResourceConflict, ResourceDoesNotExist
from databricks.sdk.service.serving import (
    EndpointCoreConfigInput,
    PtEndpointCoreConfig,
    PtServedModel,
    ServedEntityInput,
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

    names = sorted(e.name for e in w.serving_endpoints.list())
    emit("list", names=names)

    for endpoint_name in (name, pt_name):
        w.serving_endpoints.delete(endpoint_name)
    try:
        w.serving_endpoints.get(name)
        emit("get_after_delete", raised=None)
    except NotFound as e:
        emit("get_after_delete", raised=type(e).__name__)

    print(json.dumps({"done": True}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
