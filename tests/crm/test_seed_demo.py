"""`make run`'s demo CRM: a few hundred realistic contacts with tags, custom fields, activity, scores
and two segments; deterministic, and added once however often the command runs."""

import datetime

import phonenumbers
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from crm.demo import HOT_LEADS, NEWSLETTER_NO_PURCHASE, demo_crm_seed
from crm.models import (
    ActivityKind,
    Contact,
    ContactActivity,
    ContactImport,
    ContactStatus,
    CustomField,
    ScoreChange,
    Segment,
    Tag,
)
from crm.segments import rules_q
from crm.selectors.scoring import contact_score_explain
from crm.services.fields import custom_fields_clean, custom_fields_for, email_normalize
from tests.factories import UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_workspace():
    call_command("seed_demo")
    return User.objects.get(email=settings.DEMO_EMAIL).default_workspace


def test_seeding_twice_adds_the_contacts_once(demo_workspace):
    contacts = Contact.objects.for_workspace(demo_workspace)
    count, activities = contacts.count(), ContactActivity.objects.for_workspace(demo_workspace).count()
    assert 200 <= count <= 500
    call_command("seed_demo")
    assert contacts.count() == count
    assert ContactActivity.objects.for_workspace(demo_workspace).count() == activities
    assert Segment.objects.for_workspace(demo_workspace).count() == 2
    assert CustomField.objects.for_workspace(demo_workspace).count() == 3
    imported = contacts.filter(source="import").count()
    assert list(ContactImport.objects.for_workspace(demo_workspace).values_list("created", flat=True)) == [imported]


def test_contacts_are_valid_as_the_services_would_store_them(demo_workspace):
    fields = custom_fields_for(demo_workspace)
    contacts = list(Contact.objects.for_workspace(demo_workspace))
    for contact in contacts:
        assert email_normalize(contact.email) == contact.email
        if contact.phone:
            assert phonenumbers.is_valid_number(phonenumbers.parse(contact.phone)), contact.phone
        assert custom_fields_clean(fields=fields, values=contact.custom_fields) == contact.custom_fields
    assert len({contact.last_name for contact in contacts}) > 30
    assert len({contact.company for contact in contacts}) > 20
    assert sum(bool(contact.phone) for contact in contacts) > len(contacts) / 2
    assert {contact.stage for contact in contacts} == {"subscriber", "lead", "mql", "sql", "customer"}
    assert {contact.status for contact in contacts} == set(ContactStatus.values)
    assert len({contact.source for contact in contacts}) == 5


def test_every_score_is_the_sum_of_its_score_changes(demo_workspace):
    totals = dict(
        ScoreChange.objects.for_workspace(demo_workspace)
        .values("contact")
        .annotate(total=Sum("points"))
        .values_list("contact", "total")
    )
    contacts = Contact.objects.for_workspace(demo_workspace)
    assert all(contact.score == totals.get(contact.pk, 0) for contact in contacts)
    assert contacts.filter(score__gte=50).exists() and contacts.filter(score=0).exists()
    changes = ScoreChange.objects.for_workspace(demo_workspace)
    assert all(change.activity_id and change.rule_id for change in changes)
    # Each change is on the timeline too, as the scoring service records it, and explains the score.
    timeline = ContactActivity.objects.for_workspace(demo_workspace).filter(kind=ActivityKind.SCORE_CHANGED)
    assert timeline.count() == changes.count()
    top = contacts.order_by("-score").first()
    explained = contact_score_explain(contact=top)
    assert explained["total_from_changes"] == explained["score"] == top.score
    assert sum(part["points"] for part in explained["by_rule"]) == top.score


def test_activity_spans_the_last_ninety_days_with_forms_visits_emails_and_notes(demo_workspace):
    activities = ContactActivity.objects.for_workspace(demo_workspace)
    kinds = set(activities.values_list("kind", flat=True))
    for kind in (
        ActivityKind.FORM_SUBMITTED,
        ActivityKind.PAGE_VISITED,
        ActivityKind.EMAIL_OPENED,
        ActivityKind.EMAIL_CLICKED,
        ActivityKind.NOTE,
    ):
        assert kind in kinds
    engaged = activities.filter(kind__in=[ActivityKind.PAGE_VISITED, ActivityKind.EMAIL_CLICKED])
    now = timezone.now()
    assert engaged.filter(at__gt=now).count() == 0
    assert engaged.filter(at__lt=now - datetime.timedelta(days=91)).count() == 0
    assert engaged.filter(at__lt=now - datetime.timedelta(days=60)).exists()
    assert engaged.filter(at__gt=now - datetime.timedelta(days=7)).exists()
    assert activities.filter(kind=ActivityKind.NOTE, actor__isnull=False).exists()
    # Form submissions point at the demo site's form, as the form handler records them.
    form_refs = set(activities.filter(kind=ActivityKind.FORM_SUBMITTED).values_list("ref", flat=True))
    assert len(form_refs) == 1 and form_refs != {""}
    contact = Contact.objects.for_workspace(demo_workspace).exclude(last_activity_at=None).first()
    latest = activities.filter(contact=contact, kind__in=[ActivityKind.PAGE_VISITED, ActivityKind.EMAIL_CLICKED])
    assert contact.last_activity_at >= max(latest.values_list("at", flat=True), default=contact.last_activity_at)


def test_tags_and_both_segments_select_someone(demo_workspace):
    newsletter = Tag.objects.get(workspace=demo_workspace, name="newsletter")
    assert newsletter.contact_tags.count() > 50
    contacts = Contact.objects.for_workspace(demo_workspace)
    for name in (HOT_LEADS, NEWSLETTER_NO_PURCHASE):
        segment = Segment.objects.get(workspace=demo_workspace, name=name)
        matched = contacts.filter(rules_q(workspace=demo_workspace, rules=segment.rules))
        assert 0 < matched.count() < contacts.count(), name
    hot = Segment.objects.get(workspace=demo_workspace, name=HOT_LEADS)
    assert all(contact.score >= 50 for contact in contacts.filter(rules_q(workspace=demo_workspace, rules=hot.rules)))


def test_the_same_contacts_are_drawn_every_time():
    team = [UserFactory()]
    first, second = WorkspaceFactory(), WorkspaceFactory()
    demo_crm_seed(workspace=first, actor=team[0], team=team)
    demo_crm_seed(workspace=second, actor=team[0], team=team)

    def people(workspace):
        return list(
            Contact.objects.for_workspace(workspace)
            .order_by("email")
            .values_list("email", "phone", "stage", "score", "custom_fields")
        )

    assert people(first) == people(second)
