"""API key items in the state table, and the verbs that manage them: create, list, revoke.

The one home of the layout (docs/CONTRACTS.md, "state"): the API's adapter reads it, and ``relay keys``,
the console and the local stage manage keys through these verbs, each with the low-level DynamoDB client
it was given (so the CLI's credentials, the console's clients and the emulator all work alike).

- ``APIKEY#<sha256>/KEY`` — ``name, scopes, createdAt, lastUsedAt?, revokedAt?``: what the API reads by
  the hash of the key it was sent. ``lastUsedAt`` lives here because the API only knows the hash.
- ``APIKEYS/NAME#<name>`` — ``name, keyHash, scopes, createdAt, revokedAt?``: the list by name. One
  partition is enough: a stage has a handful of keys, and the API never reads it.

Both items are written in one transaction, so a key is never listed without being usable or the other way
round. A name is unique among live keys; revoking a key frees its name (the revoked key's own item stays,
so it keeps answering 401).
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from functions.api.auth import SCOPES, ApiKey, MAX_NAME_LENGTH, hash_key, new_key, parse_scopes
from functions.shared.dynamo_values import item_to_plain, plain_to_item

__all__ = ["create_key", "list_keys", "revoke_key", "key_from_item", "key_item_key", "KeyNameTaken", "KeyNotFound",
           "InvalidKeyName", "LIST_PK"]

LIST_PK = "APIKEYS"
_NAME = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_NAME_LENGTH - 1}}}$")


class KeyNameTaken(ValueError):
    """A live key already has this name."""


class KeyNotFound(LookupError):
    """No key has this name."""


class InvalidKeyName(ValueError):
    """A name that is not 1–64 letters, digits, ``.``, ``_`` or ``-`` (starting with a letter or digit)."""


def key_item_key(key_hash: str) -> dict[str, Any]:
    """The low-level primary key of ``APIKEY#<sha256>/KEY``."""
    return {"pk": {"S": f"APIKEY#{key_hash}"}, "sk": {"S": "KEY"}}


def _name_item_key(name: str) -> dict[str, Any]:
    return {"pk": {"S": LIST_PK}, "sk": {"S": f"NAME#{name}"}}


def key_from_item(item: Mapping[str, Any], key_hash: str | None = None) -> ApiKey:
    """A plain ``APIKEY#…/KEY`` or ``APIKEYS/NAME#…`` item → :class:`ApiKey`."""
    digest = key_hash or str(item.get("keyHash") or str(item.get("pk", "")).removeprefix("APIKEY#"))
    return ApiKey(name=str(item.get("name", "")), scopes=tuple(s for s in SCOPES if s in (item.get("scopes") or [])),
                  key_hash=digest, created_at=str(item.get("createdAt", "")),
                  last_used_at=item.get("lastUsedAt") or None, revoked_at=item.get("revokedAt") or None)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidKeyName(f"key name {name!r}: 1 to {MAX_NAME_LENGTH} letters, digits, '.', '_' or '-', "
                             "starting with a letter or digit")
    return name


def create_key(ddb: Any, table: str, name: str, scopes: Iterable[str] | str = SCOPES,
               now: str | None = None) -> tuple[str, ApiKey]:
    """Create a key named ``name``; returns the key itself (shown once, never stored) and what is stored.

    Raises
    ------
    InvalidKeyName, ValueError
        A bad name, or unknown scopes.
    KeyNameTaken
        A live key already has the name.
    """
    _check_name(name)
    chosen = parse_scopes(scopes if isinstance(scopes, str) else tuple(scopes))
    secret = new_key()
    stored = ApiKey(name=name, scopes=chosen, key_hash=hash_key(secret), created_at=now or _now_iso())
    common = {"name": name, "scopes": list(chosen), "createdAt": stored.created_at}
    try:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table,
                     "Item": {**_name_item_key(name), **plain_to_item({**common, "keyHash": stored.key_hash})},
                     # a revoked key's name can be given to a new key
                     "ConditionExpression": "attribute_not_exists(pk) OR attribute_exists(revokedAt)"}},
            {"Put": {"TableName": table, "Item": {**key_item_key(stored.key_hash), **plain_to_item(common)},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    except Exception as exc:
        if _code(exc) == "TransactionCanceledException":
            raise KeyNameTaken(f"an API key named {name!r} exists; revoke it first or choose another name") from None
        raise
    return secret, stored


def list_keys(ddb: Any, table: str) -> list[ApiKey]:
    """Every key of the stage, by name (revoked ones too), with ``lastUsedAt`` from the items the API writes."""
    names: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "KeyConditionExpression": "pk = :pk",
                              "ExpressionAttributeValues": {":pk": {"S": LIST_PK}}, "ConsistentRead": True}
    while True:
        page = ddb.query(**kwargs)
        names += [item_to_plain(i) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    by_hash = _key_items(ddb, table, [str(n["keyHash"]) for n in names])
    keys = []
    for n in names:
        item = by_hash.get(str(n["keyHash"]), {})
        keys.append(key_from_item({**n, **{k: item[k] for k in ("lastUsedAt", "revokedAt") if item.get(k)}},
                                  str(n["keyHash"])))
    return sorted(keys, key=lambda k: k.name)


def _key_items(ddb: Any, table: str, hashes: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(hashes), 100):  # BatchGetItem reads at most 100 keys per call
        request: dict[str, Any] = {table: {"Keys": [key_item_key(h) for h in hashes[i:i + 100]], "ConsistentRead": True}}
        for _ in range(10):
            resp = ddb.batch_get_item(RequestItems=request)
            for raw in resp.get("Responses", {}).get(table, []):
                item = item_to_plain(raw)
                out[str(item["pk"]).removeprefix("APIKEY#")] = item
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05)
    return out


def revoke_key(ddb: Any, table: str, name: str, now: str | None = None) -> ApiKey:
    """Revoke the live key named ``name`` (both items in one transaction); revoking twice changes nothing.

    Raises
    ------
    KeyNotFound
        No key has that name.
    """
    _check_name(name)
    found = ddb.get_item(TableName=table, Key=_name_item_key(name), ConsistentRead=True).get("Item")
    if not found:
        raise KeyNotFound(f"no API key named {name!r}")
    key = key_from_item(item_to_plain(found))
    if key.revoked:
        return key
    at = now or _now_iso()
    update = {"UpdateExpression": "SET revokedAt = :at", "ExpressionAttributeValues": {":at": {"S": at}},
              "ConditionExpression": "attribute_exists(pk)"}
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": table, "Key": _name_item_key(name), **update}},
        {"Update": {"TableName": table, "Key": key_item_key(key.key_hash), **update}},
    ])
    return ApiKey(name=key.name, scopes=key.scopes, key_hash=key.key_hash, created_at=key.created_at,
                  last_used_at=key.last_used_at, revoked_at=at)
