"""The stage config: every stage file loads, and config that breaks AWS's guidance is refused by name."""
import pytest

from infra.config import ConfigError, StageConfig, load_stage_config


@pytest.mark.parametrize("stage", ["dev", "prod", "local"])
def test_stage_files_load_and_meet_aws_guidance(stage: str) -> None:
    cfg = load_stage_config(stage)
    assert cfg.stage == stage
    assert cfg.job_visibility_timeout >= 6 * cfg.job_worker_timeout
    assert cfg.job_max_receive_count >= 5
    assert 1 <= cfg.parallelization_factor <= 10
    assert cfg.name("job-dlq") == f"relay-{stage}-job-dlq"


def test_prod_differs_from_dev_only_by_config_values() -> None:
    dev, prod = load_stage_config("dev"), load_stage_config("prod")
    assert prod.point_in_time_recovery and prod.versioning and prod.deletion_protection
    assert not dev.point_in_time_recovery
    assert prod.parallelization_factor > dev.parallelization_factor


@pytest.mark.parametrize(
    ("values", "key", "rule"),
    [
        ({"jobWorkerTimeout": 30, "jobVisibilityTimeout": 100}, "relay:jobVisibilityTimeout", "6 x"),
        ({"jobMaxReceiveCount": 3}, "relay:jobMaxReceiveCount", "at least 5"),
        ({"parallelizationFactor": 11}, "relay:parallelizationFactor", "between 1 and 10"),
        ({"parallelizationFactor": 0}, "relay:parallelizationFactor", "between 1 and 10"),
        ({"relay:memorySize": "lots"}, "relay:memorySize", "must be a int"),
        ({"relay:paralelizationFactor": 2}, "relay:paralelizationFactor", "not a relay setting"),
        ({"providers": {"email": "carrier-pigeon"}}, "relay:providers.email", "outbox, smtp, webhook, ses or sns"),
        ({"providers": {"email": "ses"}}, "relay:emailFrom is not set", "relay:providers.email = 'ses' needs"),
        ({"providers": {"sms": "ses"}, "emailFrom": "n@acme.io"}, "relay:providers.sms", "the email channel only"),
        ({"providers": {"email": "sns"}}, "relay:providers.email", "the sms channel only"),
        ({"providers": {"email": "smtp"}}, "relay:smtpHost is not set", "needs the relay host"),
        ({"emailFrom": "notifications"}, "relay:emailFrom", "must be an email address"),
        ({"emailFrom": "n@acme.io", "emailIdentity": "other.io"}, "relay:emailIdentity", "or its domain"),
        ({"emailReplyTo": ["support"]}, "relay:emailReplyTo", "must be an email address"),
        ({"smsType": "Urgent"}, "relay:smsType", "Transactional, Promotional"),
        ({"smsSenderId": "RELAY-NOTIFY"}, "relay:smsSenderId", "1-11 letters and digits"),
        ({"smsSenderId": "12345"}, "relay:smsSenderId", "at least one letter"),
        ({"smtpUsername": "relay"}, "relay:smtpUsername", "needs relay:smtpPasswordParameter"),
        ({"smtpPasswordParameter": "/relay/dev/smtp"}, "relay:smtpUsername", "name the login"),
        ({"smtpUsername": "relay", "smtpPasswordParameter": "/relay/dev/smtp", "smtpStarttls": False},
         "relay:smtpStarttls", "never sent in clear"),
        ({"smtpUsername": "relay", "smtpPasswordParameter": "/p", "smtpPasswordSecret": "s"},
         "relay:smtpPasswordSecret", "not both"),
        ({"logRetentionDays": 10}, "relay:logRetentionDays", "CloudWatch Logs' retention values"),
        ({"requestRetentionDays": 0}, "relay:requestRetentionDays", "at least 1 day"),
        ({"alarmEmail": "oncall"}, "relay:alarmEmail", "must be an email address"),
        ({"jobBatchSize": 25, "jobBatchingWindow": 0}, "relay:jobBatchingWindow", "at least 1 s"),
        ({"architecture": "x86"}, "relay:architecture", "must be one of arm64, x86_64"),
        ({"alarmEmail": "oncall@example.com"}, "relay:alarmEmail", "reserved example domain"),
        ({"alarmEmail": "pager@ops.example.org"}, "relay:alarmEmail", "reserved example domain"),
        ({"alarmEmail": "oncall@acme.test"}, "relay:alarmEmail", "reserved example domain"),
        ({"alarmTopicArn": "acme-pager"}, "relay:alarmTopicArn", "must be an SNS topic ARN"),
        ({"alarmTopicArn": "arn:aws:sqs:us-east-1:123456789012:acme-pager"}, "relay:alarmTopicArn",
         "must be an SNS topic ARN"),
        ({"alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:acme-pager"}, "relay:alarmTopicArn",
         "must be in the stage's region us-east-1"),
    ],
)
def test_broken_config_is_rejected_naming_key_and_rule(values: dict, key: str, rule: str) -> None:
    with pytest.raises(ConfigError) as err:
        StageConfig.from_mapping("dev", values)
    assert key in str(err.value) and rule in str(err.value)


def test_pulumi_string_values_are_coerced() -> None:
    cfg = StageConfig.from_mapping("dev", {"relay:versioning": "true", "relay:operators": '["a@example.com"]',
                                           "relay:jobBatchSize": "10"})
    assert cfg.versioning is True and cfg.operators == ("a@example.com",) and cfg.job_batch_size == 10


def test_architecture_defaults_to_arm64_and_every_stage_file_names_it() -> None:
    assert StageConfig(stage="dev").architecture == "arm64"
    assert {load_stage_config(s).architecture for s in ("dev", "prod", "local")} == {"arm64"}
    assert StageConfig.from_mapping("dev", {"relay:architecture": "x86_64"}).architecture == "x86_64"


@pytest.mark.parametrize("recipient", [
    {"alarmEmail": "oncall@acme.internal"},
    {"alarmTopicArn": "arn:aws:sns:us-east-1:123456789012:acme-pager"},
    {"alarmEmail": "oncall@acme.internal", "alarmTopicArn": "arn:aws:sns:us-east-1:123456789012:acme-pager"},
])
def test_alarm_actions_with_a_recipient_are_deployable(recipient: dict) -> None:
    StageConfig.from_mapping("prod", {"alarmActions": True, **recipient}).validate_deployment()


def test_alarm_actions_without_recipient_refused_for_deployment_naming_both_keys() -> None:
    cfg = StageConfig.from_mapping("prod", {"alarmActions": True})  # a tool may still read it
    with pytest.raises(ConfigError) as err:
        cfg.validate_deployment()
    assert str(err.value).startswith("relay:alarmEmail is not set: relay:alarmActions is true in stage 'prod'")
    assert "relay:alarmTopicArn" in str(err.value)


def test_committed_prod_file_reads_for_tools_but_is_not_deployable_until_a_recipient_is_set() -> None:
    prod = load_stage_config("prod")  # the console and `relay capacity` read it as committed
    assert prod.alarm_actions and not (prod.alarm_email or prod.alarm_topic_arn)
    with pytest.raises(ConfigError, match="relay:alarmEmail is not set"):
        prod.validate_deployment()
    load_stage_config("prod", overrides={"relay:alarmEmail": "oncall@acme.internal"}).validate_deployment()


@pytest.mark.parametrize("stage", ["dev", "local"])
def test_stages_without_alarm_actions_need_no_recipient(stage: str) -> None:
    load_stage_config(stage).validate_deployment()


@pytest.mark.parametrize("values", [
    {"providers": {"email": "ses", "sms": "sns"}, "emailFrom": "Relay <notifications@acme.io>"},
    {"providers": {"email": "ses"}, "emailFrom": "notifications@acme.io", "emailIdentity": "acme.io",
     "emailReplyTo": ["support@acme.io"], "smsSenderId": "ACME", "smsType": "Promotional"},
    {"providers": {"email": "smtp"}, "smtpHost": "email-smtp.us-east-1.amazonaws.com", "smtpPort": 587,
     "smtpUsername": "AKIAEXAMPLE", "smtpPasswordSecret": "relay/dev/smtp"},
])
def test_delivery_settings_with_what_each_provider_needs_are_accepted(values: dict) -> None:
    cfg = StageConfig.from_mapping("dev", values)
    assert cfg.providers == values["providers"]
    assert cfg.email_address in ("", "notifications@acme.io")


def test_ses_identity_defaults_to_the_from_address_and_may_be_its_domain() -> None:
    cfg = StageConfig.from_mapping("dev", {"providers": {"email": "ses"}, "emailFrom": "Relay <n@acme.io>"})
    assert (cfg.email_address, cfg.ses_identity) == ("n@acme.io", "n@acme.io")
    cfg = StageConfig.from_mapping("dev", {"providers": {"email": "ses"}, "emailFrom": "n@acme.io",
                                           "emailIdentity": "acme.io"})
    assert cfg.ses_identity == "acme.io"
