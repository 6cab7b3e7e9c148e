"""In-process timing of the page renderer on the benchmark's 40-component page (bench/pages.py).

usage: render.py [--page-id ID] [--runs 200] [--warmup 20] [--out FILE.json] [--profile N]

Run with the benchmark database's environment (bench/run.sh does): the page is one that
bench/setup_data.py --builder stored. Two measurements, one render per timed call:

- render_document(...): the pure renderer, given the site, page, tree and page list already read;
- render_page(page): the same plus its database reads (site, page list, tree: three queries).

GC stays enabled while timing (timeit turns it off by default): collections are part of what a
render costs in a server. --profile N prints cProfile's top functions over N pure renders instead.
"""

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from builder.models import Component, Page, Site  # noqa: E402
from builder.rendering import NavPage, PageData, SiteData, render_document, render_page  # noqa: E402
from builder.selectors import page_tree  # noqa: E402


def _document_args(page: Page) -> dict:
    """What render_page reads from the database, read once."""
    site = Site.objects.get(pk=page.site_id)
    nav = Page.objects.filter(site_id=page.site_id).order_by("order", "id").values_list("title", "path")
    return {
        "site": SiteData(
            name=site.name,
            theme=site.theme,
            seo=site.seo,
            favicon=site.favicon,
            turnstile_site_key=site.turnstile_site_key if site.turnstile_enabled else "",
        ),
        "page": PageData(
            title=page.title,
            path=page.path,
            seo_title=page.seo_title,
            seo_description=page.seo_description,
            og_image=page.og_image,
        ),
        "tree": page_tree(page=page),
        "nav_pages": [NavPage(title=title, path=path) for title, path in nav],
    }


def _summary(seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "runs": len(ms),
        "median_ms": statistics.median(ms),
        "p95_ms": ms[max(0, -(-95 * len(ms) // 100) - 1)],
        "min_ms": ms[0],
        "mean_ms": statistics.fmean(ms),
        "max_ms": ms[-1],
    }


def _time(func, runs: int, warmup: int) -> dict:
    for _ in range(warmup):
        func()
    timer = timeit.Timer(func, setup="import gc; gc.enable()")
    return _summary(timer.repeat(repeat=runs, number=1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--page-id", type=int, default=int(os.environ.get("RENDER_PAGE_ID") or 0))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if not args.page_id:
        raise SystemExit("no page: pass --page-id or set RENDER_PAGE_ID (bench/setup_data.py --builder writes it)")

    page = Page.objects.get(pk=args.page_id)
    components = Component.objects.filter(page=page).count()
    doc_args = _document_args(page)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.profile):
            render_document(**doc_args)
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        return

    html = render_document(**doc_args)
    with CaptureQueriesContext(connection) as queries:
        render_page(page)
    result = {
        "page_id": page.pk,
        "components": components,
        "html_bytes": len(html.encode()),
        "queries": len(queries),
        "python": platform.python_version(),
        "render_document": _time(lambda: render_document(**doc_args), args.runs, args.warmup),
        # A fresh Page each call would add a fourth query; render_page reads the site itself when
        # it is not cached on the page, which it never is here.
        "render_page": _time(lambda: render_page(page), args.runs, args.warmup),
    }
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(f"render: {components} components, {result['html_bytes']} bytes of HTML, {len(queries)} queries")
    for name in ("render_document", "render_page"):
        r = result[name]
        print(
            f"  {name}: median {r['median_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms, min {r['min_ms']:.2f} ms "
            f"({r['runs']} runs)"
        )


if __name__ == "__main__":
    main()
