"""Public entry points of workflows: the webhook trigger's URL."""

from django.urls import re_path

from workflows.public_views import hook

app_name = "workflows_public"

urlpatterns = [
    re_path(r"^hooks/(?P<token>[A-Za-z0-9_-]{1,64})/?$", hook, name="hook"),
]
