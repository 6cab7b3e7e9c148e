import pytest

from accounts.roles import Role
from workflows import engine


@pytest.fixture(autouse=True)
def _fresh_graph_cache():
    """Each process keeps the Graph of every version it ran, by id: right while versions are never
    changed nor deleted, but a test's rolled-back rows let the next test reuse the same ids."""
    engine._GRAPHS.clear()
    yield
    engine._GRAPHS.clear()


@pytest.fixture
def editor(member):
    return member(Role.EDITOR)
