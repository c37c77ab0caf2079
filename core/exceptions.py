"""Errors shared across apps. Services raise these; views and tasks decide what they mean."""


class DomainError(Exception):
    """A business rule refused the request. Its message is safe to show the user."""


class TransientError(Exception):
    """An outside service failed in a way that may pass (timeout, 5xx, 429): retry later."""


class PermanentError(Exception):
    """An outside service refused the request for good: retrying will not help."""
