"""Shared by every function: settings from the environment, lazy boto3 clients, ids, statuses, errors,
the request store and its S3 notifications, large-payload references, DynamoDB values, the send schema,
channel addressing and the SSRF guard (address policy + pinned HTTP client). ``functions/README.md``
maps every module.

Import the submodule you need (``from functions.shared.settings import get_settings``); nothing is
imported here, so a handler pays only for what it uses.
"""
__all__: list[str] = []
