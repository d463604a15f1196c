"""IAM policy documents as pure functions returning dicts.

Every statement names this stage's ARNs; no function ever gets ``Action: "*"`` or ``Resource: "*"``.
The program resolves the ARNs (``pulumi.Output.all(...).apply``) and calls these functions with
plain strings, so the documents are testable without Pulumi and without AWS.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "Statement",
    "document",
    "lambda_assume_role",
    "log_statements",
    "tls_only_bucket_policy",
    "api_statements",
    "send_worker_statements",
    "request_worker_statements",
    "job_worker_statements",
    "log_indexer_statements",
    "delivery_statements",
    "ses_feedback_statements",
    "ses_publish_topic_policy",
    "SMS_ONLY_NOT_RESOURCE",
]

# sns:Publish on everything that is *not* an SNS ARN (a topic, an application endpoint): the only way IAM
# can say "phone numbers only" (SMS publishes have no resource ARN of their own)
SMS_ONLY_NOT_RESOURCE = "arn:aws:sns:*:*:*"

Statement = dict[str, Any]

# Item-level verbs the handlers use; no Scan, no table management.
_ITEM_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]
_ITEM_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
               "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"]


def document(statements: list[Statement]) -> dict[str, Any]:
    """Wrap ``statements`` in a policy document (``Version`` 2012-10-17)."""
    return {"Version": "2012-10-17", "Statement": statements}


def lambda_assume_role() -> dict[str, Any]:
    """Trust policy: only the Lambda service may assume a function's role."""
    return document([{
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }])


def log_statements(log_group_arn: str) -> list[Statement]:
    """Write to the function's own log group (created by the program, so no CreateLogGroup)."""
    base = log_group_arn.removesuffix(":*")
    return [{
        "Sid": "OwnLogGroup",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [base, f"{base}:*"],
    }]


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Deny every request to the bucket and its objects that does not use TLS."""
    return document([{
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }])


def _objects(bucket_arn: str, prefixes: list[str]) -> list[str]:
    return [f"{bucket_arn}/{p}*" for p in prefixes]


def _table(table_arn: str, *, indexes: bool = False) -> list[str]:
    return [table_arn, f"{table_arn}/index/*"] if indexes else [table_arn]


def _s3(sid: str, bucket_arn: str, read: list[str], write: list[str]) -> list[Statement]:
    out: list[Statement] = [{
        # ListBucket lets a missing object answer 404 NoSuchKey (retryable) instead of 403
        "Sid": f"{sid}List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
    }]
    if read:
        out.append({"Sid": f"{sid}Read", "Effect": "Allow", "Action": "s3:GetObject",
                    "Resource": _objects(bucket_arn, read)})
    if write:
        out.append({"Sid": f"{sid}Write", "Effect": "Allow", "Action": "s3:PutObject",
                    "Resource": _objects(bucket_arn, write)})
    return out


def _send_to(sid: str, *queue_arns: str) -> Statement:
    return {"Sid": sid, "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": list(queue_arns)}


def api_statements(bucket_arn: str, state_table_arn: str, message_table_arn: str,
                   log_table_arn: str) -> list[Statement]:
    """The HTTP API stores requests, keeps idempotency records, and reads status views.

    Parameters
    ----------
    bucket_arn, state_table_arn, message_table_arn, log_table_arn
        ARNs of this stage's request store and tables.
    """
    return [
        # templates/ and automation-templates/: read for invoke-by-template and the template listing
        *_s3("Requests", bucket_arn, read=["send/", "automations/", "payloads/", "templates/", "automation-templates/"],
             write=["send/", "automations/", "payloads/"]),
        {"Sid": "State", "Effect": "Allow", "Action": _ITEM_READ + _ITEM_WRITE,
         "Resource": _table(state_table_arn, indexes=True)},
        {"Sid": "ReadLog", "Effect": "Allow", "Action": _ITEM_READ,
         "Resource": _table(log_table_arn, indexes=True) + _table(message_table_arn)},
    ]


def send_worker_statements(bucket_arn: str, state_table_arn: str, message_table_arn: str,
                           async_dlq_arn: str, job_queue_arn: str | None = None) -> list[Statement]:
    """The send worker reads ``send/`` and ``templates/``, writes the outbox, claims deliveries, writes events.

    ``async_dlq_arn`` is its on-failure destination: Lambda sends there with the function's role. A delayed
    send waits on the job queue (``job_queue_arn``): the send worker enqueues its release.
    """
    out = [
        *_s3("Requests", bucket_arn, read=["send/", "templates/", "payloads/"], write=["outbox/", "payloads/"]),
        {"Sid": "State", "Effect": "Allow", "Action": _ITEM_READ + _ITEM_WRITE,
         "Resource": _table(state_table_arn, indexes=True)},
        {"Sid": "MessageEvents", "Effect": "Allow", "Action": _ITEM_READ + _ITEM_WRITE,
         "Resource": _table(message_table_arn)},
        _send_to("OnFailureDestination", async_dlq_arn),
    ]
    if job_queue_arn:
        out.append(_send_to("DelayedSends", job_queue_arn))
    return out


def request_worker_statements(bucket_arn: str, state_table_arn: str, job_queue_arn: str,
                              async_dlq_arn: str) -> list[Statement]:
    """The request worker reads ``automations/``, creates the run and enqueues step 0."""
    return [
        *_s3("Requests", bucket_arn, read=["automations/", "payloads/"], write=["payloads/"]),
        {"Sid": "State", "Effect": "Allow", "Action": _ITEM_READ + _ITEM_WRITE,
         "Resource": _table(state_table_arn, indexes=True)},
        _send_to("EnqueueJobs", job_queue_arn),
        _send_to("OnFailureDestination", async_dlq_arn),
    ]


def job_worker_statements(bucket_arn: str, state_table_arn: str, message_table_arn: str,
                          log_table_arn: str, job_queue_arn: str) -> list[Statement]:
    """The job worker consumes the job queue, runs steps and enqueues the next one.

    Its steps write ``send/`` and ``automations/`` requests (send, invoke), update runs, tokens and
    profiles, and may record CANCELED events.
    """
    return [
        {"Sid": "ConsumeJobs", "Effect": "Allow",
         "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes", "sqs:SendMessage"],
         "Resource": job_queue_arn},
        # automation-templates/: Courier's invoke step names a stored automation template
        *_s3("Requests", bucket_arn, read=["send/", "automations/", "payloads/", "automation-templates/"],
             write=["send/", "automations/", "payloads/"]),
        {"Sid": "State", "Effect": "Allow", "Action": _ITEM_READ + _ITEM_WRITE,
         "Resource": _table(state_table_arn, indexes=True)},
        {"Sid": "MessageEvents", "Effect": "Allow", "Action": _ITEM_READ + _ITEM_WRITE,
         "Resource": _table(message_table_arn)},
        {"Sid": "ReadLog", "Effect": "Allow", "Action": _ITEM_READ,
         "Resource": _table(log_table_arn, indexes=True)},
    ]


def log_indexer_statements(message_table_arn: str, stream_arn: str, log_table_arn: str,
                           stream_dlq_arn: str) -> list[Statement]:
    """The log indexer reads the message stream and writes the views; failures go to the stream DLQ."""
    return [
        {"Sid": "ReadStream", "Effect": "Allow",
         "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams"],
         # ListStreams is authorised on the table's stream/* path, not on "*"
         "Resource": [stream_arn, f"{message_table_arn}/stream/*"]},
        {"Sid": "WriteViews", "Effect": "Allow", "Action": _ITEM_READ + _ITEM_WRITE,
         "Resource": _table(log_table_arn, indexes=True)},
        _send_to("OnFailureDestination", stream_dlq_arn),
    ]


def delivery_statements(*, ses_identity_arn: str | None = None, ses_configuration_set_arn: str | None = None,
                        from_address: str | None = None, sms: bool = False,
                        smtp_password_parameter_arn: str | None = None,
                        smtp_password_secret_arn: str | None = None) -> list[Statement]:
    """What the send worker's providers may do: nothing beyond the stage's identity, set, phones and secret.

    Parameters
    ----------
    ses_identity_arn, ses_configuration_set_arn, from_address
        ``ses:SendEmail`` only from this identity, through this configuration set, with this From address
        (SESv2 authorises a send against both the identity and the configuration set).
    sms
        ``sns:Publish`` to phone numbers only (never to a topic: ``NotResource`` every SNS ARN).
    smtp_password_parameter_arn, smtp_password_secret_arn
        Read the SMTP password (SSM SecureString, decrypted with the AWS-managed key; or a Secrets Manager secret).
    """
    out: list[Statement] = []
    if ses_identity_arn:
        st: Statement = {"Sid": "SendEmailFromStageIdentity", "Effect": "Allow", "Action": "ses:SendEmail",
                         "Resource": [r for r in (ses_identity_arn, ses_configuration_set_arn) if r]}
        if from_address:
            st["Condition"] = {"StringEquals": {"ses:FromAddress": from_address}}
        out.append(st)
    if sms:
        out.append({"Sid": "PublishSmsToPhoneNumbersOnly", "Effect": "Allow", "Action": "sns:Publish",
                    "NotResource": SMS_ONLY_NOT_RESOURCE})
    if smtp_password_parameter_arn:
        out.append({"Sid": "ReadSmtpPassword", "Effect": "Allow", "Action": "ssm:GetParameter",
                    "Resource": smtp_password_parameter_arn})
    if smtp_password_secret_arn:
        out.append({"Sid": "ReadSmtpPassword", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                    "Resource": smtp_password_secret_arn})
    return out


def ses_feedback_statements(message_table_arn: str, state_table_arn: str, async_dlq_arn: str) -> list[Statement]:
    """The feedback function reads a message's events and adds one; it touches only suppression items of the state.

    ``dynamodb:LeadingKeys`` keeps it to ``SUPPRESSION#…`` partitions (runs, claims, keys are not its business).
    """
    return [
        {"Sid": "MessageEvents", "Effect": "Allow",
         "Action": ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem"], "Resource": _table(message_table_arn)},
        {"Sid": "SuppressionList", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
         "Resource": _table(state_table_arn),
         "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["SUPPRESSION#*"]}}},
        _send_to("OnFailureDestination", async_dlq_arn),
    ]


def ses_publish_topic_policy(topic_arn: str, configuration_set_arn: str,
                             account_id: str | None = None) -> dict[str, Any]:
    """The feedback topic's policy: SES may publish to it for this stage's configuration set only."""
    condition: dict[str, Any] = {"ArnLike": {"aws:SourceArn": configuration_set_arn}}
    if account_id:
        condition["StringEquals"] = {"aws:SourceAccount": account_id}
    return document([{"Sid": "SesEventPublishing", "Effect": "Allow", "Principal": {"Service": "ses.amazonaws.com"},
                      "Action": "sns:Publish", "Resource": topic_arn, "Condition": condition}])
