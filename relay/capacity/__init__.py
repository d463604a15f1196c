"""The cost and capacity model behind ``relay capacity`` (issue 6).

``model`` is the pure math, ``prices`` the AWS list prices, ``calls`` the measured-calls file,
``units`` prices one API call, ``report`` composes the report, ``cli`` prints it, ``measure`` counts AWS
calls on the local stage, ``timed_handler`` times the log indexer's batches for the model check.
"""
__all__ = ["model", "prices", "units", "calls", "report", "cli", "measure", "timed_handler"]
