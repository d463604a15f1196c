"""The runs list's window search (pure, on a fake store): newest first, every run once, however dense."""
from __future__ import annotations

from typing import Any

from functions.api.ports import CourierStore
from functions.api.runs import list_runs
from functions.api.service import ApiPorts
from functions.shared.ids import new_ulid

NOW_MS = 1_800_000_000_000


class Keys(CourierStore):
    """Only the run listing is real; ``calls`` counts the S3 listings a page made."""

    def __init__(self, run_ids: list[str]) -> None:
        self.ids, self.calls = sorted(run_ids), 0

    def run_keys(self, start_after: str, end_before: str, max_keys: int) -> tuple[list[str], bool]:
        self.calls += 1
        after = [i for i in self.ids if i > start_after]
        page = after[:max_keys]
        within = [i for i in page if i < end_before]
        return within, len(after) > max_keys and len(within) == len(page)

    def run_items(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {}

    # what the run listing never touches
    def view(self, message_id: str) -> None: return None  # noqa: E704
    def timeline(self, message_id: str) -> list: return []  # noqa: E704
    def query_views(self, *a: Any, **k: Any) -> tuple: return [], None  # noqa: E704
    def get_send(self, request_id: str) -> None: return None  # noqa: E704
    def cancel(self, request_id: str, now_iso: str) -> None: return None  # noqa: E704
    def canceled(self, request_id: str) -> bool: return False  # noqa: E704
    def get_profile(self, user_id: str) -> None: return None  # noqa: E704
    def put_profile(self, user_id: str, profile: dict, now_iso: str) -> None: return None  # noqa: E704
    def delete_profile(self, user_id: str) -> None: return None  # noqa: E704
    def named(self, prefix: str, name: str) -> None: return None  # noqa: E704


def _ports(store: Keys) -> ApiPorts:
    return ApiPorts(store=None, idempotency=None, reads=None, now_s=lambda: NOW_MS // 1000,  # type: ignore[arg-type]
                    new_request_id=str, new_run_id=str, courier=store)


def _walk(store: Keys, limit: int) -> list[str]:
    seen, cursor = [], None
    for _ in range(100):
        _, body, _ = list_runs({"limit": str(limit), **({"cursor": cursor} if cursor else {})}, _ports(store))
        seen += [r["run_id"] for r in body["runs"]]
        cursor = body.get("next_cursor")
        if not cursor:
            return seen
    raise AssertionError("did not finish")


def test_sparse_runs_over_weeks_listed_newest_first_once() -> None:
    ids = [f"run_{new_ulid(NOW_MS - n * 3 * 86_400_000)}" for n in range(12)]
    assert _walk(Keys(ids), 5) == sorted(ids, reverse=True)


def test_a_burst_denser_than_one_listing_is_listed_newest_first_once() -> None:
    ids = [f"run_{new_ulid(NOW_MS - 5_000 + n % 50)}" for n in range(2_500)]  # 2,500 runs in 50 ms
    ids += [f"run_{new_ulid(NOW_MS - 86_400_000)}"]
    store = Keys(ids)
    seen = _walk(store, 50)
    assert seen == sorted(ids, reverse=True) and len(set(seen)) == len(ids)


def test_first_page_of_a_busy_stage_needs_few_listings() -> None:
    ids = [f"run_{new_ulid(NOW_MS - n * 1_000)}" for n in range(3_000)]  # one run a second for 50 minutes
    store = Keys(ids)
    _, body, _ = list_runs({"limit": "20"}, _ports(store))
    assert [r["run_id"] for r in body["runs"]] == sorted(ids, reverse=True)[:20] and store.calls <= 6
