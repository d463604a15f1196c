"""The send worker: S3 ObjectCreated on ``send/`` → expand, render, deliver once, log status events."""
__all__: list[str] = []
