"""SES feedback: SES events (SNS) → the message's next status event and the suppression list."""
__all__: list[str] = []
