"""The HTTP API: a Lambda Function URL in front of the api function.

Why a Function URL rather than API Gateway v2: the api function already validates, limits body size,
handles idempotency and checks API keys itself; a Function URL sends the same payload v2 events an HTTP
API would, costs nothing per request beyond Lambda, adds one resource instead of five (API, stage,
integration, route, permission), and is emulated by moto, so the local stage serves the very same
topology. Put API Gateway or CloudFront + WAF in front when a stage needs edge throttling.

The URL is never open: with ``relay:apiAuth: keys`` (the default) it is ``AuthType NONE`` in front of a
function that refuses every request without a valid API key (``API_AUTH=keys`` in its environment);
with ``iam`` it is ``AWS_IAM``, so only SigV4-signed callers whose policies allow
``lambda:InvokeFunctionUrl`` reach the function. The policy suite checks that pairing
(``api-never-open``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

__all__ = ["HttpApi", "HttpApiArgs"]


@dataclass
class HttpApiArgs:
    function_name: pulumi.Input[str]
    # "NONE" (the function checks API keys) or "AWS_IAM" (SigV4): relay:apiAuth keys | iam
    authorization_type: str = "NONE"


class HttpApi(pulumi.ComponentResource):
    """``FunctionUrl``; with auth NONE, the two permissions AWS requires for invocation through the URL."""

    def __init__(self, name: str, args: HttpApiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("relay:components:HttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.function_url = aws.lambda_.FunctionUrl(
            f"{name}-url", function_name=args.function_name, authorization_type=args.authorization_type,
            opts=child)
        if args.authorization_type == "NONE":
            # Since October 2025 a URL without IAM auth needs both InvokeFunctionUrl and InvokeFunction (the
            # latter only when invoked through the URL); neither grants direct Invoke to anyone. With AWS_IAM
            # the callers' own identity policies grant both, so no resource policy is added.
            aws.lambda_.Permission(
                f"{name}-invoke-url", function=args.function_name, action="lambda:InvokeFunctionUrl",
                principal="*", function_url_auth_type="NONE", statement_id="FunctionUrlPublicInvokeUrl",
                opts=child)
            aws.lambda_.Permission(
                f"{name}-invoke-via-url", function=args.function_name, action="lambda:InvokeFunction",
                principal="*", invoked_via_function_url=True, statement_id="FunctionUrlPublicInvoke",
                opts=child)
        self.url = self.function_url.function_url
        self.register_outputs({"api_url": self.url})
