"""``relay templates`` and ``relay automations``: named notification templates and automation templates.

``relay templates put --stage S NAME FILE`` stores ``templates/<NAME>.json`` in the stage's request store (what
``message.template`` names); ``relay automations put --stage S NAME FILE`` stores
``automation-templates/<NAME>.json`` (what ``POST /automations/{NAME}/invoke`` and an ``invoke`` step with
``template`` run). ``list`` shows the names. Each document is checked before it is stored, with the same
rules the API applies, so a broken template is refused here rather than failing a send later.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, TextIO

__all__ = ["add_parsers", "run_templates", "check_template", "check_automation", "list_named"]

_PREFIX = {"templates": "templates", "automations": "automation-templates"}


def add_parsers(sub: Any) -> None:
    """Add ``relay templates {put,list}`` and ``relay automations {put,list}``."""
    for command, what in (("templates", "notification templates (message.template)"),
                          ("automations", "automation templates (POST /automations/{name}/invoke)")):
        parser = sub.add_parser(command, help=f"store and list {what}")
        verbs = parser.add_subparsers(dest="verb", required=True)
        put = verbs.add_parser("put", help="store NAME from a JSON FILE (checked first)")
        put.add_argument("--stage", required=True)
        put.add_argument("--region", default=None)
        put.add_argument("name")
        put.add_argument("file")
        listing = verbs.add_parser("list", help="the stored names")
        listing.add_argument("--stage", required=True)
        listing.add_argument("--region", default=None)


def check_template(doc: Any) -> list[str]:
    """Why a notification template cannot be stored (empty: it can): Elemental, or ``{title?, body, channels?}``."""
    from functions.shared.elemental import check_elemental, is_elemental

    if not isinstance(doc, dict):
        return ["a template is a JSON object"]
    if is_elemental(doc):
        return check_elemental(doc)
    errors = [f"{k}: not a template field (title, body, channels, or Elemental's version and elements)"
              for k in doc if k not in ("title", "body", "channels")]
    if not isinstance(doc.get("body"), str) or not doc.get("body"):
        errors.append("body: required, a string")
    for channel, part in (doc.get("channels") or {}).items():
        if not isinstance(part, dict) or not set(part) <= {"title", "body"}:
            errors.append(f"channels.{channel}: an object with title and/or body")
    return errors


def check_automation(doc: Any) -> list[str]:
    """Why an automation template cannot be stored: it must be a valid ``automation`` of an invoke."""
    from pydantic import ValidationError

    from functions.automations.schema import Automation

    try:
        Automation.model_validate(doc)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []


def list_named(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The names stored under ``<prefix>/`` (the console lists them the same way)."""
    names: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
        names += [o["Key"][len(prefix) + 1:-5] for o in page.get("Contents", []) if o["Key"].endswith(".json")]
    return sorted(names)


def _bucket(ssm: Any, stage: str) -> str:
    from relay.api_keys import state_table  # the same lookup as `relay keys`

    state_table(ssm, stage)  # raises StageNotFound with the message users know
    return str(json.loads(ssm.get_parameter(Name=f"/relay/{stage}/outputs")["Parameter"]["Value"])["request_bucket"])


def run_templates(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                  clients: Callable[[str], Any] | None = None) -> int:
    """Run one verb; 0 on success, 1 when the stage is missing or the document is refused."""
    from relay.api_keys import StageNotFound, _clients
    from functions.shared.request_store import named_key

    client = clients or _clients(args.region)
    prefix = _PREFIX[args.command]
    try:
        bucket = _bucket(client("ssm"), args.stage)
        if args.verb == "list":
            for name in list_named(client("s3"), bucket, prefix):
                print(name, file=out)
            return 0
        with open(args.file, encoding="utf-8") as fh:
            doc = json.load(fh)
        errors = (check_template if args.command == "templates" else check_automation)(doc)
        if errors:
            print(f"relay {args.command} put: {args.file} is refused:", file=err)
            for e in errors[:50]:
                print(f"  {e}", file=err)
            return 1
        key = named_key(prefix, args.name)
        if key is None:
            raise ValueError(f"name {args.name!r} must be 1-200 letters, digits, '_', '-' or '.', starting with a "
                             "letter or digit")
        client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(doc, separators=(",", ":")).encode(),
                                ContentType="application/json")
        print(f"stored s3://{bucket}/{key}", file=out)
    except (StageNotFound, ValueError, OSError) as exc:
        print(f"relay {args.command} {args.verb}: {exc}", file=err)
        return 1
    return 0
