"""The console's Templates page lists the stage's named notification and automation templates."""
from __future__ import annotations

import json

from tests.dashboard.stage_fixture import Stage
from tests.dashboard.test_console_pages import console


def test_templates_page_lists_notification_and_automation_templates(stage: Stage) -> None:
    s3, bucket = stage.client("s3"), stage.outputs["request_bucket"]
    for key in ("templates/welcome.json", "templates/receipt.json", "automation-templates/onboarding.json"):
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"body": "x"}).encode())
    at = console(stage, "pages/templates.py")
    tables = [t.value for t in at.dataframe]
    assert [list(t["name"]) for t in tables] == [["receipt", "welcome"], ["onboarding"]]
    assert any("relay templates put" in c.value for c in at.caption)
