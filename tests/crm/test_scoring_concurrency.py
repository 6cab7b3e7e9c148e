"""Two processes scoring one contact at the same moment lose no points and overrun no cap."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crm.models import Contact, ScoreChange, ScorePeriod
from crm.selectors.scoring import contact_score_explain
from crm.services.scoring import scoring_rule_create
from tests.conftest import live_database_url
from tests.factories import ContactFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ACTIVITIES = 30
WRITER = """
import sys, time
import django
django.setup()
from crm.models import ActivityKind, Contact
from crm.services.activities import activity_record

contact = Contact.objects.get(pk=int(sys.argv[1]))
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
for _ in range({activities}):
    activity_record(contact=contact, kind=ActivityKind.PAGE_VISITED)
    activity_record(contact=contact, kind=ActivityKind.EMAIL_OPENED)
"""


def test_concurrent_activities_add_every_point_and_respect_the_cap():
    contact = ContactFactory()
    scoring_rule_create(workspace=contact.workspace, name="Visits", event_type="page_visited", points=1)
    scoring_rule_create(
        workspace=contact.workspace,
        name="Opens",
        event_type="email_opened",
        points=3,
        cap_points=50,
        cap_period=ScorePeriod.EVER,
    )
    env = {**os.environ, "DATABASE_URL": live_database_url(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    start = time.time() + 3  # both interpreters are up and connected by then
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER.format(activities=ACTIVITIES), str(contact.pk), str(start)],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr.decode()[-3000:]

    visits = 2 * ACTIVITIES
    assert Contact.objects.get(pk=contact.pk).score == visits + 50
    # Sixteen opens of 3 points, then one of the 2 left under the cap.
    assert ScoreChange.objects.filter(contact=contact, rule__name="Opens").count() == 17
    explanation = contact_score_explain(contact=contact)
    assert explanation["score"] == explanation["total_from_changes"] == visits + 50
