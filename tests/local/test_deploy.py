"""Deploying the Pulumi program into the emulator: real resources, real ids, idempotent."""
from __future__ import annotations

import json

import pytest

from relay.local.deploy import DeployError, deploy
from relay.local.emulator import Emulator

API_URL = "http://127.0.0.1:1/"  # never called here: deploy only records it as the Function URL
# the maintainers' local contract check (`make contract`): the keys every tool relies on
CONTRACT_KEYS = ["api_url", "request_bucket", "job_queue_url", "job_dlq_url", "stream_dlq_url", "async_dlq_url",
                 "message_table", "job_worker_function", "job_worker_esm_uuid", "log_indexer_function",
                 "log_indexer_esm_uuid", "outbox"]


@pytest.fixture(scope="module")
def emu():
    with Emulator(port=0) as e:
        yield e


@pytest.fixture(scope="module")
def local(emu):
    return deploy("local", emu.endpoint_url, API_URL)


def _esm(emu, uuid: str) -> dict:
    return emu.client("lambda").get_event_source_mapping(UUID=uuid)


def test_local_deploy_publishes_contract_outputs_to_ssm(emu, local):
    published = json.loads(emu.client("ssm").get_parameter(Name="/relay/local/outputs")["Parameter"]["Value"])
    assert [k for k in CONTRACT_KEYS if k not in published] == []
    assert published == local
    assert local["api_url"] == API_URL
    assert local["outbox"] == "s3://relay-local-requests/outbox/"
    assert local["job_queue_url"].startswith(emu.endpoint_url) and local["job_queue_url"].endswith("/relay-local-jobs")


def test_local_deploy_creates_job_queue_with_redrive_to_job_dlq(emu, local):
    attrs = emu.client("sqs").get_queue_attributes(QueueUrl=local["job_queue_url"], AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == local["job_dlq_arn"]
    assert int(redrive["maxReceiveCount"]) == 5
    assert attrs["VisibilityTimeout"] == "12"  # Pulumi.local.yaml: 6 x the 2 s job worker timeout
    dlq = emu.client("sqs").get_queue_attributes(QueueUrl=local["job_dlq_url"],
                                                 AttributeNames=["MessageRetentionPeriod"])["Attributes"]
    assert dlq["MessageRetentionPeriod"] == str(14 * 24 * 3600)


def test_local_deploy_creates_event_source_mappings_with_config_settings(emu, local):
    jobs = _esm(emu, local["job_worker_esm_uuid"])
    assert jobs["EventSourceArn"] == local["job_queue_arn"]
    assert jobs["FunctionArn"].endswith(":function:relay-local-job-worker")
    assert jobs["BatchSize"] == 10 and jobs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    stream = _esm(emu, local["log_indexer_esm_uuid"])
    assert stream["EventSourceArn"] == local["message_stream_arn"]
    assert stream["ParallelizationFactor"] == 1 and stream["BatchSize"] == 100
    assert stream["BisectBatchOnFunctionError"] is True and stream["MaximumRetryAttempts"] == 3
    assert stream["MaximumRecordAgeInSeconds"] == 3600 and stream["StartingPosition"] == "TRIM_HORIZON"
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == local["stream_dlq_arn"]


def test_local_deploy_routes_bucket_prefixes_to_workers(emu, local):
    conf = emu.client("s3").get_bucket_notification_configuration(Bucket=local["request_bucket"])
    routes = {}
    for c in conf["LambdaFunctionConfigurations"]:
        rules = {r["Name"].lower(): r["Value"] for r in c["Filter"]["Key"]["FilterRules"]}
        routes[rules["prefix"]] = (c["LambdaFunctionArn"].rsplit(":", 1)[1], rules.get("suffix"), c["Events"])
    assert routes == {"send/": ("relay-local-send-worker", ".json", ["s3:ObjectCreated:*"]),
                      "automations/": ("relay-local-request-worker", ".json", ["s3:ObjectCreated:*"])}


def test_local_deploy_sets_async_retries_and_on_failure_destination(emu, local):
    lam = emu.client("lambda")
    for fn in (local["send_worker_function"], local["request_worker_function"]):
        cfg = lam.get_function_event_invoke_config(FunctionName=fn)
        assert cfg["MaximumRetryAttempts"] == 2
        assert cfg["DestinationConfig"]["OnFailure"]["Destination"] == local["async_dlq_arn"]


def test_local_deploy_creates_tables_with_stream_ttl_and_indexes(emu, local):
    ddb = emu.client("dynamodb")
    messages = ddb.describe_table(TableName=local["message_table"])["Table"]
    assert messages["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert messages["LatestStreamArn"] == local["message_stream_arn"]
    assert {k["AttributeName"]: k["KeyType"] for k in messages["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    ttl = ddb.describe_time_to_live(TableName=local["state_table"])["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expiresAt"
    views = ddb.describe_table(TableName=local["log_table"])["Table"]
    assert {ix["IndexName"] for ix in views["GlobalSecondaryIndexes"]} >= {"by_recipient", "by_status", "by_run"}


def test_local_deploy_keeps_function_settings_real(emu, local):
    cfg = emu.client("lambda").get_function_configuration(FunctionName=local["job_worker_function"])
    assert cfg["Handler"] == "functions.job_worker.handler.lambda_handler"
    assert cfg["Timeout"] == 2 and cfg["MemorySize"] == 256
    env = cfg["Environment"]["Variables"]
    assert env["JOB_QUEUE_URL"] == local["job_queue_url"] and env["STAGE"] == "local"
    assert env["REQUEST_BUCKET"] == local["request_bucket"] and env["STATE_TABLE"] == local["state_table"]


def test_second_deploy_converges_without_duplicates(emu, local):
    lam, sqs = emu.client("lambda"), emu.client("sqs")
    before = (sorted(f["FunctionName"] for f in lam.list_functions()["Functions"]),
              sorted(sqs.list_queues(QueueNamePrefix="relay-local-")["QueueUrls"]),
              len(lam.list_event_source_mappings()["EventSourceMappings"]))

    again = deploy("local", emu.endpoint_url, API_URL)

    after = (sorted(f["FunctionName"] for f in lam.list_functions()["Functions"]),
             sorted(sqs.list_queues(QueueNamePrefix="relay-local-")["QueueUrls"]),
             len(lam.list_event_source_mappings()["EventSourceMappings"]))
    assert again == local
    assert after == before
    assert len([m for m in lam.list_event_source_mappings(EventSourceArn=local["job_queue_arn"])["EventSourceMappings"]]) == 1


def test_dev_rehearsal_deploys_with_dev_settings(emu, local):
    dev = deploy("dev", emu.endpoint_url, API_URL)
    assert dev["stage"] == "dev" and dev["request_bucket"] == "relay-dev-requests-123456789012"
    stream = _esm(emu, dev["log_indexer_esm_uuid"])
    assert stream["ParallelizationFactor"] == 2  # Pulumi.dev.yaml
    attrs = emu.client("sqs").get_queue_attributes(QueueUrl=dev["job_queue_url"],
                                                   AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "180"
    assert json.loads(emu.client("ssm").get_parameter(Name="/relay/dev/outputs")["Parameter"]["Value"]) == dev


def test_deploy_of_unknown_stage_fails_with_config_error(emu):
    with pytest.raises(Exception, match="no stage file Pulumi.nope.yaml"):
        deploy("nope", emu.endpoint_url, API_URL)


def test_deploy_against_dead_endpoint_fails_with_deploy_error():
    with Emulator(port=0) as e:
        url = e.endpoint_url
    with pytest.raises(DeployError, match="local deploy of 'local' failed"):
        deploy("local", url, API_URL)

