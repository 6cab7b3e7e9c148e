"""Real Celery processes for crash tests: workers (and beat) started against the live database and a
broker of the test's own, SIGKILLed whole (a worker's pool processes too), and waited on."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from tests.conftest import celery_broker, live_database_url


@contextmanager
def empty_broker(url: str):
    """celery_broker(url), emptied first: a Redis database of the test's own may still hold what an
    earlier, interrupted run queued, and a worker would run it."""
    with celery_broker(url) as app:
        with app.connection_for_write() as conn:
            conn.default_channel.client.flushdb()
        yield app


def _celery_start(var_dir: Path, arguments: list[str], log_name: str, broker: str, env: dict) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": live_database_url(),
        "CELERY_BROKER_URL": broker,
        "VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    log = open(var_dir / log_name, "a")  # noqa: SIM115 — closed by worker_kill()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", *arguments, "-l", "warning"],
        cwd=settings.BASE_DIR,
        env=environment,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log = log
    return process


def worker_start(
    var_dir: Path, *, broker: str, concurrency: int = 1, smtp_port: int | None = None, **env: str
) -> subprocess.Popen:
    """A `celery worker` on the live database and `broker`, with `env` on top, delivering email to the
    local SMTP server at `smtp_port` if given; its output goes to var_dir/worker.log (read it when a
    test fails)."""
    if smtp_port is not None:
        env = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}", "EMAIL_PROVIDER": "", **env}
    return _celery_start(var_dir, ["worker", "--concurrency", str(concurrency)], "worker.log", broker, env)


def beat_start(var_dir: Path, *, broker: str, **env: str) -> subprocess.Popen:
    """`celery beat` publishing to `broker`, checking its schedule every second; output in var_dir/beat.log.
    Stop it with worker_kill()."""
    return _celery_start(var_dir, ["beat", "--max-interval", "1"], "beat.log", broker, env)


def worker_kill(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    worker.log.close()


def wait_for(condition, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
