import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/nope", "/api/v2/workspaces/"])
def test_unknown_api_url_is_a_json_404_even_in_debug_mode(settings, assert_error, debug, path):
    settings.DEBUG = debug
    client = Client(enforce_csrf_checks=True)  # as a browser or script would meet it
    for method in ("get", "post", "delete"):
        error = assert_error(getattr(client, method)(path), 404, code="not_found")
        assert path in error["message"]


def test_unknown_dashboard_url_is_still_an_html_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
