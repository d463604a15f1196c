"""Lambda: layers, functions, event source mappings, permissions, event invoke configs, Function URLs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from typing import Any

from botocore.exceptions import ClientError

from relay.local.emulated.base import Outputs, code_of, one, PLACEHOLDER_CODE_ZIP

if TYPE_CHECKING:  # pragma: no cover - for annotations only (the package imports this module)
    from relay.local.emulated import EmulatedResources


def _layer(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    lname = i.get("layerName") or name
    versions = lam.list_layer_versions(LayerName=lname).get("LayerVersions", [])
    if versions:
        v = max(versions, key=lambda x: x["Version"])
    else:
        # the real layer is built only for AWS (infra/packaging.py); the local stage runs the venv
        v = lam.publish_layer_version(LayerName=lname, Description=i.get("description") or "",
                                      Content={"ZipFile": PLACEHOLDER_CODE_ZIP},
                                      CompatibleRuntimes=list(i.get("compatibleRuntimes") or []))
    arn = v["LayerVersionArn"]
    return arn, {"arn": arn, "layerArn": arn.rsplit(":", 1)[0], "version": str(v["Version"]),
                 "layerName": lname}


def _function_config(i: dict) -> dict[str, Any]:
    cfg: dict[str, Any] = {"Role": i["role"], "Handler": i.get("handler") or "index.handler",
                           "Runtime": i.get("runtime") or "python3.11",
                           "Timeout": int(i.get("timeout") or 3), "MemorySize": int(i.get("memorySize") or 128),
                           "Environment": {"Variables": {k: str(v) for k, v in
                                                         (one(i.get("environment")).get("variables") or {}).items()}},
                           "Layers": list(i.get("layers") or []), "Description": i.get("description") or ""}
    dlc = one(i.get("deadLetterConfig"))
    if dlc.get("targetArn"):
        cfg["DeadLetterConfig"] = {"TargetArn": dlc["targetArn"]}
    return cfg


def _function(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    fname = i.get("name") or name
    cfg = _function_config(i)
    try:
        fn = lam.create_function(FunctionName=fname, Code={"ZipFile": PLACEHOLDER_CODE_ZIP},
                                 Tags={k: str(v) for k, v in (i.get("tags") or {}).items()},
                                 Publish=bool(i.get("publish")), **cfg)
    except ClientError as err:
        if code_of(err) != "ResourceConflictException":
            raise
        fn = lam.update_function_configuration(FunctionName=fname, **cfg)
    reserved = i.get("reservedConcurrentExecutions")
    if reserved is not None and int(reserved) >= 0:
        lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=int(reserved))
    elif reserved is not None:
        lam.delete_function_concurrency(FunctionName=fname)
    arn = fn["FunctionArn"]
    return fname, {"name": fname, "arn": arn, "qualifiedArn": f"{arn}:$LATEST", "version": "$LATEST",
                   "invokeArn": f"arn:aws:apigateway:{r.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
                   "lastModified": fn.get("LastModified", ""), "sourceCodeHash": fn.get("CodeSha256", ""),
                   "sourceCodeSize": fn.get("CodeSize", 0)}


_ESM_SETTINGS = {  # pulumi input → Create/UpdateEventSourceMapping parameter (all updatable in place)
    "batchSize": "BatchSize", "maximumBatchingWindowInSeconds": "MaximumBatchingWindowInSeconds",
    "parallelizationFactor": "ParallelizationFactor", "bisectBatchOnFunctionError": "BisectBatchOnFunctionError",
    "maximumRetryAttempts": "MaximumRetryAttempts", "maximumRecordAgeInSeconds": "MaximumRecordAgeInSeconds",
    "functionResponseTypes": "FunctionResponseTypes", "enabled": "Enabled",
    "tumblingWindowInSeconds": "TumblingWindowInSeconds",
}


def _esm_params(i: dict) -> dict[str, Any]:
    p: dict[str, Any] = {}
    for key, param in _ESM_SETTINGS.items():
        if i.get(key) is not None:
            v = i[key]
            p[param] = list(v) if isinstance(v, (list, tuple)) else v
    on_failure = one(one(i.get("destinationConfig")).get("onFailure"))
    if on_failure.get("destinationArn"):
        p["DestinationConfig"] = {"OnFailure": {"Destination": on_failure["destinationArn"]}}
    scaling = one(i.get("scalingConfig"))
    if scaling.get("maximumConcurrency"):
        p["ScalingConfig"] = {"MaximumConcurrency": int(scaling["maximumConcurrency"])}
    filters = one(i.get("filterCriteria")).get("filters")
    if filters:
        p["FilterCriteria"] = {"Filters": [{"Pattern": f["pattern"]} for f in filters]}
    return p


def _event_source_mapping(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    source, function = i["eventSourceArn"], i["functionName"]
    params = _esm_params(i)
    fn_arn = function if function.startswith("arn:") else r.arn("lambda", f"function:{function}")
    existing = [m for m in lam.list_event_source_mappings(EventSourceArn=source).get("EventSourceMappings", [])
                if m["FunctionArn"].split(":$")[0] == fn_arn]
    if existing:
        esm = lam.update_event_source_mapping(UUID=existing[0]["UUID"], FunctionName=function, **params)
    else:
        extra: dict[str, Any] = {}
        if i.get("startingPosition"):
            extra["StartingPosition"] = i["startingPosition"]
        if i.get("tags"):
            extra["Tags"] = {k: str(v) for k, v in i["tags"].items()}
        esm = lam.create_event_source_mapping(EventSourceArn=source, FunctionName=function, **params, **extra)
    uuid = esm["UUID"]
    return uuid, {"uuid": uuid, "functionArn": esm.get("FunctionArn", fn_arn),
                  "arn": esm.get("EventSourceMappingArn") or r.arn("lambda", f"event-source-mapping:{uuid}"),
                  "state": esm.get("State", "Enabled"), "lastModified": str(esm.get("LastModified", ""))}


def _permission(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    sid = i.get("statementId") or name
    kw: dict[str, Any] = {"FunctionName": i["function"], "StatementId": sid, "Action": i["action"],
                          "Principal": i["principal"]}
    for key, param in (("sourceArn", "SourceArn"), ("sourceAccount", "SourceAccount"),
                       ("functionUrlAuthType", "FunctionUrlAuthType"), ("qualifier", "Qualifier"),
                       ("eventSourceToken", "EventSourceToken"), ("principalOrgId", "PrincipalOrgID")):
        if i.get(key):
            kw[param] = i[key]
    if i.get("invokedViaFunctionUrl") is not None:
        kw["InvokedViaFunctionUrl"] = bool(i["invokedViaFunctionUrl"])
    try:
        _add_permission(lam, kw)
    except ClientError as err:
        if code_of(err) != "ResourceConflictException":
            raise
        # same statement id: replace it, so changed settings take effect
        lam.remove_permission(FunctionName=i["function"], StatementId=sid)
        _add_permission(lam, kw)
    return sid, {"statementId": sid}


def _add_permission(lam: Any, kw: dict[str, Any]) -> None:
    try:
        lam.add_permission(**kw)
    except ClientError:
        raise
    except Exception as exc:  # noqa: BLE001 - a botocore without InvokedViaFunctionUrl refuses the parameter
        if "InvokedViaFunctionUrl" not in kw or "InvokedViaFunctionUrl" not in str(exc):
            raise
        lam.add_permission(**{k: v for k, v in kw.items() if k != "InvokedViaFunctionUrl"})


def _event_invoke_config(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    kw: dict[str, Any] = {"FunctionName": i["functionName"]}
    if i.get("qualifier"):
        kw["Qualifier"] = i["qualifier"]
    if i.get("maximumRetryAttempts") is not None:
        kw["MaximumRetryAttempts"] = int(i["maximumRetryAttempts"])
    if i.get("maximumEventAgeInSeconds") is not None:
        kw["MaximumEventAgeInSeconds"] = int(i["maximumEventAgeInSeconds"])
    dc = one(i.get("destinationConfig"))
    dest: dict[str, Any] = {}
    if one(dc.get("onFailure")).get("destination"):
        dest["OnFailure"] = {"Destination": one(dc["onFailure"])["destination"]}
    if one(dc.get("onSuccess")).get("destination"):
        dest["OnSuccess"] = {"Destination": one(dc["onSuccess"])["destination"]}
    if dest:
        kw["DestinationConfig"] = dest
    r.client("lambda").put_function_event_invoke_config(**kw)
    return i["functionName"], {}


def _function_url(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    lam = r.client("lambda")
    fname = i["functionName"]
    try:
        lam.get_function_url_config(FunctionName=fname)
        lam.update_function_url_config(FunctionName=fname, AuthType=i.get("authorizationType") or "NONE")
    except ClientError as err:
        if code_of(err) != "ResourceNotFoundException":
            raise
        lam.create_function_url_config(FunctionName=fname, AuthType=i.get("authorizationType") or "NONE")
    # In the local stage the function's URL is the loopback API server in front of the data plane
    return fname, {"functionUrl": r.api_url, "urlId": fname}


def _recursion_config(r: EmulatedResources, name: str, i: dict) -> tuple[str, Outputs]:
    """``FunctionRecursionConfig``: moto has no PutFunctionRecursionConfig, so the setting is kept as a
    function tag the local data plane reads (:mod:`relay.local.dataplane.recursion`)."""
    from relay.local.dataplane.recursion import SETTING_TAG

    lam = r.client("lambda")
    fname = i["functionName"]
    arn = fname if fname.startswith("arn:") else lam.get_function(FunctionName=fname)["Configuration"]["FunctionArn"]
    setting = i.get("recursiveLoop") or "Terminate"
    lam.tag_resource(Resource=arn, Tags={SETTING_TAG: setting})
    return fname, {"functionName": fname, "recursiveLoop": setting}


HANDLERS = {
    "aws:lambda/layerVersion:LayerVersion": _layer,
    "aws:lambda/function:Function": _function,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _event_source_mapping,
    "aws:lambda/permission:Permission": _permission,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _event_invoke_config,
    "aws:lambda/functionUrl:FunctionUrl": _function_url,
    "aws:lambda/functionRecursionConfig:FunctionRecursionConfig": _recursion_config,
}
