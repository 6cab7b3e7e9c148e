"""Optimistic concurrency: a write names the version it read; a stale one is refused with the current state."""

from django.db import models


class ConflictError(Exception):
    """The object changed since the caller read it. The API answers 409 with `instance` serialised,
    so the client can merge or reload without another round trip."""

    def __init__(self, instance: models.Model, message: str = "") -> None:
        self.instance = instance
        self.message = message or (
            f"This {instance._meta.verbose_name} was changed by someone else (now at version "
            f"{getattr(instance, 'version', '?')}); reload it and apply your change again."
        )
        super().__init__(self.message)


def check_version(instance: models.Model, expected: int | None) -> None:
    """Raise ConflictError unless the caller read the current version. Call on a row locked for update."""
    if expected is not None and instance.version != expected:
        raise ConflictError(instance)
