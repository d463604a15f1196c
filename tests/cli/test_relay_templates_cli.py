"""``relay templates`` / ``relay automations``: documents are checked before they are stored; names listed."""
from __future__ import annotations

import argparse
import io
import json

import boto3
from moto import mock_aws

from relay.templates_cli import check_automation, check_template, run_templates


def test_template_checks_name_every_bad_field() -> None:
    assert check_template({"title": "Hi {name}", "body": "B", "channels": {"sms": {"body": "b"}}}) == []
    assert check_template({"version": "2022-01-01", "elements": [{"type": "text", "content": "x"}]}) == []
    errors = check_template({"subject": "x", "channels": {"sms": {"text": "b"}}})
    assert any(e.startswith("subject") for e in errors) and any(e.startswith("body") for e in errors)
    assert any(e.startswith("channels.sms") for e in errors)


def test_automation_template_must_be_a_valid_automation() -> None:
    assert check_automation({"steps": [{"action": "delay", "duration": "1 minute"}, {"action": "send"}]}) == []
    assert any("send-list" in e for e in check_automation({"steps": [{"action": "send-list", "list": "l"}]}))


def test_put_then_list_on_a_stage(tmp_path, monkeypatch) -> None:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="relay-x-requests")
        boto3.client("ssm").put_parameter(Name="/relay/x/outputs", Type="String", Value=json.dumps(
            {"request_bucket": "relay-x-requests", "state_table": "relay-x-state"}))
        doc = tmp_path / "welcome.json"
        doc.write_text(json.dumps({"title": "Welcome {name}", "body": "Hi"}))
        out, err = io.StringIO(), io.StringIO()
        args = argparse.Namespace(command="templates", verb="put", stage="x", region=None, name="welcome", file=str(doc))
        assert run_templates(args, out, err, clients=boto3.client) == 0
        assert "templates/welcome.json" in out.getvalue()
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"body": 3}))
        args.name, args.file = "bad", str(bad)
        assert run_templates(args, out, err, clients=boto3.client) == 1 and "refused" in err.getvalue()
        listing = io.StringIO()
        assert run_templates(argparse.Namespace(command="templates", verb="list", stage="x", region=None),
                             listing, err, clients=boto3.client) == 0
        assert listing.getvalue().split() == ["welcome"]
