"""Who may call the API: key checks behind an AuthType NONE URL, or AWS_IAM; the api's reserved concurrency."""
from __future__ import annotations

import pytest

from infra.config import ConfigError, StageConfig, load_stage_config
from infra.policy_suite import check
from tests.infra.infra_stacks import BuiltStack, build_stage

FUNCTION = "aws:lambda/function:Function"
URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"


def test_each_stage_api_url_is_none_only_in_front_of_key_checks(stack: BuiltStack) -> None:
    (url,) = stack.of(URL)
    assert url.inputs["authorizationType"] == "NONE" and stack.cfg.api_auth == "keys"
    api = stack.named(FUNCTION, stack.cfg.name("api"))
    assert api.inputs["environment"]["variables"]["API_AUTH"] == "keys"


def test_api_reserved_concurrency_reaches_the_api_function_only(stacks: dict[str, BuiltStack]) -> None:
    prod = stacks["prod"]
    reserved = {f.inputs["name"]: f.inputs.get("reservedConcurrentExecutions") for f in prod.of(FUNCTION)}
    assert reserved.pop("relay-prod-api") == prod.cfg.api_reserved_concurrency == 100
    assert set(reserved.values()) == {None}
    # a stage without a reservation registers no setting at all (Lambda's default: unreserved)
    assert all("reservedConcurrentExecutions" not in f.inputs for f in stacks["dev"].of(FUNCTION))


def test_iam_mode_makes_the_url_aws_iam_without_public_permissions() -> None:
    stack = build_stage(load_stage_config("dev", overrides={"relay:apiAuth": "iam"}))
    (url,) = stack.of(URL)
    assert url.inputs == {"functionName": "relay-dev-api", "authorizationType": "AWS_IAM"}
    assert [p.inputs for p in stack.of(PERMISSION) if p.inputs["principal"] == "*"] == []
    assert stack.named(FUNCTION, "relay-dev-api").inputs["environment"]["variables"]["API_AUTH"] == "iam"
    assert check(stack.resources) == []


def test_iam_mode_url_reopened_without_key_checks_is_a_violation() -> None:
    from infra.policy_suite import RecordedResource

    stack = build_stage(load_stage_config("dev", overrides={"relay:apiAuth": "iam"}))
    opened = [RecordedResource(r.type, r.name, {**r.inputs, "authorizationType": "NONE"}, r.outputs)
              if r.type == URL else r for r in stack.resources]
    [violation] = check(opened)
    assert violation.rule == "api-never-open" and "API_AUTH=keys" in violation.message


@pytest.mark.parametrize(("values", "rule"), [
    ({"apiAuth": "open"}, "must be keys (API keys, the default) or iam"),
    ({"apiReservedConcurrency": 0}, "0 would throttle every request"),
    ({"apiReservedConcurrency": 901}, "must be -1 (none) or 1-900: Lambda keeps 100"),
    ({"apiReservedConcurrency": -2}, "must be -1 (none) or 1-900"),
])
def test_bad_api_access_config_is_refused_naming_the_key(values: dict, rule: str) -> None:
    key = "relay:" + next(iter(values))
    with pytest.raises(ConfigError) as exc:
        StageConfig.from_mapping("dev", values)
    assert str(exc.value).startswith(f"{key} = ") and rule in str(exc.value)


def test_api_access_defaults_are_keys_and_no_reservation() -> None:
    cfg = StageConfig.from_mapping("dev", {})
    assert (cfg.api_auth, cfg.api_reserved_concurrency) == ("keys", -1)
    assert StageConfig.from_mapping("dev", {"relay:apiReservedConcurrency": "900"}).api_reserved_concurrency == 900
