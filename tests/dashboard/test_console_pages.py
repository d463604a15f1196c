"""The console driven through Streamlit's AppTest against a hand-built stage in the local emulator."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.stage_fixture import Stage, build_stage, job_body

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGES = ["pages/overview.py", "pages/queues.py", "pages/dead_letters.py", "pages/streams.py",
         "pages/message_log.py", "pages/api_keys.py", "pages/suppressions.py", "pages/audit.py",
         "pages/dlq_search.py", "pages/mappings.py"]


def console(stage: Stage, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["stage"] = stage.name
    if page:  # st.Page's url path is the file name here, so switching works before the first run
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def audit_items(stage: Stage) -> list[dict[str, Any]]:
    items = stage.client("dynamodb").query(
        TableName=stage.outputs["audit_table"], KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"AUDIT#{stage.name}"}})["Items"]
    return [{k: v.get("S") for k, v in i.items()} for i in items]


def confirm(at: AppTest, typed: str | None = None) -> AppTest:
    if typed is not None:
        at.text_input(key="confirm_typed").set_value(typed)
    at.button(key="confirm_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def factor(stage: Stage) -> int:
    return stage.client("lambda").get_event_source_mapping(UUID=stage.outputs["log_indexer_esm_uuid"])["ParallelizationFactor"]


# ---- every page --------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(stage: Stage, page: str) -> None:
    stage.fill(stage.outputs["job_dlq_url"], [job_body("run_a"), "not json"])
    at = console(stage, page)
    assert at.title, "every page has a title"
    assert any(f"Stage `{stage.name}`" in i.value for i in at.info), "the stage is always visible in the header"
    assert any(stage.name in m.value for m in at.sidebar.markdown), "and in the sidebar"


def test_overview_shows_dead_letters_amber(stage: Stage) -> None:
    stage.fill(stage.outputs["job_dlq_url"], [job_body(f"run_{i}") for i in range(3)])
    at = console(stage)
    df = at.dataframe[0].value  # the selected stage comes first
    job = df[df["DLQ"] == "job"].iloc[0]
    assert (job["messages"], job["health"]) == (3, "amber")
    assert job["oldest"].startswith("≥ "), "no CloudWatch age locally: a sampled lower bound, said so"
    assert any(s.value.startswith(":orange[●] " + stage.name) for s in at.subheader)


# ---- dead letters --------------------------------------------------------------------------------------
def test_peek_leaves_messages_in_dlq(stage: Stage) -> None:
    dlq = stage.outputs["job_dlq_url"]
    stage.fill(dlq, [job_body(f"run_{i}", i) for i in range(25)])
    at = console(stage, "pages/dead_letters.py")
    df = at.dataframe[0].value
    assert len(df) == 25 and len(set(df["message_id"])) == 25
    assert sorted(df["run_id"]) == sorted(f"run_{i}" for i in range(25))
    assert stage.visible(dlq) == 25, "peeked messages are visible again at once"
    assert next(m for m in at.metric if m.label == "Messages in job DLQ").value == "25"


def test_redrive_selected_moves_exactly_chosen_messages(stage: Stage) -> None:
    o = stage.outputs
    ids = stage.fill(o["job_dlq_url"], [job_body(f"run_{i}") for i in range(10)])
    at = console(stage, "pages/dead_letters.py")
    chosen = ids[2:6]
    at.multiselect(key="selected_ids").set_value(chosen).run()
    at.button(key="btn_redrive_selected").click().run()
    assert any("Redrive 4 message(s)" in m.value for m in at.markdown), "the dialog says what will happen"
    confirm(at)
    arrived = stage.drain(o["job_queue_url"])
    assert sorted(json.loads(m["Body"])["runId"] for m in arrived) == [f"run_{i}" for i in range(2, 6)]
    left = stage.drain(o["job_dlq_url"])
    assert sorted(m["MessageId"] for m in left) == sorted(ids[:2] + ids[6:]), "0 lost, 0 extra"
    assert any("4 done" in s.value for s in at.success)
    phases = sorted(a["phase"] for a in audit_items(stage) if a["action"] == "redrive_selected")
    assert phases == ["after", "before"]


def test_redrive_selected_canceled_run_is_skipped_and_said(stage: Stage) -> None:
    o = stage.outputs
    ddb = stage.client("dynamodb")
    # the items as the job worker writes them (CONTRACTS): the cancel came after the run was created
    ddb.put_item(TableName=o["state_table"], Item={"pk": {"S": "RUN#run_dead"}, "sk": {"S": "RUN"},
                                                    "cancelation_token": {"S": "tok-1"},
                                                    "createdAt": {"S": "2026-01-01T00:00:00.000Z"}})
    ddb.put_item(TableName=o["state_table"], Item={"pk": {"S": "TOKEN#tok-1"}, "sk": {"S": "CANCELED"},
                                                    "canceledAt": {"S": "2026-01-01T00:05:00.000Z"}})
    ids = stage.fill(o["job_dlq_url"], [job_body("run_dead"), job_body("run_live")])
    at = console(stage, "pages/dead_letters.py")
    at.checkbox(key="select_all").check().run()
    at.button(key="btn_redrive_selected").click().run()
    confirm(at)
    assert [json.loads(m["Body"])["runId"] for m in stage.drain(o["job_queue_url"])] == ["run_live"]
    assert [m["MessageId"] for m in stage.drain(o["job_dlq_url"])] == [ids[0]]
    assert any("1 skipped" in s.value and "run_dead was canceled" in s.value for s in at.success)


def test_delete_selected_removes_only_chosen(stage: Stage) -> None:
    o = stage.outputs
    ids = stage.fill(o["async_dlq_url"], ["x1", "x2", "x3"])
    at = console(stage, "pages/dead_letters.py")
    at.radio(key="dlq_kind").set_value("async").run()
    at.multiselect(key="selected_ids").set_value([ids[1]]).run()
    at.button(key="btn_delete_selected").click().run()
    confirm(at)
    assert sorted(m["MessageId"] for m in stage.drain(o["async_dlq_url"])) == sorted([ids[0], ids[2]])


def test_redrive_rate_over_500_shows_error(stage: Stage) -> None:
    stage.fill(stage.outputs["job_dlq_url"], [job_body("run_a")])
    at = console(stage, "pages/dead_letters.py")
    at.number_input(key="redrive_rate").set_value(501).run()
    at.button(key="btn_redrive_all").click().run()
    assert any("InvalidRedriveRate" in e.value and "1 to 500" in e.value for e in at.error)
    assert "pending_action" not in at.session_state, "no dialog, nothing started"
    assert stage.visible(stage.outputs["job_dlq_url"]) == 1


# ---- streams -------------------------------------------------------------------------------------------
def test_factor_change_updates_mapping_and_audits(stage: Stage) -> None:
    at = console(stage, "pages/streams.py")
    assert any(f"--stack {stage.name}" in c.value for c in at.code)
    at.number_input(key="new_factor").set_value(3).run()
    at.button(key="btn_set_factor").click().run()
    confirm(at)
    assert factor(stage) == 3
    records = [a for a in audit_items(stage) if a["action"] == "set_parallelization_factor"]
    assert sorted(r["phase"] for r in records) == ["after", "before"]
    after = next(r for r in records if r["phase"] == "after")
    assert after["result"] == "ok: ParallelizationFactor 1 -> 3"
    assert json.loads(after["params"])["factor"] == 3
    # the page now shows the drift from the stage file and the command that makes it permanent
    assert any("pulumi config set relay:parallelizationFactor 3" in c.value for c in at.code)


@pytest.mark.parametrize("bad", [0, 11])
def test_factor_out_of_range_shows_error(stage: Stage, bad: int) -> None:
    at = console(stage, "pages/streams.py")
    at.number_input(key="new_factor").set_value(bad).run()
    at.button(key="btn_set_factor").click().run()
    assert any("InvalidParallelizationFactor" in e.value and "1 to 10" in e.value for e in at.error)
    assert factor(stage) == 1
    assert "pending_action" not in at.session_state


def test_prod_action_without_typed_confirmation_does_nothing(emulator: Any, aws_env: str) -> None:
    prod = build_stage(emulator.client, stage="prod")
    at = console(prod, "pages/streams.py")
    assert any("PRODUCTION" in e.value for e in at.error), "prod looks different"
    at.number_input(key="new_factor").set_value(5).run()
    at.button(key="btn_set_factor").click().run()
    confirm(at, typed="")  # confirm without typing
    assert any("ConfirmationMismatch" in e.value and "type the stage name `prod`" in e.value for e in at.error)
    confirm(at, typed="dev")  # the wrong name is no better
    assert factor(prod) == 1
    assert audit_items(prod) == [], "a refused action never ran, so it has no audit record"
    confirm(at, typed="prod")  # positive control: the same dialog acts once the name is typed
    assert factor(prod) == 5


# ---- message log & audit ---------------------------------------------------------------------------------
def test_message_log_search_and_timeline(stage: Stage) -> None:
    o, ddb = stage.outputs, stage.client("dynamodb")
    base = {"messageId": {"S": "msg_1"}, "requestId": {"S": "req_1"}, "runId": {"S": "run_1"},
            "recipient": {"S": "ada@example.com"}, "channel": {"S": "email"}}
    ddb.put_item(TableName=o["log_table"], Item={"pk": {"S": "MSG#msg_1"}, "sk": {"S": "VIEW"}, **base,
                                                  "status": {"S": "DELIVERED"}, "updatedAt": {"N": "2000"}})
    # the timeline is the messages table's events (the log table keeps only VIEWs)
    for ts, status in ((1000, "ENQUEUED"), (2000, "DELIVERED")):
        ddb.put_item(TableName=o["message_table"], Item={"pk": {"S": "MSG#msg_1"},
                                                          "sk": {"S": f"EVT#{ts:013d}#00#{status}"},
                                                          **base, "status": {"S": status}, "ts": {"N": str(ts)}})
    at = console(stage, "pages/message_log.py")
    at.text_input(key="log_value").set_value("ada@example.com").run()
    assert list(at.dataframe[0].value["messageId"]) == ["msg_1"]
    assert list(at.dataframe[1].value["status"]) == ["ENQUEUED", "DELIVERED"]


def test_audit_page_lists_action_records(stage: Stage) -> None:
    at = console(stage, "pages/streams.py")
    at.number_input(key="new_factor").set_value(2).run()
    at.button(key="btn_set_factor").click().run()
    confirm(at)
    at.switch_page("pages/audit.py").run()
    df = at.dataframe[0].value
    assert sorted(df["phase"]) == ["after", "before"]
    assert set(df["action"]) == {"set_parallelization_factor"}
    assert all(a.endswith("(local)") for a in df["actor"])


# ---- API keys ------------------------------------------------------------------------------------------
def test_api_keys_page_lists_keys_without_secrets_and_revokes_through_the_dialog(stage: Stage) -> None:
    from functions.api import keys

    ddb, table = stage.client("dynamodb"), stage.outputs["state_table"]
    ci_secret, ci = keys.create_key(ddb, table, "ci", "send")
    dash_secret, dash = keys.create_key(ddb, table, "dashboards", "read")
    at = console(stage, "pages/api_keys.py")
    df = at.dataframe[0].value
    assert list(df.columns) == ["name", "scopes", "created", "last used", "status"]
    assert df.set_index("name")["scopes"].to_dict() == {"ci": "send", "dashboards": "read"}
    assert set(df["status"]) == {"live"} and set(df["last used"]) == {"never"}
    shown = df.to_json() + "".join(str(e.value) for e in (*at.markdown, *at.caption))
    assert not [s for s in (ci_secret, dash_secret, ci.key_hash, dash.key_hash) if s in shown]

    at.selectbox(key="revoke_key_name").set_value("ci").run()
    at.button(key="btn_revoke_key").click().run()
    assert any("Revoke API key `ci`" in m.value for m in at.markdown), "the dialog says what will happen"
    confirm(at)
    assert [k.name for k in keys.list_keys(ddb, table) if k.revoked] == ["ci"]
    records = audit_items(stage)
    assert sorted(r["phase"] for r in records) == ["after", "before"]
    assert {r["action"] for r in records} == {"revoke_api_key"} and '"name": "ci"' in records[0]["params"]
    assert any("revoked" in s.value and "ci" in s.value for s in at.success)
    df = at.dataframe[0].value
    assert df.set_index("name")["status"]["ci"].startswith("revoked ")


# ---- redrive all (SQS message-move tasks in the emulator) --------------------------------------------
def wait_until(predicate: Any, timeout: float = 15.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def test_redrive_all_moves_every_message_zero_lost(stage: Stage) -> None:
    o = stage.outputs
    ids = stage.fill(o["job_dlq_url"], [job_body(f"run_{i}") for i in range(30)])
    at = console(stage, "pages/dead_letters.py")
    at.number_input(key="redrive_rate").set_value(500).run()
    at.button(key="btn_redrive_all").click().run()
    assert any("Move all 30 message(s)" in m.value and "500 messages/s" in m.value for m in at.markdown)
    confirm(at)
    assert any(s.value.startswith("Move all 30") for s in at.success), [e.value for e in at.error]
    assert wait_until(lambda: stage.count(o["job_dlq_url"]) == 0)
    arrived = stage.drain(o["job_queue_url"])
    assert sorted(json.loads(m["Body"])["runId"] for m in arrived) == sorted(f"run_{i}" for i in range(30))
    assert len(ids) == 30 and stage.count(o["job_dlq_url"]) == 0

    def shows_completed() -> bool:
        # progress comes from ListMessageMoveTasks, cached for 3 s: the page may still hold RUNNING
        at.run()
        return any("COMPLETED: 30/30 moved" in p.proto.text for p in at.get("progress"))

    assert wait_until(shows_completed)


def test_redrive_all_cancel_stops_and_loses_nothing(stage: Stage) -> None:
    o = stage.outputs
    stage.fill(o["job_dlq_url"], [job_body(f"run_{i}") for i in range(40)])
    at = console(stage, "pages/dead_letters.py")
    at.number_input(key="redrive_rate").set_value(1).run()
    at.button(key="btn_redrive_all").click().run()
    confirm(at)
    at.run()
    assert any(p.proto.text.startswith("RUNNING") for p in at.get("progress"))
    at.button(key="btn_cancel_0").click().run()
    assert any("Cancel the running redrive" in m.value for m in at.markdown)
    confirm(at)
    assert any("canceled after" in s.value for s in at.success), [e.value for e in at.error]
    assert wait_until(lambda: stage.count(o["job_dlq_url"]) + stage.count(o["job_queue_url"]) == 40
                      and stage.count(o["job_dlq_url"]) > 30)
    moved = stage.drain(o["job_queue_url"])
    left = stage.drain(o["job_dlq_url"])
    assert len(moved) + len(left) == 40 and len(left) > 30, "rate 1/s: few moved before the cancel; none lost"


def test_async_redrive_reinvokes_function_with_stored_event(stage: Stage, emulator: Any) -> None:
    from relay.local import triggers

    from tests.dashboard.stage_fixture import async_record

    o = stage.outputs
    calls: list[tuple[str, dict, str]] = []

    def handler(fn_arn: str, event: dict, invocation_type: str) -> None:
        calls.append((fn_arn, event, invocation_type))

    fn_arn = stage.client("lambda").get_function(FunctionName=o["send_worker_function"])["Configuration"]["FunctionArn"]
    ids = stage.fill(o["async_dlq_url"], [async_record(fn_arn, "send/req_7.json"), async_record(fn_arn, "send/req_8.json")])
    emulator.on_lambda_invoke(handler)
    try:
        at = console(stage, "pages/dead_letters.py")
        at.radio(key="dlq_kind").set_value("async").run()
        at.multiselect(key="selected_ids").set_value([ids[1]]).run()
        at.button(key="btn_redrive_selected").click().run()
        assert any("re-invoked asynchronously" in m.value for m in at.markdown)
        confirm(at)
    finally:
        triggers.clear_invoke_handler(handler)
    assert [(a, e["Records"][0]["s3"]["object"]["key"], t) for a, e, t in calls] == [(fn_arn, "send/req_8.json", "Event")]
    assert [m["MessageId"] for m in stage.drain(o["async_dlq_url"])] == [ids[0]]


# ---- login (deployed console: endpoint not on loopback, [auth] configured) ------------------------------------
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "test-only",
                 "client_id": "console", "client_secret": "test-only",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}


def deployed_console(stage: Stage, monkeypatch: pytest.MonkeyPatch, user: dict[str, Any], page: str) -> AppTest:
    # The emulator is on loopback; pretend it is not, so the console applies its deployed rules.
    monkeypatch.setattr("dashboard.shell.is_local_endpoint", lambda url=None: False)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets.update(AUTH)
    at.user = user
    at.session_state["stage"] = stage.name
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_deployed_console_without_login_shows_only_login(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    stage.fill(stage.outputs["job_dlq_url"], [job_body("run_a")])
    at = deployed_console(stage, monkeypatch, {"is_logged_in": False}, "pages/dead_letters.py")
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.metric and not at.dataframe, "nothing of the stage is shown before login"


def test_deployed_console_viewer_cannot_act(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    at = deployed_console(stage, monkeypatch, {"is_logged_in": True, "email": "eve@example.com"}, "pages/streams.py")
    assert any("eve@example.com — viewer" in m.value for m in at.sidebar.markdown)
    assert at.button(key="btn_set_factor").disabled
    # even an action that reaches the dialog some other way is refused at Confirm
    from dashboard.actions import Action

    at.session_state["pending_action"] = Action("set_parallelization_factor", {"factor": 4}, "Set factor to 4",
                                                stage.name)
    at.run()
    confirm(at)
    assert any("NotAnOperator" in e.value and "may only view" in e.value for e in at.error)
    assert factor(stage) == 1
    assert audit_items(stage) == []
