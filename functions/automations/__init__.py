"""Automations: the request schema, the pure run/step core, and the boto3 adapters behind its ports.

Submodules are imported where used (``schema`` by the API, ``core`` by the workers) so that importing
this package stays free.
"""
__all__: list[str] = []
