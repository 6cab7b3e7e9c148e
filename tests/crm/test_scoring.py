"""Lead scoring: rules with conditions and caps, decay for inactivity, changes by hand, and the
explanation that always adds up to the score."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from core.models import Event
from crm.events import SCORE_CHANGED
from crm.models import ActivityKind, Contact, ContactActivity, ScoreChange, ScorePeriod, ScoreReason, ScoringSettings
from crm.selectors.scoring import contact_score_explain
from crm.services.activities import activity_record
from crm.services.scoring import (
    conditions_clean,
    score_adjust,
    score_decay_run,
    scoring_rule_create,
    scoring_rule_update,
)
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


@pytest.fixture
def contact(workspace):
    return ContactFactory(workspace=workspace)


def rule(workspace, **values):
    defaults = {"name": "Submitted a form", "event_type": ActivityKind.FORM_SUBMITTED, "points": 10}
    return scoring_rule_create(workspace=workspace, **(defaults | values))


def submit(contact, ref="form-1", at=None, **data):
    return activity_record(contact=contact, kind=ActivityKind.FORM_SUBMITTED, ref=ref, data=data, at=at)


def score_of(contact) -> int:
    return Contact.objects.get(pk=contact.pk).score


def assert_explained(contact):
    explanation = contact_score_explain(contact=contact)
    parts = (
        sum(entry["points"] for entry in explanation["by_rule"])
        + explanation["decay"]["points"]
        + explanation["manual"]["points"]
    )
    assert explanation["score"] == explanation["total_from_changes"] == parts == score_of(contact)
    return explanation


# --- Rules ------------------------------------------------------------------------------------------


def test_a_matching_activity_adds_the_rule_points_with_a_change_a_timeline_entry_and_an_event(workspace, contact):
    form_rule = rule(workspace, points=15)
    activity = submit(contact)
    assert score_of(contact) == 15
    change = ScoreChange.objects.get(contact=contact)
    assert (change.points, change.reason, change.rule, change.rule_name, change.activity) == (
        15,
        ScoreReason.RULE,
        form_rule,
        "Submitted a form",
        activity,
    )
    timeline = ContactActivity.objects.get(contact=contact, kind=ActivityKind.SCORE_CHANGED)
    assert timeline.data | {} == {
        "points": 15,
        "score": 15,
        "previous": 0,
        "reason": "rule",
        "rule_id": form_rule.pk,
        "rule_name": "Submitted a form",
        "activity_id": activity.pk,
    }
    event = Event.objects.get(type=SCORE_CHANGED)
    assert event.payload == {
        "contact_id": contact.pk,
        "score": 15,
        "previous": 0,
        "points": 15,
        "reason": "rule",
        "rule_id": form_rule.pk,
    }
    assert event.subject == f"crm.contact:{contact.pk}"


def test_rules_of_other_kinds_inactive_rules_and_other_workspaces_rules_do_not_apply(workspace, contact):
    rule(workspace, event_type=ActivityKind.EMAIL_OPENED)
    rule(workspace, is_active=False)
    rule(ContactFactory().workspace)
    submit(contact)
    assert score_of(contact) == 0
    assert not ScoreChange.objects.exists()
    assert not Event.objects.filter(type=SCORE_CHANGED).exists()


def test_every_matching_rule_applies(workspace, contact):
    rule(workspace, name="Any form", points=5)
    rule(workspace, name="The demo form", points=20, conditions={"ref": "demo"})
    submit(contact, ref="demo")
    assert score_of(contact) == 25
    assert sorted(ScoreChange.objects.values_list("rule_name", flat=True)) == ["Any form", "The demo form"]
    assert ScoreChange.objects.filter(contact=contact).count() == 2


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        ({"ref": "demo"}, True),
        ({"ref": "other"}, False),
        ({"ref": ["other", "demo"]}, True),
        ({"data.form_type": "newsletter"}, True),
        ({"data.form_type": " NEWSLETTER "}, True),
        ({"data.form_type": "contact_form"}, False),
        ({"data.answers.plan": "pro"}, True),
        ({"data.answers.seats": 5}, True),
        ({"data.answers.topics": "pricing"}, True),
        ({"data.answers.topics": "careers"}, False),
        ({"data.answers.missing": "x"}, False),
        ({"data.answers": "pro"}, False),
        ({"ref": "demo", "data.form_type": "newsletter"}, True),
        ({"ref": "demo", "data.form_type": "survey"}, False),
    ],
)
def test_conditions_narrow_a_rule(workspace, contact, conditions, matches):
    rule(workspace, conditions=conditions)
    submit(
        contact,
        ref="demo",
        form_type="newsletter",
        answers={"plan": "Pro", "seats": "5", "topics": ["pricing", "support"]},
    )
    assert score_of(contact) == (10 if matches else 0)


@pytest.mark.parametrize(
    ("conditions", "path"),
    [
        ("ref=demo", "conditions"),
        ({"email": "x"}, "conditions.email"),
        ({"data": "x"}, "conditions.data"),
        ({"data..x": "x"}, "conditions.data..x"),
        ({"data.a.b.c.d.e": "x"}, "conditions.data.a.b.c.d.e"),
        ({"ref": {"nested": 1}}, "conditions.ref"),
        ({"ref": None}, "conditions.ref"),
        ({"ref": []}, "conditions.ref"),
        ({"ref": "x" * 201}, "conditions.ref"),
        ({"data.form_type": [["a"]]}, "conditions.data.form_type"),
        ({"data.score": float("inf")}, "conditions.data.score"),
    ],
)
def test_bad_conditions_are_refused_naming_their_path(conditions, path):
    with pytest.raises(ValidationError) as caught:
        conditions_clean(conditions)
    assert path in caught.value.message_dict


def test_too_many_conditions_are_refused():
    with pytest.raises(ValidationError) as caught:
        conditions_clean({f"data.k{n}": n for n in range(11)})
    assert "conditions" in caught.value.message_dict


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": " "}, "name"),
        ({"event_type": "score_changed"}, "event_type"),
        ({"event_type": "dancing"}, "event_type"),
        ({"points": 0}, "points"),
        ({"points": 10_001}, "points"),
        ({"points": True}, "points"),
        ({"cap_points": 10}, "cap_period"),
        ({"cap_period": ScorePeriod.DAY}, "cap_points"),
        ({"cap_points": 0, "cap_period": ScorePeriod.DAY}, "cap_points"),
        ({"cap_points": 10, "cap_period": "year"}, "cap_period"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(workspace, values, field):
    with pytest.raises(ValidationError) as caught:
        rule(workspace, **values)
    assert field in caught.value.message_dict


def test_a_rule_update_is_checked_whole(workspace):
    form_rule = rule(workspace, cap_points=20, cap_period=ScorePeriod.DAY)
    with pytest.raises(ValidationError) as caught:
        scoring_rule_update(rule=form_rule, cap_period="")
    assert "cap_period" in caught.value.message_dict
    scoring_rule_update(rule=form_rule, name="Renamed", cap_points=None, cap_period="")
    form_rule.refresh_from_db()
    assert (form_rule.name, form_rule.cap_points, form_rule.cap_period) == ("Renamed", None, "")


# --- Caps -----------------------------------------------------------------------------------------------


def test_a_daily_cap_gives_partial_points_then_none_until_the_next_day(workspace, contact):
    rule(workspace, points=10, cap_points=25, cap_period=ScorePeriod.DAY)
    morning = datetime.datetime(2026, 3, 2, 9, tzinfo=UTC)
    for minutes in range(4):
        submit(contact, at=morning + datetime.timedelta(minutes=minutes))
    assert score_of(contact) == 25
    assert list(ScoreChange.objects.order_by("at").values_list("points", flat=True)) == [10, 10, 5]
    submit(contact, at=morning + datetime.timedelta(days=1))
    assert score_of(contact) == 35
    assert_explained(contact)


def test_a_weekly_cap_counts_from_monday_in_the_workspace_time_zone(workspace, contact):
    workspace.timezone = "America/New_York"
    workspace.save(update_fields=["timezone"])
    rule(workspace, points=10, cap_points=10, cap_period=ScorePeriod.WEEK)
    # Monday 2026-03-02 02:00 UTC is still Sunday evening in New York: the week before.
    submit(contact, at=datetime.datetime(2026, 3, 2, 2, tzinfo=UTC))
    submit(contact, at=datetime.datetime(2026, 3, 2, 12, tzinfo=UTC))
    submit(contact, at=datetime.datetime(2026, 3, 8, 12, tzinfo=UTC))
    assert score_of(contact) == 20


def test_a_monthly_cap(workspace, contact):
    rule(workspace, points=10, cap_points=15, cap_period=ScorePeriod.MONTH)
    for day in (1, 15, 31):
        submit(contact, at=datetime.datetime(2026, 1, day, 12, tzinfo=UTC))
    submit(contact, at=datetime.datetime(2026, 2, 1, 12, tzinfo=UTC))
    assert list(ScoreChange.objects.order_by("at").values_list("points", flat=True)) == [10, 5, 10]


def test_a_cap_in_total_applies_forever_and_per_contact(workspace, contact):
    rule(workspace, points=10, cap_points=10, cap_period=ScorePeriod.EVER)
    other = ContactFactory(workspace=workspace)
    for year in (2025, 2026):
        submit(contact, at=datetime.datetime(year, 1, 1, tzinfo=UTC))
    submit(other)
    assert (score_of(contact), score_of(other)) == (10, 10)


def test_a_negative_rule_stops_at_zero_and_records_what_it_took(workspace, contact):
    rule(workspace, name="Plus", points=3, event_type=ActivityKind.EMAIL_OPENED)
    rule(workspace, name="Minus", points=-10, event_type=ActivityKind.EMAIL_BOUNCED)
    activity_record(contact=contact, kind=ActivityKind.EMAIL_OPENED)
    activity_record(contact=contact, kind=ActivityKind.EMAIL_BOUNCED)
    activity_record(contact=contact, kind=ActivityKind.EMAIL_BOUNCED)
    assert score_of(contact) == 0
    assert list(ScoreChange.objects.order_by("id").values_list("points", flat=True)) == [3, -3]
    assert Event.objects.filter(type=SCORE_CHANGED).count() == 2
    assert_explained(contact)


def test_a_negative_rules_cap_limits_how_much_it_takes(workspace, contact):
    score_adjust(contact=contact, points=100)
    rule(workspace, points=-30, cap_points=40, cap_period=ScorePeriod.DAY)
    for _ in range(3):
        submit(contact)
    assert score_of(contact) == 60


# --- By hand ------------------------------------------------------------------------------------------


def test_a_change_by_hand_keeps_its_note_and_who_made_it(workspace, contact, editor):
    change = score_adjust(contact=contact, points=40, note="Met at the trade fair", actor=editor.user)
    assert (score_of(contact), change.reason, change.points) == (40, ScoreReason.MANUAL, 40)
    assert change.activity.kind == ActivityKind.SCORE_CHANGED
    assert change.activity.data["note"] == "Met at the trade fair"
    assert change.activity.actor == editor.user
    score_adjust(contact=contact, points=-100)
    assert score_of(contact) == 0
    assert ScoreChange.objects.order_by("-id").first().points == -40
    explanation = assert_explained(contact)
    assert explanation["manual"] | {"last_at": None} == {"points": 0, "count": 2, "last_at": None}


@pytest.mark.parametrize(
    ("points", "note", "field"),
    [(0, "", "points"), (10_001, "", "points"), ("5", "", "points"), (True, "", "points"), (5, "x" * 501, "note")],
)
def test_bad_changes_by_hand_are_refused(contact, points, note, field):
    with pytest.raises(ValidationError) as caught:
        score_adjust(contact=contact, points=points, note=note)
    assert field in caught.value.message_dict
    assert not ScoreChange.objects.exists()


def test_lowering_a_score_of_zero_is_refused(contact):
    with pytest.raises(ValidationError) as caught:
        score_adjust(contact=contact, points=-5)
    assert "points" in caught.value.message_dict
    assert not ScoreChange.objects.exists()


# --- Decay ------------------------------------------------------------------------------------------


@pytest.fixture
def decay(workspace):
    return ScoringSettings.objects.create(workspace=workspace, decay_enabled=True, decay_after_days=30, decay_points=5)


def quiet_contact(workspace, *, score=12, days=40, now=None):
    now = now or datetime.datetime.now(UTC)
    contact = ContactFactory(workspace=workspace, created_at=now - datetime.timedelta(days=days + 10))
    if score:
        score_adjust(contact=contact, points=score)
    Contact.objects.filter(pk=contact.pk).update(last_activity_at=now - datetime.timedelta(days=days))
    return contact


@freeze_time("2026-06-01 03:00:00")
def test_decay_lowers_quiet_contacts_once_and_a_second_run_that_day_changes_nothing(workspace, decay):
    quiet = quiet_contact(workspace)
    never_active = ContactFactory(
        workspace=workspace, created_at=datetime.datetime(2026, 1, 1, tzinfo=UTC), last_activity_at=None
    )
    score_adjust(contact=never_active, points=3)
    active = quiet_contact(workspace, days=5)
    new = ContactFactory(workspace=workspace)
    score_adjust(contact=new, points=7)
    zero = quiet_contact(workspace, score=0)

    assert score_decay_run() == 2
    assert [score_of(c) for c in (quiet, never_active, active, new, zero)] == [7, 0, 12, 7, 0]
    change = ScoreChange.objects.get(contact=quiet, reason=ScoreReason.DECAY)
    assert change.points == -5
    assert change.activity.kind == ActivityKind.SCORE_CHANGED
    assert change.activity.data == {"points": -5, "score": 7, "previous": 12, "reason": "decay"}
    assert ScoreChange.objects.get(contact=never_active, reason=ScoreReason.DECAY).points == -3
    payloads = {
        e.payload["contact_id"]: e.payload for e in Event.objects.filter(type=SCORE_CHANGED, payload__reason="decay")
    }
    assert payloads[quiet.pk] == {
        "contact_id": quiet.pk,
        "score": 7,
        "previous": 12,
        "points": -5,
        "reason": "decay",
        "rule_id": None,
    }
    before = (ScoreChange.objects.count(), ContactActivity.objects.count(), Event.objects.count())

    with freeze_time("2026-06-01 23:59:00"):
        assert score_decay_run() == 0
    assert (ScoreChange.objects.count(), ContactActivity.objects.count(), Event.objects.count()) == before
    assert score_of(quiet) == 7
    assert_explained(quiet)


def test_decay_comes_again_after_another_period_of_silence_and_stops_at_zero(workspace, decay):
    start = datetime.datetime(2026, 6, 1, 3, tzinfo=UTC)
    contact = quiet_contact(workspace, now=start)
    for days, expected in ((0, 7), (29, 7), (30, 2), (45, 2), (60, 0), (120, 0)):
        with freeze_time(start + datetime.timedelta(days=days)):
            score_decay_run()
        assert score_of(contact) == expected, days
    assert list(
        ScoreChange.objects.filter(reason=ScoreReason.DECAY).order_by("at").values_list("points", flat=True)
    ) == [-5, -5, -2]
    assert_explained(contact)


def test_activity_resets_the_decay_clock(workspace, decay):
    contact = quiet_contact(workspace)
    activity_record(contact=contact, kind=ActivityKind.PAGE_VISITED)
    assert score_decay_run() == 0
    assert score_of(contact) == 12


def test_decay_leaves_workspaces_without_it_alone(workspace):
    ScoringSettings.objects.create(workspace=workspace, decay_enabled=False)
    contact = quiet_contact(workspace)
    assert score_decay_run() == 0
    assert score_of(contact) == 12


def test_decay_runs_in_batches(workspace, decay, monkeypatch):
    monkeypatch.setattr("crm.services.scoring.DECAY_BATCH", 2)
    contacts = [quiet_contact(workspace) for _ in range(5)]
    assert score_decay_run() == 5
    assert {score_of(c) for c in contacts} == {7}
    assert ScoreChange.objects.filter(reason=ScoreReason.DECAY).count() == 5


# --- Explanation -----------------------------------------------------------------------------------------


def test_the_explanation_adds_up_after_rules_caps_decay_changes_by_hand_and_a_deleted_rule(workspace, contact):
    capped = rule(workspace, name="Forms", points=10, cap_points=15, cap_period=ScorePeriod.DAY)
    opened = rule(workspace, name="Opens", points=2, event_type=ActivityKind.EMAIL_OPENED)
    gone = rule(workspace, name="Clicks", points=4, event_type=ActivityKind.EMAIL_CLICKED)
    with freeze_time("2026-01-01 12:00:00"):
        for _ in range(3):
            submit(contact)
        for _ in range(4):
            activity_record(contact=contact, kind=ActivityKind.EMAIL_OPENED)
        activity_record(contact=contact, kind=ActivityKind.EMAIL_CLICKED)
        score_adjust(contact=contact, points=-6, note="Competitor")
    scoring_rule_update(rule=capped, name="Form submissions")
    gone.delete()
    ScoringSettings.objects.create(workspace=workspace, decay_enabled=True, decay_after_days=30, decay_points=5)
    with freeze_time("2026-03-01 12:00:00"):
        score_decay_run()

    explanation = assert_explained(contact)
    assert explanation["score"] == 15 + 8 + 4 - 6 - 5
    by_name = {entry["rule_name"]: entry for entry in explanation["by_rule"]}
    assert by_name["Form submissions"] | {"last_at": None} == {
        "rule_id": capped.pk,
        "rule_name": "Form submissions",
        "points": 15,
        "count": 2,
        "last_at": None,
    }
    assert (by_name["Opens"]["rule_id"], by_name["Opens"]["count"]) == (opened.pk, 4)
    assert (by_name["Clicks"]["rule_id"], by_name["Clicks"]["points"]) == (None, 4)
    assert explanation["decay"]["points"] == -5
    assert explanation["manual"]["points"] == -6
    latest = explanation["changes"][0]
    assert (latest["reason"], latest["points"], latest["activity_kind"]) == ("decay", -5, "score_changed")
    manual = next(change for change in explanation["changes"] if change["reason"] == "manual")
    assert manual["note"] == "Competitor"
    form_change = next(change for change in explanation["changes"] if change["rule_id"] == capped.pk)
    assert (form_change["rule_name"], form_change["activity_kind"]) == ("Forms", ActivityKind.FORM_SUBMITTED)


def test_the_explanation_lists_the_latest_fifty_changes(workspace, contact):
    rule(workspace, points=1)
    for _ in range(55):
        submit(contact)
    explanation = assert_explained(contact)
    assert len(explanation["changes"]) == 50
    assert explanation["by_rule"][0]["count"] == 55


def test_decay_runs_daily_from_celery_beat(settings, workspace, decay):
    from crm.tasks import score_decay

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "crm.tasks.score_decay")
    assert entry["schedule"].hour == {3}
    contact = quiet_contact(workspace)
    assert score_decay.apply().get() == 1
    assert score_of(contact) == 7
