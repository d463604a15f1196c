"""The whole platform for one stage: ``build(cfg)`` creates every resource and returns the outputs.

``infra/__main__.py`` calls ``build(from_pulumi())`` under the pulumi CLI; the local stage calls
``build(load_stage_config(stage))`` under Pulumi's mocks, which create each resource in the emulator.
One program, so there is no second topology to drift.
"""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra import lambda_packaging, policies
from infra.components import (
    Alarms, AlarmsArgs, AutomationPipeline, AutomationPipelineArgs, DeadLetterQueues, DeadLetterQueuesArgs,
    DependencyLayer, DependencyLayerArgs, EmailFeedback, EmailFeedbackArgs, FunctionDefaults, HttpApi, HttpApiArgs,
    JobQueueSettings, MessageLog, MessageLogArgs, RequestRouting, RequestRoutingArgs, RequestStore, RequestStoreArgs,
    Route, SendPipeline, SendPipelineArgs, StageOutputs, StageOutputsArgs, StateStore, StateStoreArgs,
    StreamMappingSettings, TableSettings,
)
from infra.config import StageConfig
from infra.function_sizing import FUNCTIONS

__all__ = ["build", "OUTPUT_KEYS", "LOCAL_STAGE", "outputs_parameter_name"]

LOCAL_STAGE = "local"

# docs/CONTRACTS.md, "Stage outputs": exported and published as /relay/<stage>/outputs.
OUTPUT_KEYS = (
    "stage", "region", "api_url", "request_bucket", "job_queue_url", "job_queue_arn", "job_dlq_url",
    "job_dlq_arn", "stream_dlq_url", "stream_dlq_arn", "async_dlq_url", "async_dlq_arn", "message_table",
    "message_stream_arn", "log_table", "state_table", "audit_table", "api_function", "send_worker_function",
    "request_worker_function", "job_worker_function", "job_worker_esm_uuid", "log_indexer_function",
    "log_indexer_esm_uuid", "alarm_topic_arn", "outbox",
)


def outputs_parameter_name(stage: str) -> str:
    """``/relay/<stage>/outputs``."""
    return f"/relay/{stage}/outputs"


def _function_environment(cfg: StageConfig, bucket: pulumi.Input[str], message_table: pulumi.Input[str],
                          log_table: pulumi.Input[str], state_table: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """The environment every function shares (docs/CONTRACTS.md); JOB_QUEUE_URL is added per pipeline."""
    return {
        "STAGE": cfg.stage,
        "REQUEST_BUCKET": bucket,
        "MESSAGE_TABLE": message_table,
        "LOG_TABLE": log_table,
        "STATE_TABLE": state_table,
        "PROVIDERS": json.dumps(dict(cfg.providers), sort_keys=True),
        "SMTP_HOST": cfg.smtp_host,
        "SMTP_PORT": str(cfg.smtp_port),
        "SMTP_STARTTLS": "true" if cfg.smtp_starttls else "false",
        "SMTP_USERNAME": cfg.smtp_username,
        "SMTP_PASSWORD_PARAMETER": cfg.smtp_password_parameter,
        "SMTP_PASSWORD_SECRET": cfg.smtp_password_secret,
        "EMAIL_FROM": cfg.email_from,
        "EMAIL_REPLY_TO": ",".join(cfg.email_reply_to),
        "EMAIL_CONFIGURATION_SET": cfg.name("email") if cfg.uses("ses") else "",
        "SMS_SENDER_ID": cfg.sms_sender_id,
        "SMS_TYPE": cfg.sms_type,
        "FETCH_ALLOW": ",".join(cfg.fetch_allow),
        "API_MAX_BODY_BYTES": str(cfg.api_max_body_bytes),
        # the api function checks API keys unless the Function URL's IAM auth is the gate (policy suite:
        # api-never-open); shared by every function, as the local stage runs them in one environment
        "API_AUTH": cfg.api_auth,
        "MESSAGE_RETENTION_DAYS": str(cfg.message_retention_days),
        "LOG_LEVEL": cfg.log_level.upper(),
        "POWERTOOLS_LOG_LEVEL": cfg.log_level.upper(),
        "POWERTOOLS_METRICS_NAMESPACE": "relay",
    }


def _delivery_statements(cfg: StageConfig, email: EmailFeedback | None,
                         account: pulumi.Output[str] | None) -> pulumi.Output[list[dict]]:
    """The send worker's grants for the configured providers (:func:`infra.policies.delivery_statements`)."""
    needs_account = bool(cfg.smtp_password_parameter or
                         (cfg.smtp_password_secret and not cfg.smtp_password_secret.startswith("arn:")))
    if needs_account and account is None:
        account = aws.get_caller_identity_output().account_id
    return pulumi.Output.all(
        email.identity_arn if email is not None else "", email.configuration_set_arn if email is not None else "",
        account if needs_account else "",
    ).apply(lambda a: policies.delivery_statements(
        ses_identity_arn=a[0] or None, ses_configuration_set_arn=a[1] or None,
        from_address=cfg.email_address or None, sms=cfg.uses("sns"),
        smtp_password_parameter_arn=(
            f"arn:aws:ssm:{cfg.region}:{a[2]}:parameter/{cfg.smtp_password_parameter.lstrip('/')}"
            if cfg.smtp_password_parameter else None),
        smtp_password_secret_arn=(
            cfg.smtp_password_secret if cfg.smtp_password_secret.startswith("arn:")
            # a secret's ARN ends in '-' and six random characters
            else f"arn:aws:secretsmanager:{cfg.region}:{a[2]}:secret:{cfg.smtp_password_secret}-??????"
            if cfg.smtp_password_secret else None)))


def build(cfg: StageConfig, *, bucket_name: str | None = None) -> dict[str, pulumi.Output]:
    """Create the platform for ``cfg.stage`` and return the stage outputs (keys of :data:`OUTPUT_KEYS`).

    Parameters
    ----------
    cfg
        A validated stage config. Validation runs when it is built, so a broken config fails before
        this function creates anything; ``validate()`` is called again here for configs built by hand.
    bucket_name
        Override the request store's name. By default it is ``relay-<stage>-requests-<accountId>``
        (S3 names are global), or ``relay-local-requests`` for the local stage.
    """
    cfg.validate()
    tags = cfg.tags

    account: pulumi.Output[str] | None = None
    if bucket_name is None:
        if cfg.stage == LOCAL_STAGE:
            bucket_name = cfg.name("requests")
        else:
            account = aws.get_caller_identity_output().account_id
    bucket: pulumi.Input[str] = (
        bucket_name if bucket_name is not None
        else account.apply(lambda acct: f"{cfg.name('requests')}-{acct}"))  # type: ignore[union-attr]

    store = RequestStore("request-store", RequestStoreArgs(
        bucket_name=bucket, retention_days=cfg.request_retention_days, versioning=cfg.versioning, tags=tags))
    table_settings = TableSettings(point_in_time_recovery=cfg.point_in_time_recovery,
                                   deletion_protection=cfg.deletion_protection)
    state = StateStore("state-store", StateStoreArgs(
        state_table_name=cfg.name("state"), audit_table_name=cfg.name("audit"), settings=table_settings,
        tags=tags))
    dlqs = DeadLetterQueues("dead-letters", DeadLetterQueuesArgs(
        job_dlq_name=cfg.name("job-dlq"), stream_dlq_name=cfg.name("stream-dlq"),
        async_dlq_name=cfg.name("async-dlq"), tags=tags))
    layer_code = lambda_packaging.layer_code(cfg.architecture)
    layer = DependencyLayer("dependencies", DependencyLayerArgs(
        layer_name=cfg.name("deps"), code=layer_code.archive, architecture=cfg.architecture,
        source_code_hash=layer_code.source_code_hash))

    # Table names are known before the tables exist; the shared environment uses the plain names so
    # the message log's own function can be created in the same component as its table.
    defaults = FunctionDefaults(
        code=lambda_packaging.function_code(), layers=[layer.arn],
        environment=_function_environment(cfg, store.bucket_name, cfg.name("messages"),
                                          cfg.name("message-log"), state.state_table.name),
        tags=tags, stage=cfg.stage, timeout=cfg.function_timeout,
        memory_size=cfg.memory_for("api"), memory={f: cfg.memory_for(f) for f in FUNCTIONS},
        log_retention_days=cfg.log_retention_days, architecture=cfg.architecture)

    log = MessageLog("message-log", MessageLogArgs(
        message_table_name=cfg.name("messages"), log_table_name=cfg.name("message-log"),
        table_settings=table_settings,
        stream=StreamMappingSettings(
            batch_size=cfg.stream_batch_size, parallelization_factor=cfg.parallelization_factor,
            bisect_on_error=cfg.stream_bisect_on_error, max_retries=cfg.stream_max_retries,
            max_record_age=cfg.stream_max_record_age),
        stream_dlq_arn=dlqs.stream_dlq.arn, functions=defaults, tags=tags))
    automations = AutomationPipeline("automation-pipeline", AutomationPipelineArgs(
        job_queue_name=cfg.name("jobs"), job_dlq_arn=dlqs.job_dlq.arn, async_dlq_arn=dlqs.async_dlq.arn,
        bucket_arn=store.bucket_arn, state_table_arn=state.state_table.arn,
        message_table_arn=log.message_table.arn, log_table_arn=log.log_table.arn,
        jobs=JobQueueSettings(
            visibility_timeout=cfg.job_visibility_timeout, max_receive_count=cfg.job_max_receive_count,
            batch_size=cfg.job_batch_size, batching_window=cfg.job_batching_window,
            worker_timeout=cfg.job_worker_timeout),
        functions=defaults, tags=tags))
    # email through SES: identity, configuration set and the feedback path (only on stages that use it)
    email = EmailFeedback("email-feedback", EmailFeedbackArgs(
        name_prefix=f"relay-{cfg.stage}", identity=cfg.ses_identity, message_table_arn=log.message_table.arn,
        state_table_arn=state.state_table.arn, async_dlq_arn=dlqs.async_dlq.arn, functions=defaults,
        tags=tags)) if cfg.uses("ses") else None
    send = SendPipeline("send-pipeline", SendPipelineArgs(
        bucket_arn=store.bucket_arn, state_table_arn=state.state_table.arn,
        message_table_arn=log.message_table.arn, log_table_arn=log.log_table.arn,
        async_dlq_arn=dlqs.async_dlq.arn, job_queue_url=automations.job_queue.url, functions=defaults,
        api_reserved_concurrency=cfg.api_reserved_concurrency,
        delivery_statements=_delivery_statements(cfg, email, account), job_queue_arn=automations.job_queue.arn))
    api = HttpApi("http-api", HttpApiArgs(function_name=send.api.name,
                                          authorization_type="AWS_IAM" if cfg.api_auth == "iam" else "NONE"))
    RequestRouting("request-routing", RequestRoutingArgs(
        bucket_id=store.bucket.id, bucket_arn=store.bucket_arn, async_dlq_arn=dlqs.async_dlq.arn,
        source_account=account,
        routes=[
            Route("send", "send/", send.send_worker.name, send.send_worker.arn),
            Route("automations", "automations/", automations.request_worker.name, automations.request_worker.arn),
        ]))
    alarms = Alarms("alarms", AlarmsArgs(
        name_prefix=f"relay-{cfg.stage}", actions_enabled=cfg.alarm_actions, email=cfg.alarm_email,
        recipient_topic_arn=cfg.alarm_topic_arn,
        dead_letter_queues={"job-dlq": dlqs.job_dlq.name, "stream-dlq": dlqs.stream_dlq.name,
                            "async-dlq": dlqs.async_dlq.name},
        job_queue_name=automations.job_queue.name, stream_function_name=log.log_indexer.name,
        functions={"api": send.api.name, "send-worker": send.send_worker.name,
                   "request-worker": automations.request_worker.name,
                   "job-worker": automations.job_worker.name, "log-indexer": log.log_indexer.name,
                   **({"ses-feedback": email.function.name} if email is not None else {})},
        iterator_age_ms=cfg.iterator_age_alarm_ms, oldest_job_seconds=cfg.oldest_job_alarm_seconds, tags=tags))

    outputs: dict[str, pulumi.Output] = {
        "stage": pulumi.Output.from_input(cfg.stage),
        "region": pulumi.Output.from_input(cfg.region),
        "api_url": api.url,
        "request_bucket": store.bucket_name,
        "job_queue_url": automations.job_queue.url,
        "job_queue_arn": automations.job_queue.arn,
        "job_dlq_url": dlqs.job_dlq.url,
        "job_dlq_arn": dlqs.job_dlq.arn,
        "stream_dlq_url": dlqs.stream_dlq.url,
        "stream_dlq_arn": dlqs.stream_dlq.arn,
        "async_dlq_url": dlqs.async_dlq.url,
        "async_dlq_arn": dlqs.async_dlq.arn,
        "message_table": log.message_table.name,
        "message_stream_arn": log.message_table.stream_arn,
        "log_table": log.log_table.name,
        "state_table": state.state_table.name,
        "audit_table": state.audit_table.name,
        "api_function": send.api.name,
        "send_worker_function": send.send_worker.name,
        "request_worker_function": automations.request_worker.name,
        "job_worker_function": automations.job_worker.name,
        "job_worker_esm_uuid": automations.mapping.uuid,
        "log_indexer_function": log.log_indexer.name,
        "log_indexer_esm_uuid": log.mapping.uuid,
        "alarm_topic_arn": alarms.topic_arn,
        "outbox": store.bucket_name.apply(lambda b: f"s3://{b}/outbox/"),
    }
    assert tuple(outputs) == OUTPUT_KEYS  # the contract's key set, in the contract's order
    StageOutputs("stage-outputs", StageOutputsArgs(
        parameter_name=outputs_parameter_name(cfg.stage), outputs=outputs, tags=tags))
    return outputs
