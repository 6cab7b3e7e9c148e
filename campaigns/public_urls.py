"""Public, unauthenticated endpoints recipients reach from an email: tracking, unsubscribe,
confirmations; and the ESPs' webhooks."""

from django.urls import path  # noqa: F401

app_name = "campaigns_public"

urlpatterns: list = []
