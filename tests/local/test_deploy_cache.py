"""The deploy cache: a recorded deploy replays to the same stage on a new emulator, without the program."""
from __future__ import annotations

import json
import re

from relay.local.deploy import deploy
from relay.local.emulator import Emulator



def _inventory(emu) -> dict:
    """What a deploy leaves in the emulator, minus the values a new emulator assigns anew."""
    lam, sqs, ddb, ssm = emu.client("lambda"), emu.client("sqs"), emu.client("dynamodb"), emu.client("ssm")
    functions = {f["FunctionName"]: [f["Handler"], f["Runtime"], f["Timeout"], f["MemorySize"],
                                     sorted(f.get("Environment", {}).get("Variables", {}))]
                 for f in lam.list_functions()["Functions"]}
    mappings = sorted([m["FunctionArn"], m["EventSourceArn"], m.get("BatchSize"), m.get("ParallelizationFactor")]
                      for m in lam.list_event_source_mappings()["EventSourceMappings"])
    queues = {u.rsplit("/", 1)[-1]: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["VisibilityTimeout",
                                                                                         "RedrivePolicy"])["Attributes"]
              for u in sqs.list_queues().get("QueueUrls", [])}
    return {"functions": functions, "mappings": mappings, "queues": queues, "tables": sorted(ddb.list_tables()["TableNames"]),
            "outputs": json.loads(ssm.get_parameter(Name="/relay/local/outputs")["Parameter"]["Value"])}


def test_cached_deploy_replays_to_the_same_stage_on_a_new_emulator(tmp_path, monkeypatch):
    from relay.local import deploy_cache

    monkeypatch.setattr(deploy_cache, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.delenv(deploy_cache.NO_CACHE_ENV, raising=False)
    # GIVEN a real deploy (it records itself) on one emulator
    with Emulator(port=0) as first:
        first.reset()  # moto's state is per process: start from nothing, whatever ran before
        real = deploy("local", first.endpoint_url, "http://127.0.0.1:7001/")
        real_inventory = _inventory(first)
        first.reset()
    assert len(list((tmp_path / "cache").glob("deploy-*.json"))) == 1

    # WHEN the next deploy of the unchanged program, on another endpoint and API URL, replays it
    calls: list[str] = []
    monkeypatch.setattr("relay.local.deploy._run_program", lambda *a, **k: calls.append("program") or {})
    with Emulator(port=0) as second:
        replayed = deploy("local", second.endpoint_url, "http://127.0.0.1:7002/")
        inventory = _inventory(second)
        second.reset()

    # THEN the program did not run, and the stage is the same, with the new endpoint, API URL and mapping ids
    assert calls == []
    def swap(v):  # the new emulator's endpoint and API URL; a stream's label is its table's creation time
        text = json.dumps(v).replace(first.endpoint_url, second.endpoint_url)
        return json.loads(re.sub(r"/stream/[^\"]+", "/stream/*", text.replace("http://127.0.0.1:7001/", "http://127.0.0.1:7002/")))
    assert replayed["api_url"] == "http://127.0.0.1:7002/" and replayed["job_queue_url"].startswith(second.endpoint_url)
    assert replayed["job_worker_esm_uuid"] != real["job_worker_esm_uuid"], "moto assigned new mapping ids"
    assert inventory["outputs"] == replayed
    for key in ("functions", "mappings", "queues", "tables"):
        assert swap(inventory[key]) == swap(real_inventory[key]), key


def test_changed_program_is_deployed_for_real_not_replayed(tmp_path, monkeypatch):
    from relay.local import deploy_cache

    monkeypatch.setattr(deploy_cache, "CACHE_DIR", tmp_path / "cache")
    key = deploy_cache.cache_key("local", {}, "us-east-1")
    assert deploy_cache.cache_key("local", {"relay:jobBatchSize": "7"}, "us-east-1") != key
    assert deploy_cache.cache_key("dev", {}, "us-east-1") != key
