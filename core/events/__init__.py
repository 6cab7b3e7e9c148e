"""Domain events: `emit()` in a transaction, handlers registered with `@on(type)`."""

from core.events.emit import emit, emit_many
from core.events.registry import on

__all__ = ["emit", "emit_many", "on"]
