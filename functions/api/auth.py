"""API keys: the auth rule every route passes (pure: the key store is a port, the clock is injected).

Every route wants ``Authorization: Bearer <key>``. No key, an unknown key or a revoked key is **401**
``unauthorized`` with ``WWW-Authenticate: Bearer``; a key without the route's scope is **403**
``forbidden``. Scopes: ``send`` for every route that changes something (POST, PUT, DELETE, actions),
``read`` for every route that only reads (the route table names each route's scope).

A key is ``relay_`` + 32 random bytes (``secrets.token_urlsafe``): shown once when it is created, stored
only as its sha256 (``APIKEY#<sha256>/KEY`` in the state table, docs/CONTRACTS.md). sha256 and not a slow
password hash on purpose: a slow hash (bcrypt, scrypt, argon2) makes guessing a *low-entropy* secret
expensive, but a 256-bit random key cannot be guessed at any speed, and a fast, unsalted hash lets the
API find the key by its hash in one read.

:class:`KeyAuthenticator` keeps a short lookup cache per container (:data:`CACHE_TTL_S`, so a revocation
reaches every container within that time) and writes a key's ``lastUsedAt`` at most once a minute
(:data:`LAST_USED_EVERY_S`), not on every request.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from functions.api.events import ApiError
from functions.api.ports import ApiKeyStore

__all__ = ["ApiKey", "KeyAuthenticator", "new_key", "hash_key", "parse_scopes", "bearer_token", "KEY_PREFIX",
           "SCOPE_SEND", "SCOPE_READ", "SCOPES", "CACHE_TTL_S", "LAST_USED_EVERY_S", "MAX_NAME_LENGTH"]

KEY_PREFIX = "relay_"  # recognisable in a leaked config or log line, and by secret scanners
SCOPE_SEND, SCOPE_READ = "send", "read"
SCOPES = (SCOPE_SEND, SCOPE_READ)
# how long a container trusts what it read about a key: a revoked key stops working within this
CACHE_TTL_S = 30.0
# a key's lastUsedAt is written at most this often per container (and not when the stored value is newer)
LAST_USED_EVERY_S = 60.0
CACHE_ENTRIES = 1024  # bounded: a stream of random bearer tokens cannot grow the cache without end
MAX_NAME_LENGTH = 64
_TOKEN_BYTES = 32


@dataclass(frozen=True)
class ApiKey:
    """What is stored about a key: never the key itself."""

    name: str
    scopes: tuple[str, ...]
    key_hash: str
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def new_key() -> str:
    """A new random key: ``relay_`` + 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def hash_key(key: str) -> str:
    """The key's stored form: sha256, hex (see the module docstring for why a fast hash is right here)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_scopes(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"send,read"`` (or a list) → ``("send", "read")`` in canonical order.

    Raises
    ------
    ValueError
        An unknown or empty scope list; the message names the scopes there are.
    """
    items = [s.strip().lower() for s in (raw.split(",") if isinstance(raw, str) else raw)]
    items = [s for s in items if s]
    unknown = sorted(set(items) - set(SCOPES))
    if unknown or not items:
        raise ValueError(f"scopes must be a non-empty list of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    return tuple(s for s in SCOPES if s in items)


def _unauthorized(message: str, invalid: bool) -> ApiError:
    # RFC 6750: a request without credentials gets the bare challenge; a bad token names the error
    challenge = 'Bearer error="invalid_token"' if invalid else "Bearer"
    return ApiError(401, "unauthorized", message, headers={"www-authenticate": challenge})


def bearer_token(authorization: str | None) -> str:
    """The key in an ``Authorization: Bearer <key>`` header.

    Raises
    ------
    ApiError
        401 ``unauthorized`` when the header is missing or not a bearer token.
    """
    if not authorization or not authorization.strip():
        raise _unauthorized("missing API key: send Authorization: Bearer <key>", invalid=False)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise _unauthorized("Authorization must be 'Bearer <key>'", invalid=True)
    return token


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class KeyAuthenticator:
    """The auth rule, with its per-container memory (lookups cached briefly, last-used writes throttled).

    Parameters
    ----------
    store
        Where keys are looked up by hash and marked used.
    clock
        Monotonic seconds, for the cache's age.
    wall
        Epoch seconds, for ``lastUsedAt``.
    cache_ttl_s, last_used_every_s
        See :data:`CACHE_TTL_S` and :data:`LAST_USED_EVERY_S`.
    warn
        Told when writing ``lastUsedAt`` failed (the request goes on: bookkeeping never fails a caller).
    """

    def __init__(self, store: ApiKeyStore, *, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, cache_ttl_s: float = CACHE_TTL_S,
                 last_used_every_s: float = LAST_USED_EVERY_S, cache_entries: int = CACHE_ENTRIES,
                 warn: Callable[[str], None] = lambda _message: None) -> None:
        self._store = store
        self._warn = warn
        self._clock, self._wall = clock, wall
        self._ttl, self._touch_every, self._max = cache_ttl_s, last_used_every_s, cache_entries
        self._cache: OrderedDict[str, tuple[float, ApiKey | None]] = OrderedDict()
        self._touched: dict[str, float] = {}  # key hash → wall time this container last wrote lastUsedAt
        # the local stage runs concurrent invocations of one container's module in threads
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> ApiKey:
        """The stored key an ``Authorization`` header names, marked used.

        Raises
        ------
        ApiError
            401 ``unauthorized``: no bearer key, an unknown key, or a revoked one.
        """
        token = bearer_token(authorization)
        key = self._find(hash_key(token))
        if key is None:
            raise _unauthorized("API key is not valid", invalid=True)
        if key.revoked:
            raise _unauthorized(f"API key {key.name!r} was revoked", invalid=True)
        self._mark_used(key)
        return key

    @staticmethod
    def authorize(key: ApiKey, scope: str, what: str) -> None:
        """Check that ``key`` carries ``scope`` for ``what`` (``"POST /send"``).

        Raises
        ------
        ApiError
            403 ``forbidden``, naming the scope the route needs.
        """
        if scope not in key.scopes:
            raise ApiError(403, "forbidden", f"API key {key.name!r} lacks the {scope!r} scope that {what} needs",
                           headers={"www-authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})

    def forget(self) -> None:
        """Drop the cache (tests, and a container that wants to see a change at once)."""
        with self._lock:
            self._cache.clear()
            self._touched.clear()

    def _find(self, key_hash: str) -> ApiKey | None:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key_hash)
            if hit is not None and now - hit[0] < self._ttl:
                self._cache.move_to_end(key_hash)
                return hit[1]
        key = self._store.find(key_hash)  # outside the lock: one slow read must not stall other threads
        with self._lock:
            self._cache[key_hash] = (now, key)
            self._cache.move_to_end(key_hash)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return key

    def _mark_used(self, key: ApiKey) -> None:
        now = self._wall()
        with self._lock:
            stored = _epoch(key.last_used_at)
            last = max(self._touched.get(key.key_hash, float("-inf")), stored if stored is not None else float("-inf"))
            if now - last < self._touch_every:
                return
            self._touched[key.key_hash] = now
            if len(self._touched) > self._max:
                self._touched.pop(next(iter(self._touched)))
        try:
            self._store.mark_used(key.key_hash, _iso(now))
        except Exception as exc:  # noqa: BLE001 - try again on the next request instead of failing this one
            with self._lock:
                self._touched.pop(key.key_hash, None)
            self._warn(f"could not record lastUsedAt of API key {key.name!r}: {type(exc).__name__}: {exc}")
