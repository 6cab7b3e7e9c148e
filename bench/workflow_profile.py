"""Where a workflow execution's time goes: the benchmark's pipeline replayed in one process, stage by stage.

usage: workflow_profile.py OUT_DIR [--executions 200] [--forms 4] [--cprofile]

Run with the environment bench/run.sh gives the server (DATABASE_URL, REDIS_URL, SECRET_KEY), with
no Celery worker on that broker: the tasks this process publishes are purged at the end. Uses the
fixture of bench/workflow_bench.py (same workspaces, forms and workflow). For `--executions`
submissions it runs, one stage at a time over all of them, what the worker would:

1. `form_submission_create` (the form endpoint's service, without HTTP);
2. the `form.submitted` dispatch (`core.events.dispatch.process_event`): the CRM's contact upsert and
   the workflows handler starting the execution;
3. `execution_run` for each execution: condition → add_tag → send_email;
4. the other events those made (`contact.created`, `tag.added`, …) dispatched the same way;
5. `deliver_send` of each ledger row to an SMTP server on loopback (bench/email_send.py --sink).

Per stage: wall and CPU milliseconds per execution (the difference is waiting, mostly on PostgreSQL),
SQL statements per execution (the most frequent ones listed), and with `--cprofile` cProfile's top
functions by own and cumulative time (the profiler's overhead then inflates the timings: take those
from a run without it). Writes OUT_DIR/workflow_profile.json and .txt.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _sink() -> tuple[subprocess.Popen, int]:
    # Before Django reads EMAIL_URL: the deliveries of stage 5 go to this server.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
        [sys.executable, str(Path(__file__).with_name("email_send.py")), "--sink", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert smtp.stdout.readline().strip() == "ready"
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    os.environ["EMAIL_PROVIDER"] = ""
    return smtp, port


SMTP, SMTP_PORT = _sink()

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.workflow_bench import setup  # noqa: E402
from builder.models import Component  # noqa: E402
from builder.services.submissions import form_submission_create  # noqa: E402
from campaigns.models import EmailSend  # noqa: E402
from config.celery import app  # noqa: E402
from core.events.dispatch import process_event  # noqa: E402
from core.models import Event  # noqa: E402
from workflows.models import Execution  # noqa: E402


def normalise(sql: str) -> str:
    """A statement's shape: its first 90 characters up to the WHERE, values left out."""
    head = sql.split(" WHERE ")[0]
    return head[:90]


PROFILE = "--cprofile" in sys.argv


class Stage:
    def __init__(self, name: str, count: int):
        self.name, self.count = name, count
        self.profile = cProfile.Profile()
        self.queries: list[str] = []
        self.wall = self.cpu = 0.0

    def run(self, items, func) -> list:
        out = []
        for item in items:
            # One capture per item, from an empty log: the connection keeps only its last 9,000 statements.
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                wall, cpu = time.perf_counter(), time.process_time()
                if PROFILE:
                    self.profile.enable()
                out.append(func(item))
                if PROFILE:
                    self.profile.disable()
                self.wall += time.perf_counter() - wall
                self.cpu += time.process_time() - cpu
            self.queries += [query["sql"] for query in captured.captured_queries]
        return out

    def summary(self) -> dict:
        shapes = Counter(normalise(sql) for sql in self.queries)
        return {
            "stage": self.name,
            "items": self.count,
            "wall_ms_per_execution": 1000 * self.wall / self.count,
            "cpu_ms_per_execution": 1000 * self.cpu / self.count,
            "queries_per_execution": len(self.queries) / self.count,
            "top_statements": [[n / self.count, shape] for shape, n in shapes.most_common(12)],
        }

    def text(self) -> str:
        if not PROFILE:
            return ""
        buffer = io.StringIO()
        stats = pstats.Stats(self.profile, stream=buffer)
        buffer.write(f"\n===== {self.name}: by own time =====\n")
        stats.sort_stats("tottime").print_stats(25)
        buffer.write(f"\n===== {self.name}: by cumulative time =====\n")
        stats.sort_stats("cumulative").print_stats(40)
        return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--forms", type=int, default=4)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    fixture = setup(args.forms)
    forms = [
        Component.objects.select_related("page").get(pk=row["form"]) for row in fixture
    ]  # as the endpoint loads it
    run = f"prof-{int(time.time())}"
    n = args.executions
    items = [(forms[i % len(forms)], f"{run}-{i}@bench.example.com", i) for i in range(n)]
    first_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    stages = {}

    # Warm-up: one of everything, so imports, caches and compiled templates are not in the figures.
    def one_full(email):
        sub = form_submission_create(
            component=forms[0],
            data={"name": "Warm Up", "email": email, "message": "hi"},
            consent_given=False,
            ip="127.0.0.1",
            user_agent="bench",
        )
        event = Event.objects.get(type="form.submitted", payload__submission_id=sub.pk)
        process_event(event.pk)
        from workflows.tasks.engine import execution_run

        for execution in Execution.objects.filter(contact__email=email).values_list("pk", flat=True):
            execution_run(execution)

    one_full(f"{run}-warm@bench.example.com")

    stages["submit"] = Stage("1. form_submission_create", n)
    submissions = stages["submit"].run(
        items,
        lambda item: form_submission_create(
            component=item[0],
            data={"name": f"Bench Visitor {item[2]}", "email": item[1], "message": "Hello, a trial please."},
            consent_given=False,
            ip="127.0.0.1",
            user_agent="bench",
        ),
    )
    events = list(
        Event.objects.filter(pk__gt=first_event, type="form.submitted", payload__email__startswith=f"{run}-")
        .exclude(payload__email__endswith="warm@bench.example.com")
        .values_list("pk", flat=True)
    )
    assert len(events) == n, (len(events), n)
    stages["dispatch"] = Stage("2. form.submitted dispatch (contact upsert, execution start)", n)
    stages["dispatch"].run(events, process_event)

    from workflows.tasks.engine import execution_run

    executions = list(
        Execution.objects.filter(contact__email__startswith=f"{run}-", status="pending")
        .exclude(contact__email__endswith="warm@bench.example.com")
        .values_list("pk", flat=True)
    )
    stages["run"] = Stage("3. execution_run (condition, add_tag, send_email)", n)
    stages["run"].run(executions, execution_run)

    others = list(
        Event.objects.filter(pk__gt=max(events), dispatched_at__isnull=True).order_by("pk").values_list("pk", "type")
    )
    stages["events"] = Stage(f"4. the other events ({dict(Counter(t for _, t in others))})", n)
    stages["events"].run([pk for pk, _ in others], process_event)

    from campaigns.tasks.delivery import deliver_send

    sends = list(
        EmailSend.objects.filter(to_email__startswith=f"{run}-", status="queued")
        .exclude(to_email__endswith="warm@bench.example.com")
        .values_list("pk", flat=True)
    )
    # The warm-up's message too (untimed), or the ledger's sweeper would deliver it to a later run's server.
    for pk in EmailSend.objects.filter(to_email=f"{run}-warm@bench.example.com", status="queued").values_list(
        "pk", flat=True
    ):
        deliver_send(pk)
    stages["deliver"] = Stage("5. deliver_send to the SMTP server", n)
    stages["deliver"].run(sends, deliver_send)

    app.control.purge()
    SMTP.send_signal(signal.SIGTERM)
    received = json.loads(SMTP.communicate(timeout=30)[0].strip().splitlines()[-1])["count"]
    statuses = Counter(Execution.objects.filter(pk__in=executions).values_list("status", flat=True))
    result = {
        "executions": n,
        "submissions": len(submissions),
        "execution_statuses": dict(statuses),
        "sends": len(sends),
        "received_by_smtp": received,
        "stages": [stage.summary() for stage in stages.values()],
    }
    result["total_cpu_ms_per_execution"] = sum(s["cpu_ms_per_execution"] for s in result["stages"])
    result["total_wall_ms_per_execution"] = sum(s["wall_ms_per_execution"] for s in result["stages"])
    result["total_queries_per_execution"] = sum(s["queries_per_execution"] for s in result["stages"])
    (args.out_dir / "workflow_profile.json").write_text(json.dumps(result, indent=2))
    (args.out_dir / "workflow_profile.txt").write_text("".join(stage.text() for stage in stages.values()))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
