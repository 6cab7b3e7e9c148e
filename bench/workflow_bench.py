"""Workflow benchmark, end to end on PostgreSQL + Redis with the production processes.

usage: workflow_bench.py RESULTS_DIR DOC_PATH [--port 8100] [--web-workers 2] [--workers 2] [--forms 4]
                         [--flood-seconds 20] [--step-seconds 20] [--half-seconds 30] [--max-steps 4]
                         [--connections 32] [--command "make bench"]

Run with the environment bench/run.sh gives the server (DATABASE_URL names the benchmark database,
REDIS_URL the cache and broker, SECRET_KEY the one the form tokens are signed with, the form rate
limits raised). `--forms` workspaces each get a site with a contact form, a verified sender and an
active workflow on that form:

    form_submitted → condition (the contact's email is set and is one of ours) → add_tag "lead"
                   → send_email (subject and body personalised with the contact's first name)

Then it starts what production runs, all on loopback: uvicorn (`--web-workers`), a Celery worker
(prefork, `--workers` processes), Celery beat (the sweepers), and an SMTP server (bench/email_send.py
--sink) the worker delivers to. wrk posts the forms (bench/form.lua): the public endpoint
stores the submission and its `form.submitted` event; the worker's event dispatch upserts the
contact (the CRM's handler) and starts the execution (the workflows handler); the execution runs its
three steps in one task; the send is delivered by its own task. Latency is measured from the
submission's `created_at` to the execution's `finished_at`, both written by the application.

Phases, each bounded in time:
1. flood: wrk sends back to back over `--connections` connections for `--flood-seconds`. What the
   pipeline completes per second while the front door is saturated, and the backlog it leaves.
2. steps: paced load at rising rates (from 0.6 of the flood's completion rate, 1.25 times higher each step, at most
   `--max-steps`), `--step-seconds` each; a rate is sustained when, by the end of its load, no more
   than two seconds' worth of its submissions is still without a finished execution.
3. half: paced at half the highest sustained rate for `--half-seconds`: p50/p95 there.
Between phases the backlog drains (bounded), so each starts empty. CPU time of the web server, the
worker, beat, the SMTP server, PostgreSQL and Redis is read per phase (/proc, Redis INFO).

Checks: every acknowledged submission got exactly one execution; every execution succeeded with
three step runs; every send_email step made one ledger row; the SMTP server received each once.

Writes RESULTS_DIR/workflow.json and the section between the workflow markers of DOC_PATH.
"""

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from accounts.models import Workspace  # noqa: E402
from bench import pages as fixture  # noqa: E402
from bench.email_send import PostgresCpu, free_port, group_pids, process_cpu, sink_start, sink_stop, stop  # noqa: E402
from bench.email_setup import bench_sender, bench_workspace, load_average, postgres_version  # noqa: E402
from bench.report import parse_wrk, run_header, verdict, write_section  # noqa: E402
from builder import services as builder_services  # noqa: E402
from builder.form_tokens import form_token  # noqa: E402
from builder.models import Component, FormSubmission, Page, Site  # noqa: E402
from campaigns.models import EmailSend, Sender  # noqa: E402
from config.celery import app  # noqa: E402
from crm.models import Contact  # noqa: E402
from workflows.models import Execution, StepRun, Workflow  # noqa: E402
from workflows.services.workflows import workflow_activate, workflow_create, workflow_update  # noqa: E402

START = "<!-- bench:workflows:start -->"
END = "<!-- bench:workflows:end -->"
TARGET_PER_SECOND = 250
TARGET_HALF_P95_MS = 500
FLOOR_PER_HOUR = 10_000
FLOOR_AVERAGE_MS = 2000
WORKFLOW_NAME = "Workflow bench: welcome"
DRAIN_MAX_SECONDS = 600
DRAIN_STALL_SECONDS = 60
SITE_SLUG = "workflow-bench"
EMAIL_DOMAIN = "@bench.example.com"
#: Filled in by hand from the profiles (bench/workflow_profile.py) and the CPU columns; printed under
#: the results.
FINDINGS: list[str] = []


def definition(component: Component, sender: Sender) -> dict:
    return {
        "name": WORKFLOW_NAME,
        "trigger": {"type": "form_submitted", "config": {"component": str(component.pk)}},
        "nodes": [
            {
                "id": "check",
                "type": "condition",
                "config": {
                    "rules": {
                        "all": [
                            {"field": "contact.email", "op": "is_set"},
                            {"field": "contact.email", "op": "ends_with", "value": EMAIL_DOMAIN},
                        ]
                    }
                },
                "position": {"x": 300, "y": 100},
            },
            {"id": "tag", "type": "add_tag", "config": {"tag": "lead"}, "position": {"x": 550, "y": 100}},
            {
                "id": "welcome",
                "type": "send_email",
                "config": {
                    "subject": "Welcome, {{ contact.first_name | default('there') }}",
                    "content": "<p>Hi {{ contact.first_name | default('there') }},</p>"
                    "<p>Thanks for writing to us. We'll set up a trial with your data this week.</p>",
                    "sender": sender.pk,
                },
                "position": {"x": 800, "y": 100},
            },
        ],
        "edges": [
            {"source": "trigger", "target": "check"},
            {"source": "check", "port": "true", "target": "tag"},
            {"source": "tag", "target": "welcome"},
        ],
        "reentry": {"policy": "always"},
    }


# --- Fixture ----------------------------------------------------------------------------------------


def form_site(workspace: Workspace, user) -> Component:
    """The workspace's benchmark site: a home page holding one contact form."""
    site = Site.objects.filter(workspace=workspace, slug=SITE_SLUG).first()
    if site is None:
        site = builder_services.site_create(workspace=workspace, name="Workflow bench", actor=user)
        Site.objects.filter(pk=site.pk).update(slug=SITE_SLUG)
    page = Page.objects.get(site=site, is_home=True)
    form = Component.objects.filter(page=page, type="contact_form").first()
    if form is None:
        builder_services.page_tree_save(
            page=page, version=page.version, components=[fixture.contact_form()], actor=user, label="Benchmark form"
        )
        form = Component.objects.get(page=page, type="contact_form")
    return form


def workflow_active(workspace: Workspace, user, spec: dict) -> Workflow:
    """The workspace's benchmark workflow, active on `spec`."""
    workflow = Workflow.objects.filter(workspace=workspace, name=WORKFLOW_NAME).first()
    if workflow is None:
        workflow = workflow_create(workspace=workspace, name=WORKFLOW_NAME, definition=spec, actor=user)
    elif workflow.definition != spec:
        workflow = workflow_update(workflow=workflow, definition=spec, actor=user)
    workflow_activate(workflow=workflow, actor=user)
    workflow.refresh_from_db()
    return workflow


def setup(forms: int) -> list[dict]:
    made = []
    for n in range(1, forms + 1):
        workspace = bench_workspace(
            owner_email=f"workflow-bench-{n}@bench.example.com",
            owner_name=f"Workflow Bench {n}",
            name=f"Workflow bench {n}",
        )
        user = workspace.memberships.first().user
        # The single-send path checks the workspace's rate; the default would cap the run itself.
        sender = bench_sender(workspace, rate_per_minute=10**7)
        form = form_site(workspace, user)
        workflow = workflow_active(workspace, user, definition(form, sender))
        made.append({"workspace": workspace.pk, "form": str(form.pk), "workflow": workflow.pk})
    return made


# --- Processes --------------------------------------------------------------------------------------


class Processes:
    """uvicorn, a Celery worker, beat and the SMTP server, each in a process group of its own."""

    def __init__(self, results_dir: Path, *, port: int, web_workers: int, workers: int, pool: str = "prefork"):
        self.pool = pool
        self.results_dir = results_dir
        self.port = port
        self.smtp_port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.web_workers = web_workers
        self.workers = workers

    def _start(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.results_dir / f"{name}.log", "a")  # noqa: SIM115 — written to until the process stops
        proc = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
            argv,
            cwd=settings.BASE_DIR,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        self.procs["smtp"] = sink_start(self.smtp_port)
        app.control.purge()  # what an earlier run left on the benchmark's broker would run first
        bin_dir = Path(sys.executable).parent
        self._start(
            "web",
            [
                str(bin_dir / "uvicorn"),
                "config.asgi:application",
                *("--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.web_workers)),
                *("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--lifespan", "off"),
                *("--log-level", "warning"),
            ],
        )
        mail = {"EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_port}", "EMAIL_PROVIDER": ""}
        worker = [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning"]
        if self.pool == "solo":
            # One single-process worker per requested process: no pool between the broker and the task.
            for n in range(self.workers):
                self._start(f"worker{n}" if n else "worker", [*worker, "--pool", "solo", "-n", f"solo{n}@%h"], mail)
        else:
            self._start("worker", [*worker, "--pool", self.pool, "--concurrency", str(self.workers)], mail)
        self._start(
            "beat",
            [
                *(sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "warning"),
                *("--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"),
            ],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.web_ready() and len(app.control.ping(timeout=0.5)) >= 1:
                return
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SystemExit(f"workflow bench: {name} exited during start-up (see {name}.log)")
            time.sleep(0.2)
        raise SystemExit("workflow bench: the server or the worker did not start within 60 s")

    def web_ready(self) -> bool:
        import http.client

        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def cpu(self) -> dict[str, float]:
        cpu: dict[str, float] = {}
        for name, proc in self.procs.items():
            if proc.poll() is None:
                group = "worker" if name.startswith("worker") else name  # solo workers count together
                cpu[group] = cpu.get(group, 0.0) + process_cpu(group_pids(proc.pid))
        return cpu

    def stop(self) -> int:
        """Stop everything; the SMTP server's count of messages received."""
        for name, proc in self.procs.items():
            if name != "smtp":
                stop(proc)
        smtp = self.procs.get("smtp")
        return sink_stop(smtp)["count"] if smtp is not None else 0


def redis_cpu() -> float:
    info = redis.Redis.from_url(settings.REDIS_URL).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# --- Load and measurement ---------------------------------------------------------------------------


def wrk(url: str, forms_file: Path, *, prefix: str, seconds: float, connections: int, interval_ms: float, tick) -> dict:
    """wrk's figures; `tick()` is called every half second while it runs."""
    env = {
        **os.environ,
        "BENCH_FORMS_FILE": str(forms_file),
        "BENCH_FORM_EMAIL_PREFIX": prefix,
        "BENCH_FORM_INTERVAL_MS": str(interval_ms),
    }
    threads = 2 if connections >= 2 else 1
    load = subprocess.Popen(  # noqa: S603
        [
            *("wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s", "--timeout", "10s"),
            *("--latency", "-s", str(Path(__file__).with_name("form.lua")), url),
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    while load.poll() is None:
        tick()
        time.sleep(0.5)
    out = load.stdout.read()
    if load.returncode:
        raise SystemExit(f"workflow bench: wrk failed:\n{out}")
    return parse_wrk(out)


def broker_backlog() -> int:
    """Tasks waiting on the broker plus those a worker holds unacknowledged."""
    client = redis.Redis.from_url(app.conf.broker_url)
    return client.llen("celery") + client.hlen("unacked")


def phase_rows(prefix: str, form_ids: list[str], workflow_ids: list[int]) -> list[tuple]:
    """(submitted_at, execution created_at, started_at, finished_at, status, executions) per submission of
    the phase, executions joined through the contact the submission's email became."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.created_at, min(e.created_at), min(e.started_at), max(e.finished_at),
                   coalesce(max(e.status), ''), count(e.id)
            FROM {FormSubmission._meta.db_table} s
            LEFT JOIN {Contact._meta.db_table} c ON c.workspace_id = s.workspace_id AND c.email = s.email
            LEFT JOIN {Execution._meta.db_table} e ON e.contact_id = c.id AND e.workflow_id = ANY(%s)
            WHERE s.component_id::text = ANY(%s) AND s.email LIKE %s
            GROUP BY s.id, s.created_at
            """,  # noqa: S608 — table names from the models
            [workflow_ids, form_ids, prefix + "-%"],
        )
        return cursor.fetchall()


def unfinished(prefix: str, form_ids: list[str], workflow_ids: list[int]) -> int:
    return sum(1 for row in phase_rows(prefix, form_ids, workflow_ids) if row[4] not in ("succeeded", "failed"))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def summarise(rows: list[tuple], load_start: datetime.datetime, load_end: datetime.datetime) -> dict:
    def ms(a, b):
        return (b - a).total_seconds() * 1000

    done = [row for row in rows if row[4] == "succeeded"]
    latency = [ms(row[0], row[3]) for row in done]
    to_execution = [ms(row[0], row[1]) for row in done]
    queued = [ms(row[1], row[2]) for row in done if row[2]]
    running = [ms(row[2], row[3]) for row in done if row[2]]
    window = (load_end - load_start).total_seconds()
    finished_in_load = sum(1 for row in done if load_start <= row[3] <= load_end)
    # The first seconds only fill the pipeline: the rate is read over the load's second half too.
    half = load_start + (load_end - load_start) / 2
    finished_late_half = sum(1 for row in done if half <= row[3] <= load_end)
    submitted_by_end = sum(1 for row in rows if row[0] <= load_end)
    backlog_at_end = submitted_by_end - finished_in_load - sum(1 for row in done if row[3] < load_start)
    # Throughput over the whole burst, drain included: what the pipeline got through per second while
    # it had work queued (with a flood, the front door takes its CPU for the load's part only).
    last = max((row[3] for row in done), default=None)
    through = (last - load_start).total_seconds() if last else 0.0
    return {
        "through_per_second": len(done) / through if through > 0 else 0.0,
        "submissions": len(rows),
        "succeeded": len(done),
        "failed": sum(1 for row in rows if row[4] == "failed"),
        "without_execution": sum(1 for row in rows if row[5] == 0),
        "duplicate_executions": sum(1 for row in rows if row[5] > 1),
        "offered_per_second": len(rows) / window if window else 0.0,
        "completed_per_second": finished_in_load / window if window else 0.0,
        "completed_per_second_second_half": finished_late_half / (window / 2) if window else 0.0,
        "backlog_at_end": backlog_at_end,
        "p50_ms": percentile(latency, 50),
        "p95_ms": percentile(latency, 95),
        "p99_ms": percentile(latency, 99),
        "mean_ms": sum(latency) / len(latency) if latency else math.nan,
        "max_ms": max(latency) if latency else math.nan,
        "to_execution_p50_ms": percentile(to_execution, 50),
        "to_execution_p95_ms": percentile(to_execution, 95),
        "queued_p50_ms": percentile(queued, 50),
        "queued_p95_ms": percentile(queued, 95),
        "running_p50_ms": percentile(running, 50),
        "running_p95_ms": percentile(running, 95),
    }


def db_now() -> datetime.datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


class Run:
    def __init__(self, args, fixture_rows: list[dict], procs: Processes):
        self.args = args
        self.procs = procs
        self.form_ids = [row["form"] for row in fixture_rows]
        self.workflow_ids = [row["workflow"] for row in fixture_rows]
        self.forms_file = args.results_dir / "forms.txt"
        self.forms_file.write_text("".join(f"{form} {form_token(form)}\n" for form in self.form_ids))
        self.url = f"http://127.0.0.1:{args.port}/f/{self.form_ids[0]}/"
        self.run_id = uuid.uuid4().hex[:8]
        self.phases: list[dict] = []

    def phase(self, name: str, *, seconds: float, rate: float | None) -> dict:
        """Load for `seconds` (paced at `rate` submissions/s, or back to back when None), then let the
        backlog drain (bounded); the phase's figures."""
        prefix = f"wf-{self.run_id}-{name}"
        if rate is None:
            connections, interval = self.args.connections, 0.0
        else:
            # Enough connections that each pauses about a second between requests, well over a loaded
            # server's answer time, so the pace is the rate asked for rather than the answers'.
            connections = max(2, min(64, math.ceil(rate)))
            interval = 1000.0 * connections / rate
        postgres = PostgresCpu()
        cpu_before, redis_before = self.procs.cpu(), redis_cpu()
        queue = [0]

        def tick() -> None:
            postgres.sample()
            queue[0] = max(queue[0], broker_backlog())

        load_start = db_now()
        result = wrk(
            self.url,
            self.forms_file,
            prefix=prefix,
            seconds=seconds,
            connections=connections,
            interval_ms=interval,
            tick=tick,
        )
        load_end = db_now()
        tick()
        # Drain, bounded: the phase's executions finished and the broker empty (the contact.created,
        # tag.added and email.sent dispatches and the deliveries come after the executions), so the
        # next phase starts from nothing queued.
        drain_start = time.monotonic()
        pending = unfinished(prefix, self.form_ids, self.workflow_ids)
        # Bounded twice: ten minutes in all, and a minute without any progress.
        deadline, best, progress_at = drain_start + DRAIN_MAX_SECONDS, (pending, broker_backlog()), drain_start
        while (pending or broker_backlog()) and time.monotonic() < deadline:
            time.sleep(1)
            tick()
            pending = unfinished(prefix, self.form_ids, self.workflow_ids)
            now_left = (pending, broker_backlog())
            if now_left[0] < best[0] or now_left[1] < best[1]:
                best, progress_at = (min(best[0], now_left[0]), min(best[1], now_left[1])), time.monotonic()
            elif time.monotonic() - progress_at > DRAIN_STALL_SECONDS:
                break
        drain_seconds = time.monotonic() - drain_start
        left_on_broker = broker_backlog()
        postgres.sample()
        cpu_after = self.procs.cpu()
        cpu = {name: cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0) for name in cpu_before}
        cpu["postgres"] = postgres.seconds()
        cpu["redis"] = redis_cpu() - redis_before
        summary = summarise(phase_rows(prefix, self.form_ids, self.workflow_ids), load_start, load_end)
        summary.update(
            name=name,
            prefix=prefix,
            rate=rate,
            seconds=seconds,
            connections=connections,
            interval_ms=interval,
            wrk=result,
            accepted_per_second=result["created"] / result["seconds"] if result["seconds"] else 0.0,
            drain_seconds=drain_seconds,
            unfinished_after_drain=pending,
            left_on_broker=left_on_broker,
            max_broker_backlog=queue[0],
            cpu=cpu,
            loadavg_end=load_average(),
        )
        # Sustained: by the end of the load, at most two seconds' worth of it still unfinished.
        summary["kept_up"] = summary["backlog_at_end"] <= max(5.0, 2 * summary["offered_per_second"])
        print(f"workflow bench: {name}: {json.dumps(summary, default=str)}", file=sys.stderr)
        self.phases.append(summary)
        return summary


def checks(run: Run, received: int, started_at: datetime.datetime) -> dict:
    prefixes = [phase["prefix"] for phase in run.phases] + [f"wf-{run.run_id}-warmup"]
    emails = FormSubmission.objects.filter(component_id__in=run.form_ids, email__startswith=f"wf-{run.run_id}-")
    executions = Execution.objects.filter(
        workflow_id__in=run.workflow_ids, contact__email__startswith=f"wf-{run.run_id}-"
    )
    steps = StepRun.objects.filter(execution__in=executions)
    sends = EmailSend.objects.filter(
        workspace_id__in=Workflow.objects.filter(pk__in=run.workflow_ids).values("workspace")
    )
    sends = sends.filter(to_email__startswith=f"wf-{run.run_id}-")
    return {
        "prefixes": prefixes,
        "submissions": emails.count(),
        "executions": executions.count(),
        "succeeded": executions.filter(status="succeeded").count(),
        "statuses": dict(executions.values_list("status").annotate(n=Count("id")).order_by()),
        "step_runs": steps.count(),
        "step_runs_succeeded": steps.filter(status="succeeded").count(),
        "ledger_rows": sends.count(),
        "ledger_sent": sends.filter(status="sent").count(),
        "duplicate_keys": sends.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1).count(),
        "received_by_smtp": received,
        # The SMTP server also gets whatever else the worker delivers meanwhile (a sweeper's leftovers).
        "ledger_sent_during_run": EmailSend.objects.filter(sent_at__gte=started_at).count(),
    }


# --- Report -----------------------------------------------------------------------------------------


NONE = "\u2013"  # an en dash, for a figure there is none of


def fmt(value: float, digits: int = 0) -> str:
    return NONE if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def report(results: dict, doc_path: Path, command: str) -> None:
    phases = results["phases"]
    sustained = results["sustained_per_second"]
    half = next((p for p in phases if p["name"] == "half"), None)
    check = results["checks"]
    correct = (
        check["executions"] == check["submissions"]
        and check["succeeded"] == check["executions"]
        and check["step_runs_succeeded"] == 3 * check["executions"]
        and check["ledger_rows"] == check["executions"]
        and check["duplicate_keys"] == 0
        and check["ledger_sent"] == check["ledger_rows"]
        and check["received_by_smtp"] == check["ledger_sent_during_run"]
    )
    rate_ok = sustained >= TARGET_PER_SECOND
    half_ok = half is not None and half["p95_ms"] <= TARGET_HALF_P95_MS and half["kept_up"]
    # The floor's average is over the paced runs that kept up: a flood's queue grows for as long as it lasts.
    worst_mean = max((p["mean_ms"] for p in phases if p["kept_up"] and p["name"] != "flood"), default=math.nan)
    floor_ok = sustained * 3600 >= FLOOR_PER_HOUR and worst_mean < FLOOR_AVERAGE_MS
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(check["statuses"].items()))
    if results["pool"] == "solo":
        worker_shown = f"{results['workers']} processes of `celery worker --pool solo`"
    else:
        worker_shown = f"`celery worker --pool {results['pool']} --concurrency {results['workers']}`"
    lines = [
        START,
        *run_header(command, loadavg=results["loadavg_start"], pg_version=results["pg_version"], redis=True),
        f"- Processes, all on this machine: `uvicorn config.asgi:application --workers {results['web_workers']}` "
        f"(uvloop, httptools), {worker_shown}, `celery beat` "
        "(the sweepers), an aiosmtpd server (`bench/email_send.py --sink`), wrk (`bench/form.lua`)",
        f"- Workflow, active in each of {results['forms']} workspaces on its site's contact form: "
        "`form_submitted` → `condition` (email set and ours) → `add_tag` lead → `send_email` "
        "(personalised subject and body, a verified sender)",
        "",
        "Latency is from the submission's `created_at` (the form endpoint's INSERT) to the execution's "
        "`finished_at`: the event's dispatch, the contact upsert, the execution's start, its queueing and its "
        "three steps. _To execution_ is submission → execution row; _queued_ is execution row → a worker "
        "starting it; _running_ is its steps. Completed/s counts executions finished during the load, "
        "_to the last one_ all of the phase's executions over the time from the load's start to the last "
        "one finished (a flood's drain included); "
        "_backlog_ is the load's submissions still without a finished execution when it stopped; _tasks on the "
        "broker_ counts queued and unacknowledged Celery tasks, sampled every half second. CPU seconds "
        "(from /proc; Redis from INFO) cover the load and the drain after it.",
        "",
        "| phase | offered (submissions/s) | completed executions/s | executions/s to the last one "
        "| backlog at end | most tasks on the broker | p50 (ms) | p95 (ms) "
        "| p99 (ms) | mean (ms) | to execution p50 / p95 (ms) | queued p50 / p95 (ms) | running p50 / p95 (ms) "
        "| CPU s: web / worker / beat / PostgreSQL / Redis / SMTP | CPU ms per execution | kept up |",
        "| --- " + "| ---: " * 12 + "| --- | ---: | --- |",
    ]
    for p in phases:
        cpu = p["cpu"]
        total = sum(cpu.values())
        per = 1000 * total / p["succeeded"] if p["succeeded"] else math.nan
        label = p["name"] if p["rate"] is None else f"{p['name']} (paced at {p['rate']:.0f}/s)"
        lines.append(
            f"| {label} | {fmt(p['offered_per_second'], 1)} | {fmt(p['completed_per_second'], 1)} | "
            f"{fmt(p['through_per_second'], 1)} | {p['backlog_at_end']:,} | {p['max_broker_backlog']:,} | "
            f"{fmt(p['p50_ms'])} | {fmt(p['p95_ms'])} | {fmt(p['p99_ms'])} | "
            f"{fmt(p['mean_ms'])} | {fmt(p['to_execution_p50_ms'])} / {fmt(p['to_execution_p95_ms'])} | "
            f"{fmt(p['queued_p50_ms'])} / {fmt(p['queued_p95_ms'])} | "
            f"{fmt(p['running_p50_ms'])} / {fmt(p['running_p95_ms'])} | "
            f"{cpu.get('web', 0):.1f} / {cpu.get('worker', 0):.1f} / {cpu.get('beat', 0):.1f} / "
            f"{cpu.get('postgres', 0):.1f} / {cpu.get('redis', 0):.1f} / {cpu.get('smtp', 0):.1f} | "
            f"{fmt(per, 1)} | {'yes' if p['kept_up'] else 'no'} |"
        )
    lines += [
        "",
        f"Checks over every submission of the run: {check['submissions']:,} submissions, "
        f"{check['executions']:,} executions ({statuses}), "
        f"{check['step_runs']:,} step runs ({check['step_runs_succeeded']:,} succeeded), "
        f"{check['ledger_rows']:,} ledger rows ({check['ledger_sent']:,} sent, "
        f"{check['duplicate_keys']} keys repeated), "
        f"{check['received_by_smtp']:,} messages received by the SMTP server "
        f"({check['ledger_sent_during_run']:,} ledger rows of any workspace sent during the run): "
        f"{'all consistent' if correct else 'NOT consistent'}.",
        "",
        "| measure | target | measured | |",
        "| --- | --- | ---: | --- |",
        f"| sustained executions/s (the highest paced rate that kept up) | ≥ {TARGET_PER_SECOND}/s | "
        f"{fmt(sustained, 1)} | {verdict(rate_ok)} |",
        f"| p95 at half that rate | ≤ {TARGET_HALF_P95_MS} ms | {fmt(half['p95_ms']) if half else NONE} ms | "
        f"{verdict(half_ok)} |",
        f"| floor: executions per hour, average latency while keeping up | ≥ {FLOOR_PER_HOUR:,}/h, < 2 s | "
        f"{fmt(sustained * 3600)}/h, {fmt(worst_mean)} ms | "
        f"{verdict(floor_ok)} |",
    ]
    for finding in FINDINGS:
        lines += ["", finding]
    lines += [
        "",
        f"Verdicts: rate {verdict(rate_ok)}; p95 at half rate {verdict(half_ok)}; floor {verdict(floor_ok)}; "
        f"consistency {verdict(correct)}.",
        END,
    ]
    write_section(doc_path, "\n".join(lines), start=START, end=END, heading="Workflows: form to email, end to end")


# --- Main -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("doc_path", type=Path)
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pool", default="prefork", choices=["prefork", "solo", "threads"], help="the Procfile runs prefork"
    )
    parser.add_argument("--forms", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--flood-seconds", type=float, default=10)
    parser.add_argument("--step-seconds", type=float, default=20)
    parser.add_argument("--half-seconds", type=float, default=30)
    parser.add_argument("--max-steps", type=int, default=4)
    parser.add_argument("--rates", default="", help="paced rates to try instead of the ladder, e.g. 20,30,40")
    parser.add_argument("--command", default="make bench")
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise SystemExit("the workflow benchmark needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "loadavg_start": load_average(),
        "forms": args.forms,
        "web_workers": args.web_workers,
        "workers": args.workers,
        "pool": args.pool,
        "fixture": setup(args.forms),
    }
    procs = Processes(
        args.results_dir, port=args.port, web_workers=args.web_workers, workers=args.workers, pool=args.pool
    )
    received = 0
    started_at = db_now()
    try:
        procs.start()
        run = Run(args, results["fixture"], procs)
        run.phase("warmup", seconds=5, rate=5)
        run.phases.clear()
        flood = run.phase("flood", seconds=args.flood_seconds, rate=None)
        if args.rates:
            rates = [float(rate) for rate in args.rates.split(",")]
        else:
            # A backlog drains faster than paced load is served (work piles into fewer, fuller tasks), so
            # the ladder starts below the flood's throughput.
            start = max(2.0, math.floor(0.6 * flood["through_per_second"]))
            rates = [round(start * 1.25**n) for n in range(args.max_steps)]
        sustained = 0.0
        for n, rate in enumerate(rates, 1):
            step = run.phase(f"step{n}", seconds=args.step_seconds, rate=rate)
            if not step["kept_up"]:
                break
            sustained = max(sustained, step["completed_per_second"])
        rate = rates[0]
        while sustained == 0.0 and rate > 1.0:
            # Not even the first paced rate kept up: step down by halves, so the sustained and half-rate
            # figures exist.
            rate = max(1.0, rate / 2)
            step = run.phase(f"down{rate:g}", seconds=args.step_seconds, rate=rate)
            sustained = step["completed_per_second"] if step["kept_up"] else 0.0
        results["sustained_per_second"] = sustained
        run.phase("half", seconds=args.half_seconds, rate=max(1.0, sustained / 2))
    finally:
        received = procs.stop()
    results["phases"] = run.phases
    results["checks"] = checks(run, received, started_at)
    results["pg_version"] = postgres_version()
    (args.results_dir / "workflow.json").write_text(json.dumps(results, indent=2, default=str))
    report(results, args.doc_path, args.command)


if __name__ == "__main__":
    main()
