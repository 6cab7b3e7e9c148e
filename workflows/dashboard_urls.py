"""Workflows' dashboard pages, included under /workflows/ in the dashboard's namespace. Every name
contains "workflows", so the sidebar marks the section as current on all of them."""

from django.urls import path

from core import views as core_views

urlpatterns = [
    path("", core_views.section, {"section": "workflows"}, name="workflows"),
]
