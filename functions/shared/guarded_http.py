"""The pinned HTTP client behind fetch-data and the webhook provider (the I/O half of the SSRF guard).

Every hop's URL is vetted by :mod:`functions.shared.address_policy` first; the connection then goes to
the vetted address itself (pinned: no second DNS lookup, so DNS rebinding cannot swap it), with the
name sent as Host and as TLS SNI. Redirects are followed by hand, at most :data:`MAX_REDIRECTS`, each
hop vetted again; ``Authorization``/``Cookie`` are dropped on a redirect to another origin.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping
from urllib.parse import urljoin

from functions.shared.address_policy import AddressRefused, Target, vet

__all__ = ["FetchError", "FetchTimeout", "FetchTooLarge", "FetchResult", "fetch", "MAX_REDIRECTS"]

MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """The fetch itself failed (connection, protocol); retryable from the caller's point of view."""


class FetchTimeout(FetchError):
    """The whole fetch (all hops, headers and body) took longer than the timeout."""


class FetchTooLarge(FetchError):
    """The response body is larger than ``max_bytes``."""


@dataclass(frozen=True)
class FetchResult:
    """The final response after redirects."""

    status: int
    headers: dict[str, str]
    body: bytes
    final_url: str
    hops: tuple[str, ...] = field(default=())

    def json(self) -> Any:
        """The body decoded as JSON."""
        import json

        return json.loads(self.body)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a vetted IP while speaking to ``host`` (Host header)."""

    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._pinned_ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._pinned_ip, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to a vetted IP; TLS SNI and certificate checks use ``host``."""

    def __init__(self, host: str, ip: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._pinned_ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._pinned_ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(method: str, url: str, *, json_body: Any = None, headers: Mapping[str, str] | None = None,
          timeout: float = 5.0, max_bytes: int = 1_048_576, allow: Iterable[tuple[str, int]] = frozenset(),
          resolver: Any = None, ssl_context: ssl.SSLContext | None = None) -> FetchResult:
    """Fetch ``url`` through the guard.

    Parameters
    ----------
    method
        ``GET`` or ``POST``.
    url
        The target; vetted (and every redirect hop vetted again) before any connection.
    json_body
        Sent as JSON with ``POST``.
    headers
        Extra request headers (``Host`` is always the URL's host; ``Authorization``/``Cookie`` are dropped
        on a redirect to another origin).
    timeout
        Seconds for the whole fetch, all hops included.
    max_bytes
        Body size cap, enforced while streaming.
    allow
        ``(host, port)`` pairs allowed past the guard (``Settings.fetch_allow``).

    Returns
    -------
    FetchResult

    Raises
    ------
    AddressRefused
        A hop's URL or address is refused, or more than :data:`MAX_REDIRECTS` redirects.
    FetchTimeout, FetchTooLarge, FetchError
        The fetch ran out of time, the body is too large, or the connection failed.
    """
    import json

    method = method.upper()
    if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise AddressRefused(f"method {method!r} is not allowed: only GET, POST, PUT, PATCH and DELETE")
    deadline = time.monotonic() + timeout
    body = None if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
    req_headers = {k: v for k, v in (headers or {}).items() if k.lower() not in ("host", "content-length")}
    if body is not None:
        req_headers.setdefault("Content-Type", "application/json")
    hops: list[str] = []
    current = url
    origin = None
    for _ in range(MAX_REDIRECTS + 1):
        target = vet(current, allow, resolver=resolver)
        if origin is not None and origin != (target.scheme, target.host, target.port):
            req_headers = {k: v for k, v in req_headers.items() if k.lower() not in ("authorization", "cookie")}
        origin = (target.scheme, target.host, target.port)
        hops.append(current)
        status, resp_headers, data = _one_request(target, method, body, req_headers, deadline, max_bytes, ssl_context)
        location = resp_headers.get("location")
        if status in _REDIRECTS and location:
            current = urljoin(current, location)
            if status == 303 or (status in (301, 302) and method != "GET"):
                method, body = "GET", None
                req_headers = {k: v for k, v in req_headers.items() if k.lower() != "content-type"}
            continue
        return FetchResult(status=status, headers=resp_headers, body=data, final_url=current, hops=tuple(hops))
    raise AddressRefused(f"more than {MAX_REDIRECTS} redirects (last to {current[:200]!r})")


def _one_request(target: Target, method: str, body: bytes | None, headers: Mapping[str, str], deadline: float,
                 max_bytes: int, ssl_context: ssl.SSLContext | None) -> tuple[int, dict[str, str], bytes]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchTimeout("fetch timed out before connecting")
    ip = target.ips[0]
    if target.scheme == "https":
        conn: http.client.HTTPConnection = _PinnedHTTPSConnection(
            target.host, ip, target.port, remaining, ssl_context or ssl.create_default_context())
    else:
        conn = _PinnedHTTPConnection(target.host, ip, target.port, remaining)
    try:
        conn.request(method, target.path, body=body, headers=dict(headers))
        resp = conn.getresponse()
        resp_headers = {k.lower(): v for k, v in resp.getheaders()}
        length = resp_headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchTooLarge(f"response of {length} bytes is over the {max_bytes}-byte cap")
        chunks: list[bytes] = []
        size = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FetchTimeout("fetch timed out while reading the body")
            if conn.sock is not None:
                conn.sock.settimeout(left)
            chunk = resp.read1(65_536) if hasattr(resp, "read1") else resp.read(65_536)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise FetchTooLarge(f"response is over the {max_bytes}-byte cap")
            chunks.append(chunk)
        return resp.status, resp_headers, b"".join(chunks)
    except (socket.timeout, TimeoutError) as exc:
        raise FetchTimeout(f"fetch of {target.host}:{target.port} timed out") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"fetch of {target.host}:{target.port} failed: {exc}") from exc
    except ValueError as exc:  # http.client refuses header names/values with line breaks
        raise FetchError(f"fetch of {target.host}:{target.port}: invalid request: {exc}") from exc
    finally:
        conn.close()
