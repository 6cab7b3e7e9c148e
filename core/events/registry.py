"""The explicit registry of event handlers: event type → handlers, by dotted name.

Apps register in their `handlers.py`, imported by their AppConfig.ready(); the dotted name is what
an EventDelivery records, so renaming a handler starts its bookkeeping afresh.

A handler that acts only on some events says which with `wanted`: an event no handler wants is
recorded already dispatched, without a task, so busy paths (a tag added, an email sent) don't pay a
broker round trip and the outbox's bookkeeping for handlers that would look and do nothing.
"""

from collections import defaultdict
from collections.abc import Callable

from core.models import Event

Handler = Callable[[Event], None]
#: (workspace id, event type, payload) → whether the handler may act on such an event. Asked when
#: the event is emitted, inside the emitting transaction; it must be cheap and may only err towards True.
Wanted = Callable[[int, str, dict], bool]

_HANDLERS: dict[str, dict[str, Handler]] = defaultdict(dict)
_WANTED: dict[str, dict[str, Wanted]] = defaultdict(dict)


def handler_name(func: Handler) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def on(event_type: str, *, wanted: Wanted | None = None) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        name = handler_name(func)
        _HANDLERS[event_type][name] = func
        if wanted is not None:
            _WANTED[event_type][name] = wanted
        else:
            _WANTED[event_type].pop(name, None)
        return func

    return register


def handlers_for(event_type: str) -> dict[str, Handler]:
    return dict(_HANDLERS.get(event_type, {}))


def is_wanted(workspace_id: int, event_type: str, payload: dict) -> bool:
    """Whether any handler of this event type may act on this event."""
    for name in _HANDLERS.get(event_type, {}):
        wanted = _WANTED[event_type].get(name)
        if wanted is None or wanted(workspace_id, event_type, payload):
            return True
    return False


def unregister(event_type: str, func: Handler) -> None:
    _HANDLERS[event_type].pop(handler_name(func), None)
    _WANTED[event_type].pop(handler_name(func), None)
