"""A handler that reports the per-function variables it saw at import (as Powertools reads them)."""
import os

SERVICE_AT_IMPORT = os.environ.get("POWERTOOLS_SERVICE_NAME")
FUNCTION_AT_IMPORT = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")


def handler(event, context):
    return {"service_at_import": SERVICE_AT_IMPORT, "function_at_import": FUNCTION_AT_IMPORT}
