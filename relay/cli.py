"""The ``relay`` command.

``relay up``        start the local stage (emulated AWS + the Pulumi program deployed into it + the local
                    Lambda data plane + the HTTP API), optionally demo traffic and the console.
``relay capacity``  the cost and capacity model for a stage.
``relay keys``      create, list and revoke a stage's API keys.
``relay templates`` store and list named notification templates; ``relay automations``: automation templates.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="relay", description="relay: self-hostable serverless notifications")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the local stage on this machine")
    up.add_argument("--stage", default="local",
                    help="stage config to deploy into the emulator: local (default), or dev/prod to rehearse them")
    up.add_argument("--port", type=int, default=4566, help="emulated AWS endpoint port on 127.0.0.1 (default 4566)")
    up.add_argument("--api-port", type=int, default=0, help="HTTP API port on 127.0.0.1 (default: a free port)")
    up.add_argument("--demo", action="store_true", help="steady demo traffic, a share of it failing into the DLQs")
    up.add_argument("--no-console", action="store_true", help="do not start the Streamlit console")
    up.add_argument("--console-port", type=int, default=8501, help="console port on 127.0.0.1 (default 8501)")
    up.add_argument("--fresh", action="store_true", help="discard the saved local state and start empty")
    up.add_argument("--state-dir", default=None,
                    help="where the local stage keeps its state between runs (default .relay/<stage>)")
    up.add_argument("--aws-latency-ms", type=float, default=None,
                    help="network round trip added to each AWS call a handler makes (default 4; 0 = none)")
    up.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a stage setting for this run, as `pulumi config set` would "
                         "(e.g. --set relay:fetchAllow='[\"127.0.0.1:8080\"]'); repeatable")

    cap = sub.add_parser("capacity", help="cost per 1M notifications and stream parallelization sizing")
    cap.add_argument("--stage", default="prod")
    cap.add_argument("--rate", default="100/s", help="notifications per second, e.g. 1000/s")
    cap.add_argument("--iterator-age-target", default="30s", help="keep IteratorAge under this, e.g. 30s")
    cap.add_argument("--calls", default=None, help="JSON file of measured AWS calls per notification")
    cap.add_argument("--durations", choices=["aws", "measured"], default=None,
                     help="Lambda durations and d(B) to price: aws (estimated from each function's calls and "
                          "published latencies; the default for a local-stage measurement) or measured (the calls "
                          "file's own: the default for a real stage's)")
    cap.add_argument("--json", action="store_true", help="machine-readable output")

    from relay.api_keys import add_parser as add_keys_parser

    add_keys_parser(sub)
    from relay.templates_cli import add_parsers as add_template_parsers

    add_template_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from infra.config import ConfigError

    try:
        return _dispatch(args)
    except ConfigError as exc:  # a broken stage setting is the user's to fix: say which, no traceback
        print(f"relay {args.command}: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "up":
        from relay.local.stage import run_local_stage

        overrides = {}
        for item in args.overrides:
            key, sep, value = item.partition("=")
            if not sep:
                print(f"relay up: --set {item!r}: expected KEY=VALUE", file=sys.stderr)
                return 2
            overrides[key if ":" in key else f"relay:{key}"] = value
        code = run_local_stage(stage=args.stage, port=args.port, api_port=args.api_port, demo=args.demo,
                               console=not args.no_console, console_port=args.console_port, fresh=args.fresh,
                               overrides=overrides, state_dir=args.state_dir,
                               **({} if args.aws_latency_ms is None else {"aws_latency_ms": args.aws_latency_ms}))
        # Everything is stopped and saved by now. The interpreter's own teardown would join the thread
        # pools Pulumi's runtime and moto leave behind (seconds): a stop must return at once.
        import logging
        import os

        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if args.command == "capacity":
        from relay.capacity.cli import run_capacity

        return run_capacity(args)
    if args.command == "keys":
        from relay.api_keys import run_keys

        return run_keys(args)
    if args.command in ("templates", "automations"):
        from relay.templates_cli import run_templates

        return run_templates(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
