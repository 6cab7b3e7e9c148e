"""Domain events: `emit()` in a transaction, handlers registered with `@on(type)`."""

from core.events.emit import emit
from core.events.registry import on

__all__ = ["emit", "on"]
