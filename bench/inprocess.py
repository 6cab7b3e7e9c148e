"""Per-request CPU of the builder endpoints, in-process: Django's test Client against the benchmark
database, pools warm, throttles on, no server or network in between.

usage: inprocess.py BUILDER_DIR [--endpoint tree|form] [--requests 300] [--profile]

BUILDER_DIR is what bench/setup_data.py --builder wrote. Run with the environment bench/run.sh gives
the server (its SECRET_KEY too, or the form tokens will not verify). --profile prints cProfile's top
functions instead of timings; the shares tell where a request's time goes without a sampling
profiler attached to a server.
"""

import argparse
import cProfile
import itertools
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.test import Client  # noqa: E402


def tree_requests(builder: Path):
    pairs = [line.split() for line in (builder / "tree_tokens.txt").read_text().splitlines() if line.strip()]
    client = Client(SERVER_NAME="127.0.0.1")
    for token, path in itertools.cycle(pairs):
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/json")
        assert response.status_code == 200, (response.status_code, response.content[:300])
        yield


def form_requests(builder: Path):
    forms = [line.split() for line in (builder / "forms.txt").read_text().splitlines() if line.strip()]
    client = Client(SERVER_NAME="127.0.0.1")
    run = int(time.time())
    for n, (component_id, token) in enumerate(itertools.cycle(forms)):
        response = client.post(
            f"/f/{component_id}/",
            urlencode(
                {
                    "name": f"Bench Visitor {n}",
                    "email": f"inprocess-{run}-{n}@bench.example.com",
                    "message": "Hello, we run a small SaaS and would like a trial with our own data.",
                    "website_url": "",
                    "_ts": token,
                }
            ),
            HTTP_ACCEPT="application/json",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 201, (response.status_code, response.content[:300])
        yield


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("builder", type=Path)
    parser.add_argument("--endpoint", choices=["tree", "form"], default="tree")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    requests = (tree_requests if args.endpoint == "tree" else form_requests)(args.builder)
    for _ in range(30):
        next(requests)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            next(requests)
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(70)
        return
    times = []
    for _ in range(args.requests):
        start = time.perf_counter()
        next(requests)
        times.append(time.perf_counter() - start)
    ms = sorted(t * 1000 for t in times)
    print(
        f"{args.endpoint}: {len(ms)} requests, median {statistics.median(ms):.2f} ms, "
        f"p95 {ms[int(len(ms) * 0.95) - 1]:.2f} ms, min {ms[0]:.2f} ms, mean {statistics.fmean(ms):.2f} ms"
    )


if __name__ == "__main__":
    main()
