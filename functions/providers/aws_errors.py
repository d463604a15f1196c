"""What an AWS SDK error says about a delivery: its code, and whether another attempt may succeed."""
from __future__ import annotations

__all__ = ["error_code", "error_message", "is_transient", "TRANSIENT_CODES"]

# Throttling and server-side failures every AWS API may answer; a provider adds its own codes.
TRANSIENT_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "InternalFailure", "InternalError", "InternalErrorException", "ServiceUnavailable",
    "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
})


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ``botocore`` ``ClientError`` (``""`` for anything else)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", "") or "")


def error_message(exc: BaseException) -> str:
    """``"<code>: <message>"`` of a ``ClientError``, else ``"<type>: <text>"``."""
    code = error_code(exc)
    if code:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message", "") or ""
        return f"{code}: {message}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def is_transient(exc: BaseException, extra_codes: frozenset[str] = frozenset()) -> bool:
    """Throttling, a 5xx, or a connection that failed or timed out (worth another attempt)."""
    code = error_code(exc)
    if code:
        status = int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code in TRANSIENT_CODES or code in extra_codes or status >= 500
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover - boto3 is a runtime dependency
        return isinstance(exc, OSError)
    return isinstance(exc, (BotoConnectionError, HTTPClientError, OSError))
