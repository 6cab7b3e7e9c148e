"""The explicit registry of event handlers: event type → handlers, by dotted name.

Apps register in their `handlers.py`, imported by their AppConfig.ready(); the dotted name is what
an EventDelivery records, so renaming a handler starts its bookkeeping afresh.
"""

from collections import defaultdict
from collections.abc import Callable

from core.models import Event

Handler = Callable[[Event], None]

_HANDLERS: dict[str, dict[str, Handler]] = defaultdict(dict)


def handler_name(func: Handler) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def on(event_type: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _HANDLERS[event_type][handler_name(func)] = func
        return func

    return register


def handlers_for(event_type: str) -> dict[str, Handler]:
    return dict(_HANDLERS.get(event_type, {}))


def unregister(event_type: str, func: Handler) -> None:
    _HANDLERS[event_type].pop(handler_name(func), None)
