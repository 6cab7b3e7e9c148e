import pytest

from accounts.roles import Role
from builder import services
from tests.factories import TemplateFactory


@pytest.fixture
def editor(member):
    return member(Role.EDITOR)


@pytest.fixture
def template(db):
    return TemplateFactory(slug="launch", name="Launch")


@pytest.fixture
def site(editor, template):
    return services.site_create(workspace=editor.workspace, name="Acme", template=template, actor=editor.user)


@pytest.fixture
def home(site):
    return site.pages.get(is_home=True)
