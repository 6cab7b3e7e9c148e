"""Real Celery worker processes for crash tests: started against the live database and a broker of
the test's own, SIGKILLed whole (its pool processes too), and waited on."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from tests.conftest import live_database_url


def worker_start(var_dir: Path, *, broker: str, concurrency: int = 1, **env: str) -> subprocess.Popen:
    """A `celery worker` on the live database and `broker`, with `env` on top; its output goes to
    var_dir/worker.log (read it when a test fails)."""
    environment = {
        **os.environ,
        "DATABASE_URL": live_database_url(),
        "CELERY_BROKER_URL": broker,
        "VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    log = open(var_dir / "worker.log", "a")  # noqa: SIM115 — closed by worker_kill()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", str(concurrency), "-l", "warning"],
        cwd=settings.BASE_DIR,
        env=environment,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker.log = log
    return worker


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
