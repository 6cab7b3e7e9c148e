"""Public, unauthenticated endpoints of published sites, mounted at /f/."""

from django.urls import path

from builder.public_views import form_submit

app_name = "builder_public"

urlpatterns = [
    path("<uuid:component_id>/", form_submit, name="form-submit"),
]
