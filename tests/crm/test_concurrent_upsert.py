"""Two processes upserting the same emails at the same moment end with one contact per email."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.models import Event
from crm.events import CONTACT_CREATED
from crm.models import ActivityKind, Contact, ContactActivity
from tests.conftest import live_database_url
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

EMAILS = 40
WRITER = """
import random, sys, time
import django
django.setup()
from accounts.models import Workspace
from crm.services.contacts import contact_upsert

workspace = Workspace.objects.get(pk=int(sys.argv[1]))
start, seed = float(sys.argv[2]), int(sys.argv[3])
emails = [f"Person{{i}}@Example.com" for i in range({emails})]
random.Random(seed).shuffle(emails)
time.sleep(max(0.0, start - time.time()))
for email in emails:
    spelled = email if seed % 2 else f"  {{email.lower()}} "
    contact_upsert(workspace=workspace, email=spelled, company=f"Writer {{seed}}")
"""


def test_concurrent_upserts_of_one_email_make_one_contact(tmp_path: Path):
    workspace = WorkspaceFactory()
    env = {**os.environ, "DATABASE_URL": live_database_url(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    start = time.time() + 3  # both interpreters are up and connected by then
    script = WRITER.format(emails=EMAILS)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(workspace.pk), str(start), str(seed)],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            stderr=subprocess.PIPE,
        )
        for seed in (1, 2)
    ]
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr.decode()[-3000:]

    contacts = Contact.objects.filter(workspace=workspace)
    assert contacts.count() == EMAILS
    assert set(contacts.values_list("email", flat=True)) == {f"person{i}@example.com" for i in range(EMAILS)}
    assert Event.objects.filter(workspace=workspace, type=CONTACT_CREATED).count() == EMAILS
    assert ContactActivity.objects.filter(workspace=workspace, kind=ActivityKind.CONTACT_CREATED).count() == EMAILS
