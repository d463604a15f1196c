"""The Pulumi program under mocks: names, tags, wiring and config values for dev, prod and local."""
from __future__ import annotations

import json
import re

import pytest

from infra.config import PROJECT_ROOT
from infra.policy_suite import TAGGABLE_TYPES
from infra.program import OUTPUT_KEYS
from tests.infra.infra_stacks import BuiltStack

BUCKET = "aws:s3/bucket:Bucket"
QUEUE = "aws:sqs/queue:Queue"
TABLE = "aws:dynamodb/table:Table"
FUNCTION = "aws:lambda/function:Function"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LAYER = "aws:lambda/layerVersion:LayerVersion"
RECURSION = "aws:lambda/functionRecursionConfig:FunctionRecursionConfig"
FUNCTIONS = ("api", "send-worker", "request-worker", "job-worker", "log-indexer")

# What the local deployer maps into the emulator; a new type must be agreed with it first.
CONVENTIONAL_TYPES = {
    BUCKET, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketNotification:BucketNotification", QUEUE, TABLE, FUNCTION, ESM,
    "aws:lambda/permission:Permission", "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:lambda/functionUrl:FunctionUrl", "aws:lambda/layerVersion:LayerVersion", "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy", "aws:cloudwatch/logGroup:LogGroup", ALARM, "aws:sns/topic:Topic",
    "aws:sns/topicSubscription:TopicSubscription", "aws:ssm/parameter:Parameter",
    # moto has no recursion API: the emulator keeps it as a function tag the data plane reads
    RECURSION,
}


def _contract_output_keys() -> list[str]:
    text = (PROJECT_ROOT / "docs" / "CONTRACTS.md").read_text()
    section = text.split("## Stage outputs", 1)[1].split("##", 1)[0]
    return re.findall(r"(?<![/`\w])`?([a-z][a-z0-9_]+)`?(?=[,`\s])", section.split("\n", 1)[1].split("(`outbox`")[0])


def test_each_stage_resources_named_relay_stage_name(stack: BuiltStack) -> None:
    cfg = stack.cfg
    names = {r.inputs.get("name") for r in stack.resources}
    for logical in ("messages", "message-log", "state", "audit", "jobs", "job-dlq", "stream-dlq", "async-dlq",
                    "alarms", *FUNCTIONS):
        assert f"relay-{cfg.stage}-{logical}" in names, logical
    assert f"/relay/{cfg.stage}/outputs" in names
    for fn in FUNCTIONS:
        assert f"/aws/lambda/relay-{cfg.stage}-{fn}" in names
    (bucket,) = stack.of(BUCKET)
    expected = "relay-local-requests" if cfg.stage == "local" else f"relay-{cfg.stage}-requests-123456789012"
    assert bucket.inputs["bucket"] == expected
    # every named resource carries the stage: nothing of another stage can collide with it
    for r in stack.resources:
        n = r.inputs.get("name")
        if isinstance(n, str) and r.type in TAGGABLE_TYPES:
            assert f"relay-{cfg.stage}-" in n or n.startswith(f"/relay/{cfg.stage}/"), n


def test_each_stage_taggable_resources_tagged_project_and_stage(stack: BuiltStack) -> None:
    taggable = [r for r in stack.resources if r.type in TAGGABLE_TYPES]
    assert len(taggable) >= 30
    for r in taggable:
        assert r.inputs.get("tags") == {"project": "relay", "stage": stack.cfg.stage}, f"{r.type} {r.name}"


def test_each_stage_only_conventional_resource_types(stack: BuiltStack) -> None:
    custom = {r.type for r in stack.resources if not r.type.startswith("relay:components:")}
    assert custom <= CONVENTIONAL_TYPES, custom - CONVENTIONAL_TYPES
    assert {r.type for r in stack.resources if r.type.startswith("relay:components:")} >= {
        "relay:components:RequestStore", "relay:components:SendPipeline", "relay:components:AutomationPipeline",
        "relay:components:MessageLog", "relay:components:HttpApi", "relay:components:Alarms",
        "relay:components:PythonFunction"}


def test_local_stage_needs_no_caller_identity_lookup(stacks: dict[str, BuiltStack]) -> None:
    assert stacks["local"].calls == []
    assert stacks["dev"].calls == ["aws:index/getCallerIdentity:getCallerIdentity"]


def test_outputs_exported_with_contract_keys_and_published_to_ssm(stack: BuiltStack) -> None:
    contract = _contract_output_keys()
    assert contract == list(OUTPUT_KEYS)
    assert list(stack.outputs) == list(OUTPUT_KEYS)
    (param,) = stack.of("aws:ssm/parameter:Parameter")
    assert param.inputs["name"] == f"/relay/{stack.cfg.stage}/outputs"
    assert param.inputs["type"] == "String"
    published = json.loads(param.inputs["insecureValue"])
    assert published == stack.outputs
    o = stack.outputs
    assert o["stage"] == stack.cfg.stage and o["region"] == "us-east-1"
    assert o["outbox"] == f"s3://{o['request_bucket']}/outbox/"
    assert o["api_url"].startswith("https://") and ".lambda-url." in o["api_url"]
    assert o["job_worker_esm_uuid"] != o["log_indexer_esm_uuid"]
    assert o["message_stream_arn"].startswith(f"arn:aws:dynamodb:us-east-1:123456789012:table/{o['message_table']}/stream/")


def test_s3_prefixes_invoke_the_right_workers(stack: BuiltStack) -> None:
    (notification,) = stack.of("aws:s3/bucketNotification:BucketNotification")
    bucket = stack.outputs["request_bucket"]
    assert notification.inputs["bucket"] == bucket
    routes = {t["filterPrefix"]: t for t in notification.inputs["lambdaFunctions"]}
    assert set(routes) == {"send/", "automations/"}
    fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:{}".format
    assert routes["send/"]["lambdaFunctionArn"] == fn_arn(stack.cfg.name("send-worker"))
    assert routes["automations/"]["lambdaFunctionArn"] == fn_arn(stack.cfg.name("request-worker"))
    for t in routes.values():
        assert t["events"] == ["s3:ObjectCreated:*"] and t["filterSuffix"] == ".json"
    # S3 may invoke exactly those two functions, only from this bucket
    s3_perms = [p for p in stack.of("aws:lambda/permission:Permission") if p.inputs["principal"] == "s3.amazonaws.com"]
    assert sorted(p.inputs["function"] for p in s3_perms) == sorted(
        [stack.cfg.name("request-worker"), stack.cfg.name("send-worker")])
    for p in s3_perms:
        assert p.inputs["sourceArn"] == f"arn:aws:s3:::{bucket}"
        assert p.inputs["action"] == "lambda:InvokeFunction"


def test_s3_triggered_functions_retry_twice_then_async_dlq(stack: BuiltStack) -> None:
    configs = {c.inputs["functionName"]: c.inputs
               for c in stack.of("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")}
    assert set(configs) == {stack.cfg.name("send-worker"), stack.cfg.name("request-worker")}
    for c in configs.values():
        assert c["maximumRetryAttempts"] == 2
        assert c["destinationConfig"]["onFailure"]["destination"] == stack.outputs["async_dlq_arn"]


def test_job_mapping_reads_job_queue_into_job_worker_with_config(stack: BuiltStack) -> None:
    cfg = stack.cfg
    (mapping,) = [m for m in stack.of(ESM) if m.inputs["eventSourceArn"] == stack.outputs["job_queue_arn"]]
    m = mapping.inputs
    assert m["functionName"] == cfg.name("job-worker")
    assert m["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert m["batchSize"] == cfg.job_batch_size
    assert m["maximumBatchingWindowInSeconds"] == cfg.job_batching_window
    assert "parallelizationFactor" not in m  # AWS refuses a factor on SQS sources
    assert mapping.outputs["uuid"] == stack.outputs["job_worker_esm_uuid"]


def test_stream_mapping_reads_messages_stream_into_log_indexer_with_config(stack: BuiltStack) -> None:
    cfg = stack.cfg
    (mapping,) = [m for m in stack.of(ESM) if m.inputs["eventSourceArn"] == stack.outputs["message_stream_arn"]]
    m = mapping.inputs
    assert m["functionName"] == cfg.name("log-indexer")
    assert m["startingPosition"] == "TRIM_HORIZON"
    assert m["batchSize"] == cfg.stream_batch_size
    assert m["parallelizationFactor"] == cfg.parallelization_factor
    assert m["bisectBatchOnFunctionError"] is cfg.stream_bisect_on_error
    assert m["maximumRetryAttempts"] == cfg.stream_max_retries
    assert m["maximumRecordAgeInSeconds"] == cfg.stream_max_record_age
    assert m["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert m["destinationConfig"]["onFailure"]["destinationArn"] == stack.outputs["stream_dlq_arn"]
    assert mapping.outputs["uuid"] == stack.outputs["log_indexer_esm_uuid"]
    assert len(stack.of(ESM)) == 2


def test_job_queue_redrives_to_job_dlq_after_max_receive_count(stack: BuiltStack) -> None:
    cfg = stack.cfg
    q = stack.named(QUEUE, cfg.name("jobs")).inputs
    assert json.loads(q["redrivePolicy"]) == {"deadLetterTargetArn": stack.outputs["job_dlq_arn"],
                                              "maxReceiveCount": cfg.job_max_receive_count}
    assert q["visibilityTimeoutSeconds"] == cfg.job_visibility_timeout
    assert q["visibilityTimeoutSeconds"] >= 6 * cfg.job_worker_timeout
    assert q["sqsManagedSseEnabled"] is True


def test_dead_letter_queues_encrypted_keep_14_days_and_redrive_nowhere(stack: BuiltStack) -> None:
    for dlq in ("job-dlq", "stream-dlq", "async-dlq"):
        q = stack.named(QUEUE, stack.cfg.name(dlq)).inputs
        assert q["sqsManagedSseEnabled"] is True
        assert q["messageRetentionSeconds"] == 14 * 24 * 3600
        assert "redrivePolicy" not in q


@pytest.mark.parametrize(("stage", "protected"), [("dev", False), ("local", False), ("prod", True)])
def test_protection_settings_follow_stage_config(stacks: dict[str, BuiltStack], stage: str, protected: bool) -> None:
    stack = stacks[stage]
    for table in stack.of(TABLE):
        t = table.inputs
        assert t["pointInTimeRecovery"] == {"enabled": protected}
        assert t["deletionProtectionEnabled"] is protected
        assert t["serverSideEncryption"] == {"enabled": True}
        assert t["billingMode"] == "PAY_PER_REQUEST"
    versioning = [v.inputs["versioningConfiguration"]["status"] for v in stack.of("aws:s3/bucketVersioning:BucketVersioning")]
    assert versioning == (["Enabled"] if protected else [])  # unversioned buckets stay never-versioned
    for alarm in stack.of(ALARM):
        assert alarm.inputs["actionsEnabled"] is protected


def test_tables_keys_streams_ttl_and_views_match_contract(stack: BuiltStack) -> None:
    cfg = stack.cfg
    messages = stack.named(TABLE, cfg.name("messages")).inputs
    assert (messages["hashKey"], messages["rangeKey"]) == ("pk", "sk")
    assert messages["streamEnabled"] is True and messages["streamViewType"] == "NEW_IMAGE"
    assert messages["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    assert stack.named(TABLE, cfg.name("state")).inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    assert "ttl" not in stack.named(TABLE, cfg.name("audit")).inputs  # audit records are kept
    views = stack.named(TABLE, cfg.name("message-log")).inputs
    gsis = {g["name"]: [(k["attributeName"], k["keyType"]) for k in g["keySchemas"]]
            for g in views["globalSecondaryIndexes"]}
    assert gsis == {
        "by_recipient": [("recipient", "HASH"), ("updatedAt", "RANGE")],
        "by_status": [("status", "HASH"), ("updatedAt", "RANGE")],
        "by_run": [("runId", "HASH"), ("updatedAt", "RANGE")],
        "by_request": [("requestId", "HASH"), ("updatedAt", "RANGE")],
        "by_trace": [("traceId", "HASH"), ("updatedAt", "RANGE")],
    }
    attrs = {a["name"]: a["type"] for a in views["attributes"]}
    assert attrs == {"pk": "S", "sk": "S", "recipient": "S", "status": "S", "runId": "S", "requestId": "S",
                     "traceId": "S", "updatedAt": "N"}


def test_request_store_private_encrypted_tls_only_with_lifecycle(stack: BuiltStack) -> None:
    bucket = stack.outputs["request_bucket"]
    (pab,) = stack.of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert pab.inputs == {"bucket": bucket, "blockPublicAcls": True, "blockPublicPolicy": True,
                          "ignorePublicAcls": True, "restrictPublicBuckets": True}
    (sse,) = stack.of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (policy,) = stack.of("aws:s3/bucketPolicy:BucketPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    (lifecycle,) = stack.of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    expiring = {r["filter"]["prefix"]: r["expiration"]["days"] for r in lifecycle.inputs["rules"] if "expiration" in r}
    days = stack.cfg.request_retention_days
    assert expiring == {"send/": days, "automations/": days, "outbox/": days}
    assert "acl" not in stack.of(BUCKET)[0].inputs


def test_functions_runtime_handler_code_layer_and_environment(stack: BuiltStack) -> None:
    cfg, o = stack.cfg, stack.outputs
    (layer,) = stack.of(LAYER)
    layer_arns = [layer.outputs["arn"]]
    assert layer.inputs["compatibleRuntimes"] == ["python3.13"]
    assert layer.inputs["compatibleArchitectures"] == [cfg.architecture]
    for fn in FUNCTIONS:
        f = stack.named(FUNCTION, cfg.name(fn)).inputs
        module = fn.replace("-", "_")
        assert f["runtime"] == "python3.13"
        assert f["architectures"] == [cfg.architecture] == ["arm64"]
        assert f["handler"] == f"functions.{module}.handler.lambda_handler"
        assert f["layers"] == layer_arns
        assert f["memorySize"] == cfg.memory_for(fn)
        assert f["timeout"] == (cfg.job_worker_timeout if fn == "job-worker" else cfg.function_timeout)
        assert f["role"] == f"arn:aws:iam::123456789012:role/{cfg.name(fn)}"
        assert set(f["code"].assets) == {"functions"}
        assert f["code"].assets["functions"].path.endswith("functions")
        env = f["environment"]["variables"]
        assert env["STAGE"] == cfg.stage and env["REQUEST_BUCKET"] == o["request_bucket"]
        assert (env["MESSAGE_TABLE"], env["LOG_TABLE"], env["STATE_TABLE"]) == (
            o["message_table"], o["log_table"], o["state_table"])
        assert env["POWERTOOLS_SERVICE_NAME"] == module
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "relay"
        assert env["LOG_LEVEL"] == cfg.log_level
        assert env["FETCH_ALLOW"] == ",".join(cfg.fetch_allow)
        assert json.loads(env["PROVIDERS"]) == dict(cfg.providers)
        assert env["MESSAGE_RETENTION_DAYS"] == str(cfg.message_retention_days)
        if fn != "log-indexer":
            assert env["JOB_QUEUE_URL"] == o["job_queue_url"]
        group = stack.named("aws:cloudwatch/logGroup:LogGroup", f"/aws/lambda/{cfg.name(fn)}")
        assert group.inputs["retentionInDays"] == cfg.log_retention_days


def test_http_api_is_public_function_url_on_api_function_only(stack: BuiltStack) -> None:
    (url,) = stack.of("aws:lambda/functionUrl:FunctionUrl")
    assert url.inputs == {"functionName": stack.cfg.name("api"), "authorizationType": "NONE"}
    public = [p.inputs for p in stack.of("aws:lambda/permission:Permission") if p.inputs["principal"] == "*"]
    assert {p["function"] for p in public} == {stack.cfg.name("api")}
    assert sorted((p["action"], p.get("functionUrlAuthType"), p.get("invokedViaFunctionUrl")) for p in public) == [
        ("lambda:InvokeFunction", None, True), ("lambda:InvokeFunctionUrl", "NONE", None)]


def test_alarms_watch_dlqs_stream_age_oldest_job_and_errors(stack: BuiltStack) -> None:
    cfg = stack.cfg
    alarms = {a.inputs["name"]: a.inputs for a in stack.of(ALARM)}
    p = f"relay-{cfg.stage}-"
    assert set(alarms) == {p + k for k in ("job-dlq-visible", "stream-dlq-visible", "async-dlq-visible",
                                           "log-indexer-iterator-age", "jobs-oldest-age",
                                           *(f"{fn}-errors" for fn in FUNCTIONS))}
    for dlq in ("job-dlq", "stream-dlq", "async-dlq"):
        a = alarms[f"{p}{dlq}-visible"]
        assert (a["namespace"], a["metricName"], a["dimensions"]) == (
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": cfg.name(dlq)})
        assert a["threshold"] == 0 and a["comparisonOperator"] == "GreaterThanThreshold"
    age = alarms[f"{p}log-indexer-iterator-age"]
    assert (age["metricName"], age["statistic"], age["threshold"], age["dimensions"]) == (
        "IteratorAge", "Maximum", cfg.iterator_age_alarm_ms, {"FunctionName": cfg.name("log-indexer")})
    oldest = alarms[f"{p}jobs-oldest-age"]
    assert (oldest["metricName"], oldest["threshold"], oldest["dimensions"]) == (
        "ApproximateAgeOfOldestMessage", cfg.oldest_job_alarm_seconds, {"QueueName": cfg.name("jobs")})
    for fn in FUNCTIONS:
        assert alarms[f"{p}{fn}-errors"]["dimensions"] == {"FunctionName": cfg.name(fn)}
    for a in alarms.values():
        assert a["alarmActions"] == a["okActions"] == [stack.outputs["alarm_topic_arn"]]
    subscriptions = [s.inputs for s in stack.of("aws:sns/topicSubscription:TopicSubscription")]
    if cfg.alarm_email:  # prod, with the recipient its owner sets
        assert subscriptions == [{"topic": stack.outputs["alarm_topic_arn"], "protocol": "email",
                                  "endpoint": cfg.alarm_email}]
    else:
        assert subscriptions == []


def test_job_worker_alone_allows_its_own_recursive_loop(stack: BuiltStack) -> None:
    (recursion,) = stack.of(RECURSION)
    assert recursion.inputs == {"functionName": stack.cfg.name("job-worker"), "recursiveLoop": "Allow"}


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_architecture_from_config_reaches_every_function_and_the_layer(architecture: str) -> None:
    from infra.config import load_stage_config
    from tests.infra.infra_stacks import build_stage

    cfg = load_stage_config("dev", overrides={"relay:architecture": architecture})
    stack = build_stage(cfg)
    assert {tuple(f.inputs["architectures"]) for f in stack.of(FUNCTION)} == {(architecture,)}
    (layer,) = stack.of(LAYER)
    assert layer.inputs["compatibleArchitectures"] == [architecture]
    placeholder = layer.inputs["code"].assets["python/relay_layer_skipped.txt"].text
    assert f"infra/layer/requirements-{architecture}.lock" in placeholder


def test_each_function_has_own_role_with_stage_scoped_policy(stack: BuiltStack) -> None:
    cfg, o = stack.cfg, stack.outputs
    roles = stack.of("aws:iam/role:Role")
    assert sorted(r.inputs["name"] for r in roles) == sorted(cfg.name(fn) for fn in FUNCTIONS)
    for r in roles:
        trust = json.loads(r.inputs["assumeRolePolicy"])["Statement"]
        assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                          "Action": "sts:AssumeRole"}]
    arn = "arn:aws:{}:us-east-1:123456789012:{}".format
    for fn in FUNCTIONS:
        doc = stack.policy_of(fn)
        resources = [res for st in doc["Statement"] for res in
                     (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])]
        assert resources and all(("relay-" + cfg.stage + "-") in res for res in resources), resources
        by_sid = {st["Sid"]: st for st in doc["Statement"]}
        assert by_sid["OwnLogGroup"]["Resource"][0] == arn("logs", f"log-group:/aws/lambda/{cfg.name(fn)}")
    job = {st["Sid"]: st for st in stack.policy_of("job-worker")["Statement"]}
    assert job["ConsumeJobs"]["Resource"] == o["job_queue_arn"]
    assert "sqs:ReceiveMessage" in job["ConsumeJobs"]["Action"]
    indexer = {st["Sid"]: st for st in stack.policy_of("log-indexer")["Statement"]}
    assert o["message_stream_arn"] in indexer["ReadStream"]["Resource"]
    assert indexer["OnFailureDestination"]["Resource"] == [o["stream_dlq_arn"]]
    bucket = f"arn:aws:s3:::{o['request_bucket']}"
    send = {st["Sid"]: st for st in stack.policy_of("send-worker")["Statement"]}
    assert send["RequestsRead"]["Resource"] == [f"{bucket}/send/*", f"{bucket}/templates/*", f"{bucket}/payloads/*"]
    assert send["RequestsWrite"]["Resource"] == [f"{bucket}/outbox/*", f"{bucket}/payloads/*"]
    for fn in ("send-worker", "request-worker"):
        sids = {st["Sid"]: st for st in stack.policy_of(fn)["Statement"]}
        assert sids["OnFailureDestination"]["Resource"] == [o["async_dlq_arn"]]
    # the api may not consume jobs or read the stream; the log indexer may not touch S3
    api_actions = {a for st in stack.policy_of("api")["Statement"] for a in
                   (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
    assert not any(a.startswith("sqs:") for a in api_actions)
    assert not any(a.startswith("s3:") for st in stack.policy_of("log-indexer")["Statement"]
                   for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))


def test_every_handler_module_exists_and_every_setting_the_handlers_read_is_set(stacks: dict[str, BuiltStack]) -> None:
    # GIVEN the handler paths and environments the program deploys
    stack = stacks["dev"]
    read = set()
    for path in (PROJECT_ROOT / "functions").rglob("*.py"):
        read |= set(re.findall(r'(?:env\.get|_int\(env,|os\.environ\.get)\(?\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    assert {"REQUEST_BUCKET", "STATE_TABLE", "JOB_QUEUE_URL"} <= read  # the scan itself works
    for fn in FUNCTIONS:
        f = stack.named(FUNCTION, stack.cfg.name(fn)).inputs
        # THEN the handler module is in the packaged tree and defines lambda_handler
        module_path = PROJECT_ROOT / (f["handler"].rsplit(".", 1)[0].replace(".", "/") + ".py")
        assert module_path.exists(), module_path
        assert re.search(r"^def lambda_handler\(", module_path.read_text(), re.M), module_path
        # AND every variable any handler reads is set on it (JOB_QUEUE_URL only where jobs are enqueued)
        missing = read - set(f["environment"]["variables"]) - ({"JOB_QUEUE_URL"} if fn == "log-indexer" else set())
        assert not missing, f"{fn} lacks {missing}"
