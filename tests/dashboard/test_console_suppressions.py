"""The suppression list in the console (AppTest against a hand-built stage in the local emulator): listed, and
cleared only through the confirm dialog, audited before and after."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from dashboard import ops
from functions.shared.suppression import SuppressionEntry
from tests.dashboard.stage_fixture import Stage

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def _console(stage: Stage) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["stage"] = stage.name
    at.switch_page("pages/suppressions.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _suppress(stage: Stage, address: str, reason: str, message_id: str) -> None:
    from functions.shared.dynamo_values import plain_to_item

    entry = SuppressionEntry("email", address, reason, message_id=message_id, detail="Permanent/General",
                             provider="ses", created_at="2026-12-01T10:00:00.000Z", updated_at="2026-12-01T10:00:00.000Z")
    stage.client("dynamodb").put_item(TableName=stage.outputs["state_table"], Item=plain_to_item(entry.as_item()))


def _audit(stage: Stage) -> list[dict[str, Any]]:
    items = stage.client("dynamodb").query(
        TableName=stage.outputs["audit_table"], KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"AUDIT#{stage.name}"}})["Items"]
    return [{k: v.get("S") for k, v in i.items()} for i in items]


def test_suppression_list_verbs_list_and_clear(stage: Stage) -> None:
    ddb, table = stage.client("dynamodb"), stage.outputs["state_table"]
    _suppress(stage, "bounce@simulator.amazonses.com", "BOUNCED", "msg_1")
    assert [r["address"] for r in ops.list_suppressions(ddb, table)] == ["bounce@simulator.amazonses.com"]
    said = ops.clear_suppressions(ddb, table, "email", ["Bounce@Simulator.AmazonSES.com", "nobody@relay.test"])
    assert said == "1 address(es) removed from the email suppression list; not on it: nobody@relay.test"
    assert ops.list_suppressions(ddb, table) == []


def test_suppression_page_lists_entries_and_clears_selected_through_the_dialog(stage: Stage) -> None:
    # GIVEN two suppressed addresses
    _suppress(stage, "bounce@simulator.amazonses.com", "BOUNCED", "msg_b")
    _suppress(stage, "complaint@simulator.amazonses.com", "COMPLAINT", "msg_c")
    at = _console(stage)
    df = at.dataframe[0].value
    assert list(df.columns) == ["address", "reason", "since", "message", "detail"]
    assert df.set_index("address")["reason"].to_dict() == {"bounce@simulator.amazonses.com": "BOUNCED",
                                                            "complaint@simulator.amazonses.com": "COMPLAINT"}
    # WHEN the operator picks one and clears it THEN the dialog says what will happen, and nothing happened yet
    at.multiselect(key="suppression_pick").set_value(["bounce@simulator.amazonses.com"]).run()
    at.button(key="btn_clear_suppression").click().run()
    assert any("Remove 1 address(es) from the email suppression list" in m.value for m in at.markdown)
    assert len(ops.list_suppressions(stage.client("dynamodb"), stage.outputs["state_table"])) == 2
    at.button(key="confirm_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # THEN only that address is cleared, the action is audited before and after, and the page shows it
    left = ops.list_suppressions(stage.client("dynamodb"), stage.outputs["state_table"])
    assert [r["address"] for r in left] == ["complaint@simulator.amazonses.com"]
    records = _audit(stage)
    assert sorted(r["phase"] for r in records) == ["after", "before"]
    assert {r["action"] for r in records} == {"clear_suppression"}
    assert "bounce@simulator.amazonses.com" in records[0]["params"]
    assert any("1 address(es) removed" in s.value for s in at.success)
    assert list(at.dataframe[0].value["address"]) == ["complaint@simulator.amazonses.com"]
