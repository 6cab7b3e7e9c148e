import pytest

from accounts.roles import Role


@pytest.fixture
def editor(make_member):
    return make_member(role=Role.EDITOR)


@pytest.fixture
def workspace(editor):
    return editor.workspace
