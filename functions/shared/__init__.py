"""Shared by every function: settings from the environment, lazy boto3 clients, ids, statuses, errors,
the request store writer, large-payload references, the send schema and channel addressing.

Import the submodule you need (``from functions.shared.settings import get_settings``); nothing is
imported here, so a handler pays only for what it uses.
"""
__all__: list[str] = []
