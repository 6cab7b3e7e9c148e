"""Google and GitHub sign-in appear only once their OAuth client is configured."""

import pytest

pytestmark = pytest.mark.django_db


def test_no_social_buttons_without_configured_clients(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    page = client.get("/accounts/login/").content.decode()
    assert "Google" not in page
    assert "GitHub" not in page


def test_configured_providers_offer_their_sign_in(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APPS": [{"client_id": "google-id", "secret": "google-secret", "key": ""}]},
        "github": {"APPS": [{"client_id": "github-id", "secret": "github-secret", "key": ""}]},
    }
    page = client.get("/accounts/login/").content.decode()
    assert "/accounts/google/login/" in page
    assert "/accounts/github/login/" in page
