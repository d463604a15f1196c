"""The HTTP API (payload v2: Lambda Function URL / API Gateway HTTP API).

``handler`` translates events; ``events`` parses requests and renders responses; ``routes`` is the
table method + path → endpoint; ``endpoints`` read what each route needs and call its use case;
``validation`` runs pydantic (imported only on POST paths); ``service`` holds the use cases over the
``ports``; ``adapters`` are the boto3 side; ``bootstrap`` wires them.

Validation failures of fields (body or query) are **422** ``validation_error`` with one ``details``
entry per bad field; **400** is kept for bodies that cannot be parsed at all (``malformed_json``,
``malformed_body``) and for a bad ``Idempotency-Key`` header. docs/CONTRACTS.md lists every code.
"""
__all__: list[str] = []
