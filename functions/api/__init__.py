"""The HTTP API (payload v2: Lambda Function URL / API Gateway HTTP API)."""
__all__: list[str] = []
