import pytest

from core.events import registry


@pytest.fixture
def handlers():
    """Register throwaway handlers (any callable) for one test; they are removed afterwards."""
    added: list[tuple[str, object]] = []

    def register(event_type: str, func, *, wanted=None):
        def handler(event):
            func(event)

        handler.__qualname__ = f"test_handler_{len(added)}"
        registry.on(event_type, wanted=wanted)(handler)
        added.append((event_type, handler))
        return func

    yield register
    for event_type, handler in added:
        registry.unregister(event_type, handler)
