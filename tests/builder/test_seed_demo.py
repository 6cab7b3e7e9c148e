"""`make run`'s demo data: the template library, and a demo site whose home page has a working form."""

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import User
from builder.models import Component, FormSubmission, Site, Template
from builder.services.submissions import form_submission_create

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_the_library_and_a_site_with_a_contact_form_once():
    call_command("seed_demo")
    call_command("seed_demo")
    demo = User.objects.get(email=settings.DEMO_EMAIL)
    sites = Site.objects.filter(workspace=demo.default_workspace)
    assert sites.count() == 1
    assert Template.objects.count() >= 7
    form = Component.objects.get(page__site=sites.get(), page__is_home=True, type="contact_form")
    submission = form_submission_create(
        component=form,
        data={"name": "Ada", "email": "ada@example.com", "message": "Hello"},
        consent_given=False,
        ip="203.0.113.9",
        user_agent="test",
    )
    assert FormSubmission.objects.get() == submission and submission.site == sites.get()
