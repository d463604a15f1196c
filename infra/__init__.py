"""relay's Pulumi program: stage config, components, IAM policy documents, packaging, policy suite.

``infra/__main__.py`` is the entry point the pulumi CLI runs; ``infra.program.build`` is the same
program as a function (the local stage runs it under Pulumi's mocks).
"""
__all__: list[str] = []
