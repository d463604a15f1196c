"""``relay keys``: create, list and revoke a stage's API keys.

The stage is found as the console finds it: SSM ``/relay/<stage>/outputs`` names its state table. AWS
access is whatever boto3 finds (profile, environment, SSO; ``AWS_ENDPOINT_URL`` for the local stage's
emulator). The key items and the verbs are :mod:`functions.api.keys`, the same ones the console and the
local stage use. A new key is printed once, alone on the last line, so ``KEY=$(relay keys create … | tail -1)``
works; nothing else ever prints or stores it.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, TextIO

from functions.api.auth import CACHE_TTL_S, SCOPES

__all__ = ["add_parser", "run_keys", "StageNotFound"]


class StageNotFound(LookupError):
    """No ``/relay/<stage>/outputs`` parameter where the credentials point."""


def add_parser(sub: Any) -> None:
    """Add ``relay keys {create,list,revoke}`` to the ``relay`` command's subparsers."""
    keys = sub.add_parser("keys", help="create, list and revoke a stage's API keys")
    verbs = keys.add_subparsers(dest="verb", required=True)
    for verb, what in (("create", "create a key (printed once, on the last line)"), ("list", "list the keys"),
                       ("revoke", "revoke a key by name (effective within a minute)")):
        p = verbs.add_parser(verb, help=what)
        p.add_argument("--stage", required=True, help="dev, prod, local… (found from SSM /relay/<stage>/outputs)")
        p.add_argument("--region", default=None, help="AWS region of the stage (default: your AWS configuration)")
        if verb != "list":
            p.add_argument("--name", required=True, help="the key's name: who or what uses it (e.g. billing-service)")
        if verb == "create":
            p.add_argument("--scopes", default=",".join(SCOPES),
                           help=f"comma-separated, from {', '.join(SCOPES)} (default: all)")
        if verb == "list":
            p.add_argument("--json", action="store_true", help="machine-readable output")


def _clients(region: str | None) -> Callable[[str], Any]:
    import boto3

    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    return session.client


def state_table(ssm: Any, stage: str) -> str:
    """The stage's state table, from its published outputs.

    Raises
    ------
    StageNotFound
        The outputs parameter does not exist.
    """
    name = f"/relay/{stage}/outputs"
    try:
        raw = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ParameterNotFound":
            raise StageNotFound(f"no stage {stage!r}: SSM parameter {name} does not exist where your AWS "
                                "credentials and region point (deployed? AWS_ENDPOINT_URL for the local stage?)") from None
        raise
    return str(json.loads(raw)["state_table"])


def run_keys(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
             clients: Callable[[str], Any] | None = None) -> int:
    """Run one ``relay keys`` verb; 0 on success, 1 when the stage or the key is not there or a name is bad."""
    from functions.api import keys

    client = clients or _clients(args.region)
    try:
        table = state_table(client("ssm"), args.stage)
        ddb = client("dynamodb")
        if args.verb == "create":
            secret, key = keys.create_key(ddb, table, args.name, args.scopes)
            print(f"created API key {key.name!r} for stage {args.stage} (scopes {','.join(key.scopes)}). It is shown "
                  "only this once and stored only as a hash: keep it in your secret store.", file=out)
            print(secret, file=out)
        elif args.verb == "list":
            _print_list(keys.list_keys(ddb, table), args.json, out)
        else:
            key = keys.revoke_key(ddb, table, args.name)
            print(f"revoked API key {key.name!r} of stage {args.stage} at {key.revoked_at}; the API refuses it "
                  f"within {CACHE_TTL_S:.0f} s (each API container caches what it read about a key that long)",
                  file=out)
    except (StageNotFound, keys.KeyNotFound, keys.KeyNameTaken, keys.InvalidKeyName, ValueError) as exc:
        print(f"relay keys {args.verb}: {exc}", file=err)
        return 1
    return 0


def _print_list(found: list[Any], as_json: bool, out: TextIO) -> None:
    rows = [{"name": k.name, "scopes": list(k.scopes), "createdAt": k.created_at, "lastUsedAt": k.last_used_at,
             "revokedAt": k.revoked_at} for k in found]
    if as_json:
        print(json.dumps(rows, indent=2), file=out)
        return
    if not rows:
        print("no API keys", file=out)
        return
    header = ("name", "scopes", "created", "last used", "revoked")
    table = [header] + [(r["name"], ",".join(r["scopes"]), r["createdAt"], r["lastUsedAt"] or "never",
                         r["revokedAt"] or "-") for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip(), file=out)
