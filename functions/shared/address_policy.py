"""The SSRF address policy: which URLs and addresses relay may fetch (no connection is ever made here).

A URL passes only if every address its host resolves to is globally routable; only ``(host, port)``
pairs in ``allow`` (the stage's ``FETCH_ALLOW``; empty by default) may reach non-global addresses.
:mod:`functions.shared.guarded_http` then connects to the vetted address itself (pinned).

Refused: loopback, RFC 1918 and other private/special-purpose ranges, carrier-grade NAT 100.64/10,
link-local (169.254/16 with the cloud metadata address, fe80::/10), unique-local fc00::/7, unspecified,
multicast, reserved, and IPv6 forms that embed an IPv4 address (IPv4-mapped and -compatible, NAT64
64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32) when the embedded address is refused. Numeric hosts are
read the way a resolver or browser would (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``,
``0``), so no spelling slips past as a "name". Credentials in the URL are refused outright: they are
the classic ``http://good@127.0.0.1`` disguise and belong in headers. Resolving a name is the one
look-up it makes (``resolver``, default :func:`socket.getaddrinfo`), and tests pass their own.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

__all__ = ["AddressRefused", "Target", "IPAddress", "check_url", "vet", "refusal_reason", "parse_numeric_host"]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIXTOFOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_BAD_HOST_CHARS = re.compile(r"[\s\\%@/?#\x00-\x1f\x7f]")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """The guard refused a URL before any connection; the message says which host/address and why."""


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (``ips``, pinned) and what to call it (``host``, Host/SNI)."""

    scheme: str
    host: str
    port: int
    ips: tuple[str, ...]
    path: str
    allowed: bool = False



def parse_numeric_host(host: str) -> IPAddress | None:
    """Read ``host`` as an IP address in any spelling a resolver accepts, or ``None`` for a real name.

    Handles IPv6 literals and the inet_aton IPv4 forms: 1-4 dot-separated parts, each decimal, ``0x`` hex
    or leading-zero octal, the last part filling the remaining bytes (``127.1``, ``2130706433``).

    Raises
    ------
    AddressRefused
        For a host that looks numeric but is not a valid address (``1.2.3.999``, ``0x``): a resolver
        might still read it some way, so it is never treated as a name.
    """
    h = host.strip("[]")
    if ":" in h:
        try:
            return ipaddress.IPv6Address(h)
        except ValueError:
            raise AddressRefused(f"host {host!r} is not a valid IPv6 address") from None
    parts = h.split(".")
    if parts and parts[-1] == "":
        parts = parts[:-1]  # "127.0.0.1." is the same address
    if not parts or not all(re.fullmatch(r"0[xX][0-9a-fA-F]*|[0-9]+", p) for p in parts):
        # The last label decides (WHATWG "ends in a number"): "1.2.3.foo" is a name, "foo.0x1" is not.
        if parts and re.fullmatch(r"0[xX][0-9a-fA-F]*|[0-9]+", parts[-1]):
            raise AddressRefused(f"host {host!r} ends in a number but is not an IP address")
        return None
    if len(parts) > 4:
        raise AddressRefused(f"host {host!r} has more than 4 numeric parts")
    values: list[int] = []
    for p in parts:
        if p[:2].lower() == "0x":
            values.append(int(p[2:] or "0", 16))
        elif len(p) > 1 and p.startswith("0"):
            if not re.fullmatch(r"[0-7]+", p):
                raise AddressRefused(f"host {host!r}: {p!r} is not a valid octal number")
            values.append(int(p, 8))
        else:
            values.append(int(p))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        raise AddressRefused(f"host {host!r} is out of range for an IPv4 address")
    number = last
    for i, v in enumerate(head):
        number |= v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    packed = ip.packed
    if packed[:12] == bytes(12) and int(ip) > 1:
        found.append(("IPv4-compatible", ipaddress.IPv4Address(packed[12:])))
    if ip in _NAT64:
        found.append(("NAT64", ipaddress.IPv4Address(packed[12:])))
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo server", server), ("Teredo client", client)]
    return found


def refusal_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be fetched, or ``None`` when it is globally routable."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "an IPv6 address with a zone id"
        for kind, v4 in _embedded_v4(ip):
            reason = refusal_reason(v4)
            if reason:
                return f"{kind} embedding {v4}, {reason}"
        if ip in _NAT64_LOCAL:
            return "local-use NAT64 (64:ff9b:1::/48)"
        if ip.is_site_local:
            return "site-local (fec0::/10)"
    if ip.is_unspecified:
        return "unspecified (0.0.0.0 / ::)"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (169.254.0.0/16 incl. the cloud metadata address 169.254.169.254, fe80::/10)"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT (100.64.0.0/10)"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"):
        return "unique-local (fc00::/7)"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("0.0.0.0/8"):
        return "'this network' (0.0.0.0/8)"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


def _normalise_host(raw: str) -> str:
    host = raw.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    while host.endswith(".") and host != ".":
        host = host[:-1]
    return host


def check_url(url: str, allow: Iterable[tuple[str, int]] = frozenset(), *,
              resolver: Any = None) -> tuple[str, int, list[str]]:
    """Vet ``url`` and resolve its host.

    Parameters
    ----------
    url
        An ``http://`` or ``https://`` URL.
    allow
        ``(host, port)`` pairs allowed to reach non-global addresses (hosts lower-case, no brackets).
    resolver
        ``getaddrinfo``-compatible callable; default :func:`socket.getaddrinfo` (tests monkeypatch it).

    Returns
    -------
    tuple
        ``(host, port, [ip, ...])`` — every address the host resolves to, all vetted.

    Raises
    ------
    AddressRefused
        Bad scheme, credentials in the URL, malformed host or port, a host that does not resolve, or any
        resolved address that is not globally routable (unless allowed); the message says why.
    """
    target = vet(url, allow, resolver=resolver)
    return target.host, target.port, list(target.ips)


def vet(url: str, allow: Iterable[tuple[str, int]] = frozenset(), *, resolver: Any = None) -> Target:
    """Like :func:`check_url`, returning the full :class:`Target` (the fetcher connects to ``ips[0]``)."""
    if not isinstance(url, str) or len(url) > 4096:
        raise AddressRefused("url must be a string of at most 4096 characters")
    if re.search(r"[\s\\\x00-\x1f\x7f]", url):
        raise AddressRefused(f"url {url[:100]!r} contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port_raw = parts.port
    except ValueError as exc:
        raise AddressRefused(f"url {url[:100]!r} is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise AddressRefused(f"scheme {scheme or '(none)'!r} is not allowed: only http and https")
    if "@" in parts.netloc:
        raise AddressRefused("credentials in the URL (user@host) are not allowed: send them as a header")
    raw_host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    if parts.netloc.startswith("["):
        raw_host = parts.netloc[: parts.netloc.index("]") + 1]
    host = _normalise_host(raw_host)
    if not host or host == "." or _BAD_HOST_CHARS.search(host):
        raise AddressRefused(f"url {url[:100]!r} has no valid host")
    port = port_raw if port_raw is not None else (443 if scheme == "https" else 80)
    if not 1 <= port <= 65535:
        raise AddressRefused(f"port {port} is out of range")

    numeric = parse_numeric_host(host)
    if numeric is not None:
        host = str(numeric)
    allow_set = {(_normalise_host(h), int(p)) for h, p in allow}
    allowed = (host, port) in allow_set
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query

    folded: IPAddress | None = None
    if numeric is not None:
        ips = [numeric]
    else:
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise AddressRefused(f"host {host!r} is not a valid domain name") from None
        host = ascii_host
        allowed = allowed or (host, port) in allow_set
        # IDNA folds look-alikes ("１２７.０.０.１" → "127.0.0.1"): read the folded form as a number again
        folded = parse_numeric_host(host)
        if folded is not None:
            host = str(folded)
            allowed = (host, port) in allow_set
            ips = [folded]
    if numeric is None and folded is None:
        resolve = resolver or socket.getaddrinfo
        try:
            infos = resolve(host, port, 0, socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError) as exc:
            raise AddressRefused(f"host {host!r} does not resolve: {exc}") from None
        ips = []
        for info in infos:
            addr = info[4][0]
            try:
                ip = ipaddress.ip_address(addr)
            except ValueError:
                raise AddressRefused(f"host {host!r} resolved to a non-IP address {addr!r}") from None
            if ip not in ips:
                ips.append(ip)
        if not ips:
            raise AddressRefused(f"host {host!r} resolved to no address")
    if not allowed:
        for ip in ips:
            reason = refusal_reason(ip)
            if reason:
                shown = host if str(ip) == host else f"{host} ({ip})"
                entry = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                raise AddressRefused(f"address {shown} is refused: {reason}; "
                                     f"allow it with FETCH_ALLOW={entry} if this is intended")
    return Target(scheme=scheme, host=host, port=port, ips=tuple(str(i) for i in ips), path=path, allowed=allowed)

