"""The safe condition language and delay parsing, with hypothesis for what must always be refused."""
from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from functions.automations.delays import (
    MAX_HOP_SECONDS, DelayError, next_hop_seconds, parse_duration, parse_until,
)
from functions.automations.expressions import ExpressionError, evaluate, parse_condition

SCOPE = {"data": {"total": 120, "items": [{"sku": "a"}, {"sku": "b"}], "flag": True, "name": "Ada",
                  "weird key": 1},
         "profile": {"tier": "gold", "tags": ["vip"]}, "recipient": "user-1"}


@pytest.mark.parametrize("source,expected", [
    ("data.total >= 100", True),
    ("data.total > 100 and profile.tier == 'gold'", True),
    ("data.total < 100 or not data.flag", False),
    ("data.items[1].sku == 'b'", True),
    ("data.items[-1]['sku'] == 'b'", True),
    ("data['weird key'] == 1", True),
    ("'vip' in profile.tags", True),
    ("profile.tier in ['gold', 'platinum']", True),
    ("recipient != 'user-2'", True),
    ("data.missing == null", True),
    ("data.missing.deeper is None", True),
    ("data.missing > 3", False),  # unorderable: false, not an error
    ("data.items[9].sku == 'x'", False),
    ("0 < data.total <= 120", True),
    ("data.total == -1", False),
    ("true", True),
    ("data.name.upper == 'ADA'", False),  # attributes never reach Python objects: str has no fields here
])
def test_safe_condition_evaluates(source, expected):
    assert evaluate(parse_condition(source), SCOPE) is expected


@pytest.mark.parametrize("source,message", [
    ("__import__('os').system('id')", "Call is not allowed"),
    ("data.__class__", "names starting with '_' are refused"),
    ("data['__class__']", "names starting with '_' are refused"),
    ("().__class__.__bases__[0].__subclasses__()", "Call is not allowed"),
    ("open('/etc/passwd')", "Call is not allowed"),
    ("[x for x in data]", "ListComp is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("data.total * 10 ** 9", "BinOp is not allowed"),
    ("'a' * 100000000", "BinOp is not allowed"),
    ("f'{data}'", "JoinedStr is not allowed"),
    ("(x := 1)", "NamedExpr is not allowed"),
    ("data if true else profile", "IfExp is not allowed"),
    ("os.environ", "unknown name 'os'"),
    ("data[profile.tier]", "subscripts must be a constant"),
    ("data.total >", "not a valid expression"),
    ("import os", "not a valid expression"),
    ("", "condition is empty"),
    ("a" * 1001, "longer than 1000"),
    ("{'a': 1}", "Dict is not allowed"),
    ("data[1:2]", "subscripts must be a constant"),
    ("b'x' == data", "literal b'x' is not allowed"),
    ("(" * 300 + "1" + ")" * 300, "condition"),
])
def test_unsafe_or_malformed_condition_refused(source, message):
    with pytest.raises(ExpressionError) as exc:
        parse_condition(source)
    assert message in str(exc.value)


_SAFE_ALPHABET = string.ascii_letters + string.digits + "_.[]()'\" <>=!,-:*+/%@&|^~{}"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_SAFE_ALPHABET, max_size=60))
def test_random_text_either_refused_or_safe(source):
    # Whatever the text, parsing never raises anything but ExpressionError, and whatever parses
    # evaluates to a bool without touching anything but the scope.
    try:
        cond = parse_condition(source)
    except ExpressionError:
        return
    import ast

    for node in ast.walk(cond.tree):
        assert not isinstance(node, (ast.Call, ast.BinOp, ast.Lambda, ast.comprehension, ast.NamedExpr))
        if isinstance(node, ast.Attribute):
            assert not node.attr.startswith("_")
    assert evaluate(cond, SCOPE) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["__class__", "__globals__", "__builtins__", "_private", "__dict__", "__subclasses__"]),
       st.sampled_from(["data.{}", "profile.tags.{}", "data['{}']", "recipient.{}"]))
def test_dunder_lookups_always_refused(attr, template):
    with pytest.raises(ExpressionError):
        parse_condition(template.format(attr))


@pytest.mark.parametrize("text,seconds", [
    ("5 minutes", 300), ("2h", 7200), ("1 hour and 30 minutes", 5400), ("1h30m", 5400), ("90s", 90),
    ("1.5 hours", 5400), ("1 day, 2 hours", 93_600), ("2 weeks", 1_209_600), ("PT5M", 300),
    ("P1DT2H", 93_600), ("PT0.5S", 0.5), ("P2W", 1_209_600), ("pt1h", 3600), ("0 seconds", 0),
])
def test_duration_parsed(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text,message", [
    ("5 parsecs", "unknown unit 'parsecs'"),
    ("soon", "is not like"),
    ("P1M", "years and months have no fixed length"),
    ("P1Y", "years and months have no fixed length"),
    ("PT", "not an ISO 8601 duration"),
    ("P1DT", "not an ISO 8601 duration"),
    ("", "non-empty"),
    ("400 days", "longer than the maximum"),
    ("-5 minutes", "is not like"),
])
def test_bad_duration_refused(text, message):
    with pytest.raises(DelayError) as exc:
        parse_duration(text)
    assert message in str(exc.value)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.sampled_from(["s", "m", "h", "d", "w", "seconds", "minutes",
                                                                    "hours", "days", "weeks"])), min_size=1, max_size=4))
def test_human_durations_sum_their_parts(parts):
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
    expected = sum(n * unit[u[0]] for n, u in parts)
    text = " ".join(f"{n} {u}" for n, u in parts)
    if expected > 366 * 86_400:
        with pytest.raises(DelayError):
            parse_duration(text)
    else:
        assert parse_duration(text) == expected


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_random_duration_text_parses_or_raises_delay_error(text):
    try:
        seconds = parse_duration(text)
    except DelayError:
        return
    assert 0 <= seconds <= 366 * 86_400


def test_until_forms_parse_to_utc():
    assert parse_until("2026-01-01T09:00:00+02:00") == datetime(2026, 1, 1, 7, tzinfo=timezone.utc)
    assert parse_until("2026-01-01T09:00:00Z").tzinfo is not None
    # Courier's forms: no zone is UTC, the basic format, a date alone, a one-digit hour offset
    assert parse_until("2026-01-01T09:00:00") == datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
    assert parse_until("20240408T080910.123") == datetime(2024, 4, 8, 8, 9, 10, 123000, tzinfo=timezone.utc)
    assert parse_until("2025-01-01") == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert parse_until("2024-10-11T06:37:25+7:00") == datetime(2024, 10, 10, 23, 37, 25, tzinfo=timezone.utc)
    with pytest.raises(DelayError) as exc:
        parse_until("Mo-Fr 09:00-17:00")
    assert "opening hours" in str(exc.value)
    with pytest.raises(DelayError) as exc:
        parse_until("next tuesday")
    assert "not an ISO 8601 timestamp" in str(exc.value)


@settings(max_examples=150, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e7, allow_nan=False))
def test_hop_never_exceeds_sqs_limit_and_reaches_deadline(remaining):
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    until = now + timedelta(seconds=remaining)
    hop = next_hop_seconds(until, now)
    remaining = (until - now).total_seconds()  # what timedelta kept (microsecond resolution)
    assert 0 <= hop <= MAX_HOP_SECONDS
    assert (hop == 0) == (remaining <= 0)
    if 0 < remaining <= MAX_HOP_SECONDS:
        assert now + timedelta(seconds=hop) >= until  # the last hop lands at or after the deadline
