"""Turns bench/crm.py's results into the CRM results section of docs/benchmarks.md.

usage: crm_report.py RESULTS_DIR DOC_PATH [COMMAND]
Only the text between the CRM markers is replaced; the markers are added at the end of the document
when it has none yet.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import run_header, verdict, write_section

START = "<!-- bench:crm:start -->"
END = "<!-- bench:crm:end -->"
SEGMENT_TARGET_MS = 1000
LIST_TARGET_P95_MS = 50
IMPORT_TARGET_ROWS_S = 20_000


def segment_lines(r: dict) -> tuple[list[str], str]:
    ok = r["median_ms"] <= SEGMENT_TARGET_MS and r["p95_ms"] <= SEGMENT_TARGET_MS
    rules = "; ".join(
        f"{rule['field']} {rule['op']} {json.dumps(rule['value'], separators=(',', ':'))}"
        for rule in r["rules"]["rules"]
    )
    made = (
        "generated this run in "
        + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in r["generate_seconds"].items() if seconds >= 0.5)
        if r["generated"]
        else "kept from an earlier run"
    )
    lines = [
        f"**Segment count over {r['contacts']:,} contacts** ({r['contact_tags']:,} tag links, {r['activities']:,} "
        f"activities; {made}). Rules (all of): `{rules}`; {r['count']:,} contacts match. "
        f"`rules_contacts(...).count()` timed {r['runs']} times after a warm-up, rule checking included:",
        "",
        "| target | median (ms) | p95 (ms) | min (ms) | max (ms) | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        f"| ≤ {SEGMENT_TARGET_MS} ms | {r['median_ms']:.0f} | {r['p95_ms']:.0f} | {r['min_ms']:.0f} | "
        f"{r['max_ms']:.0f} | {verdict(ok)} |",
        "",
        f"Plan (`EXPLAIN ANALYZE`, {r['plan_execution_ms']:.0f} ms):",
        "",
        "```",
        *r["plan"],
        "```",
    ]
    return lines, f"segment count {verdict(ok)}"


def list_lines(r: dict) -> tuple[list[str], str]:
    if "skipped" in r:
        return [f"**Contact list API**: not measured ({r['skipped']})."], "contact list not measured"
    ok = all(q["p95_ms"] <= LIST_TARGET_P95_MS for q in r["queries"])
    lines = [
        f"**Contact list API at {r['contacts']:,} contacts**, `GET {r['path']}` in-process through Django's test "
        f"client (middleware, JWT authentication, throttles, filters, ordering, pagination and serialisation; "
        f"no HTTP server), {r['requests']} requests per query after one warm-up request:",
        "",
        "| query | target | matches | median (ms) | p95 (ms) | max (ms) | SQL, median (ms) | load after | |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for q in r["queries"]:
        query = "&".join(f"{key}={value}" for key, value in q["query"].items())
        db_ms = f"{q['db_median_ms']:.1f}" if "db_median_ms" in q else "?"
        lines.append(
            f"| `?{query}` | p95 ≤ {LIST_TARGET_P95_MS} ms | {q['count']} | {q['median_ms']:.1f} | "
            f"{q['p95_ms']:.1f} | {q['max_ms']:.1f} | {db_ms} | {q.get('loadavg', '?')} | "
            f"{verdict(q['p95_ms'] <= LIST_TARGET_P95_MS)} |"
        )
    return lines, f"contact list {verdict(ok)}"


def import_lines(r: dict) -> tuple[list[str], str]:
    if "skipped" in r:
        return [f"**CSV import**: not measured ({r['skipped']})."], "import not measured"
    ok = r["rows_per_second"] >= IMPORT_TARGET_ROWS_S and r["status"] == "done" and r["failed"] == 0
    lines = [
        f"**CSV import of {r['rows']:,} rows** ({r['bytes'] / 1024 / 1024:.1f} MiB: email, names, company, phone on "
        "a third, a select and a number custom field, one or two tags, plus a tag for the whole import), "
        "`contact_import_create` then `contact_import_process` in-process, as the Celery task runs it:",
        "",
        "| import | target | rows/s | total (s) | upload (s) | processing (s) | created | updated | failed | status "
        "| load after | |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for label, run in (("new contacts", r), ("the same file again", r.get("reimport"))):
        if run:
            fast = run["rows_per_second"] >= IMPORT_TARGET_ROWS_S
            ok = ok and fast and run["status"] == "done"
            lines.append(
                f"| {label} | ≥ {IMPORT_TARGET_ROWS_S:,} rows/s | {run['rows_per_second']:,.0f} | "
                f"{run['create_seconds'] + run['process_seconds']:.1f} | {run['create_seconds']:.1f} | "
                f"{run['process_seconds']:.1f} | {run['created']} | {run['updated']} | {run['failed']} | "
                f"{run['status']} | {run.get('loadavg', '?')} | {verdict(fast)} |"
            )
    return lines, f"import {verdict(ok)}"


def main() -> None:
    results_dir, doc_path = Path(sys.argv[1]), Path(sys.argv[2])
    command = sys.argv[3] if len(sys.argv) > 3 else "make bench"
    results = json.loads((results_dir / "crm.json").read_text())
    lines = [
        START,
        *run_header(
            command,
            loadavg=results.get("loadavg_start", "?"),
            pg_version=results.get("pg_version", "?"),
            part="the CRM part",
        ),
        "",
    ]
    verdicts = []
    for part, render in (("segment", segment_lines), ("list", list_lines), ("import", import_lines)):
        if part in results:
            part_lines, found = render(results[part])
            lines += [*part_lines, ""]
            verdicts.append(found)
    lines += ["Verdicts: " + "; ".join(verdicts) + ".", END]
    section = "\n".join(lines)

    write_section(doc_path, section, start=START, end=END, heading="CRM results")


if __name__ == "__main__":
    main()
