"""The cost and capacity model behind ``relay capacity`` (issue 6).

``model`` is the pure math, ``prices`` the AWS list prices, ``calls`` the measured-calls file,
``report`` composes the report, ``cli`` prints it, ``measure`` counts AWS calls on the local stage.
"""
__all__ = ["model", "prices", "calls", "report", "cli", "measure"]
