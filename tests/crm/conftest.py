import pytest

from accounts.roles import Role


@pytest.fixture
def editor(member):
    return member(Role.EDITOR)


@pytest.fixture
def workspace(editor):
    return editor.workspace
