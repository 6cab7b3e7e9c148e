"""What the form benchmark stored: FormSubmission rows and form.submitted events of the benchmark forms.

usage: form_check.py FORMS_FILE                      prints the current counts as JSON
       form_check.py FORMS_FILE BEFORE.json IDS_DIR  prints what was added since BEFORE.json, and
                                                     which acknowledged submission ids are missing

FORMS_FILE is bench/setup_data.py's forms.txt; IDS_DIR holds bench/form.lua's ids-*.txt (the
submission_id of every 201). Counting before and after the measured run leaves out earlier runs
and the warm-up; the ids tie every 201 to a row.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db.models import Max  # noqa: E402

from builder.components.types import FORM_SUBMITTED  # noqa: E402
from builder.models import Component, FormSubmission  # noqa: E402
from core.models import Event  # noqa: E402


def counts(component_ids: list[str]) -> dict:
    workspaces = set(Component.objects.filter(pk__in=component_ids).values_list("workspace_id", flat=True))
    submissions = FormSubmission.objects.filter(component_id__in=component_ids)
    events = Event.objects.filter(type=FORM_SUBMITTED, workspace_id__in=workspaces)
    return {
        "submissions": submissions.count(),
        "max_submission_id": submissions.aggregate(m=Max("pk"))["m"] or 0,
        "events": events.count(),
        "max_event_id": events.aggregate(m=Max("pk"))["m"] or 0,
    }


def main() -> None:
    forms_file = Path(sys.argv[1])
    component_ids = [line.split()[0] for line in forms_file.read_text().splitlines() if line.strip()]
    now = counts(component_ids)
    if len(sys.argv) == 2:
        print(json.dumps(now))
        return
    before = json.loads(Path(sys.argv[2]).read_text())
    acknowledged = {
        int(line) for path in Path(sys.argv[3]).glob("ids-*.txt") for line in path.read_text().split() if line
    }
    found = set(FormSubmission.objects.filter(pk__in=acknowledged).values_list("pk", flat=True))
    new = FormSubmission.objects.filter(component_id__in=component_ids, pk__gt=before["max_submission_id"])
    emails = new.values_list("email", flat=True)
    events = Event.objects.filter(type=FORM_SUBMITTED, pk__gt=before["max_event_id"])
    event_ids = {int(payload["submission_id"]) for payload in events.values_list("payload", flat=True)}
    print(
        json.dumps(
            {
                "stored": now["submissions"] - before["submissions"],
                "events": now["events"] - before["events"],
                "acknowledged": len(acknowledged),
                "acknowledged_missing": len(acknowledged - found),
                "acknowledged_without_event": len(acknowledged - event_ids),
                "distinct_emails": emails.order_by().distinct().count(),
            }
        )
    )


if __name__ == "__main__":
    main()
