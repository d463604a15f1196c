"""The SSRF guard for fetch-data and the webhook provider: one import path for both of its halves.

:mod:`functions.shared.address_policy` decides what may be fetched (pure but for the name look-up);
:mod:`functions.shared.guarded_http` fetches it, pinned to the vetted address. Import from here when
you need both, or from the half you need.
"""
from __future__ import annotations

from functions.shared.address_policy import (
    AddressRefused, IPAddress, Target, check_url, parse_numeric_host, refusal_reason, vet,
)
from functions.shared.guarded_http import (
    MAX_REDIRECTS, FetchError, FetchResult, FetchTimeout, FetchTooLarge, fetch,
)

__all__ = [
    "AddressRefused", "FetchError", "FetchTimeout", "FetchTooLarge", "FetchResult", "Target", "IPAddress",
    "check_url", "vet", "refusal_reason", "parse_numeric_host", "fetch", "MAX_REDIRECTS",
]
