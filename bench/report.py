"""Turns the benchmark's raw results into the results section of docs/benchmarks.md.

usage: report.py RESULTS_DIR DOC_PATH
RESULTS_DIR holds meta.env (KEY=VALUE lines), one ENDPOINT_NAME.txt per endpoint (wrk's output, with
the BENCH_RESULT line of bench/auth.lua or bench/form.lua), form_check.json for the form endpoint
(bench/form_check.py) and render.json when the render benchmark ran (bench/render.py).
Only the text between the two result markers in the document is replaced.
"""

import datetime
import json
import os
import platform
import re
import sys
from pathlib import Path

START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"


def parse_wrk(text: str) -> dict:
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise SystemExit("wrk output has no BENCH_RESULT line:\n" + text)
    values = {k: int(v) for k, v in (pair.split("=", 1) for pair in line.split()[1:])}
    seconds = values["duration_us"] / 1e6
    socket_errors = sum(values[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    statuses = next((ln.split(" ", 1)[1] for ln in text.splitlines() if ln.startswith("BENCH_STATUSES ")), "")
    return {
        **values,
        "seconds": seconds,
        "rps": values["requests"] / seconds if seconds else 0.0,
        "p50": values["p50_us"] / 1000,
        "p95": values["p95_us"] / 1000,
        "p99": values["p99_us"] / 1000,
        "max": values["max_us"] / 1000,
        "non_2xx": values["status_errors"],
        "socket_errors": socket_errors,
        "statuses": dict(pair.split(":") for pair in statuses.strip().split(",") if ":" in pair),
    }


def machine() -> dict:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = match.group(1).strip() if match else cpu
    ram = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.M)
        ram = f"{int(match.group(1)) / 1024 / 1024:.1f} GiB" if match else ram
    return {"cpu": cpu, "cores": os.cpu_count(), "ram": ram}


def run_header(
    command: str, *, loadavg: str, pg_version: str, part: str = "this part", redis: bool = False
) -> list[str]:
    """The lines each part's section opens with: when and by what it was written, on which machine (and
    how loaded) and which software."""
    import django

    info = machine()
    return [
        f"_Last run: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, written by `{command}`._",
        "",
        f"- Command: `{command}`",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, shared with whatever else runs; "
        f"load average {loadavg} before {part}",
        f"- Software: Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {pg_version}" + (", Redis as cache and broker" if redis else ""),
    ]


def verdict(ok: bool) -> str:
    return "meets" if ok else "misses"


def _target(meta: dict, key: str) -> float | None:
    value = meta.get(key, "")
    return float(value) if value else None


def api_rows(meta: dict, results_dir: Path) -> tuple[list[str], list[str]]:
    lines = [
        "| endpoint | target | req/s | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | requests | errors | |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    verdicts = []
    for name in meta["ENDPOINTS"].split():
        if name == "form":
            continue
        r = parse_wrk((results_dir / f"{name}.txt").read_text())
        rps_min, p95_max = _target(meta, f"TARGET_RPS_{name}"), _target(meta, f"TARGET_P95_MS_{name}")
        errors = r["non_2xx"] + r["socket_errors"]
        ok = errors == 0 and (rps_min is None or r["rps"] >= rps_min) and (p95_max is None or r["p95"] <= p95_max)
        target = ", ".join(
            ([f"≥ {rps_min:.0f} req/s"] if rps_min is not None else [])
            + ([f"p95 ≤ {p95_max:.0f} ms"] if p95_max is not None else [])
        )
        label = meta.get(f"LABEL_{name}", "")
        lines.append(
            f"| `GET {meta[f'PATH_{name}']}`{label} | {target}, no errors | {r['rps']:.0f} | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['requests']} | {errors} | {verdict(ok)} |"
        )
        verdicts.append(f"`{meta[f'PATH_{name}']}`{label} {verdict(ok)}")
    return lines, verdicts


def form_section(meta: dict, results_dir: Path) -> tuple[list[str], list[str]]:
    r = parse_wrk((results_dir / "form.txt").read_text())
    check = json.loads((results_dir / "form_check.json").read_text())
    target = float(meta["TARGET_RPS_form"])
    created = r["created"]
    per_second = created / r["seconds"] if r["seconds"] else 0.0
    refused = r["answered"] - created
    unanswered = r["sent"] - r["answered"]
    lost = check["acknowledged_missing"]
    # In flight when wrk stopped: the server finishes them, so they may be stored without a 201 seen.
    not_stored = r["sent"] - refused - check["stored"]
    others = ", ".join(f"{status}: {n}" for status, n in sorted(r["statuses"].items()) if status != "201") or "none"
    ok = (
        per_second >= target
        and refused == 0
        and r["socket_errors"] == 0
        and lost == 0
        and check["acknowledged_without_event"] == 0
        and check["events"] == check["stored"]
    )
    lines = [
        f"Form submissions, `POST {meta['PATH_form']}` (contact form: name, email, message; "
        f"{meta.get('FORMS', '?')} forms, one per benchmark site), {meta['FORM_DURATION']} after a "
        f"{meta['WARMUP']} warm-up:",
        "",
        "| target | submissions/s | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | sent | 201 | other answers "
        "| unanswered at stop | stored | `form.submitted` events | lost | |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
        f"| ≥ {target:.0f}/s, every one stored | {per_second:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
        f"{r['p99']:.1f} | {r['max']:.1f} | {r['sent']} | {created} | {others} | {unanswered} | "
        f"{check['stored']} | {check['events']} | {lost} | {verdict(ok)} |",
        "",
        f"**{r['sent']} sent, {check['stored']} stored, {lost} lost.** Every 201's `submission_id` was looked up: "
        f"{check['acknowledged'] - lost} of {check['acknowledged']} are in the database, "
        f"{check['acknowledged'] - check['acknowledged_without_event']} with their `form.submitted` event; "
        f"{check['distinct_emails']} distinct emails among the stored rows. "
        f"{unanswered} requests were still in flight when wrk stopped"
        + (f": the server finished {unanswered - not_stored} of them (stored, answer not read)" if unanswered else "")
        + (
            f", {not_stored} {'was' if not_stored == 1 else 'were'} dropped unanswered, not stored"
            if not_stored > 0
            else ""
        )
        + (f"; socket errors: {r['socket_errors']}" if r["socket_errors"] else "")
        + ".",
    ]
    return lines, [f"`{meta['PATH_form']}` {verdict(ok)}"]


def render_section(meta: dict, results_dir: Path) -> tuple[list[str], list[str]]:
    data = json.loads((results_dir / "render.json").read_text())
    target = float(meta["TARGET_RENDER_MEDIAN_MS"])
    lines = [
        f"Rendering in-process, page of {data['components']} components ({data['html_bytes'] / 1024:.0f} KiB of "
        f"HTML), {data['render_document']['runs']} timed runs each after a warm-up, GC on:",
        "",
        "| call | target | median (ms) | p95 (ms) | min (ms) | mean (ms) | |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    verdicts = []
    for name, label in (
        ("render_document", "`render_document(...)`, pure"),
        ("render_page", f"`render_page(page)`, with its {data['queries']} queries on PostgreSQL"),
    ):
        r = data[name]
        ok = r["median_ms"] <= target
        lines.append(
            f"| {label} | median ≤ {target:.0f} ms | {r['median_ms']:.2f} | {r['p95_ms']:.2f} | {r['min_ms']:.2f} | "
            f"{r['mean_ms']:.2f} | {verdict(ok)} |"
        )
        verdicts.append(f"`{name}` {verdict(ok)}")
    return lines, verdicts


def main() -> None:
    results_dir, doc_path = Path(sys.argv[1]), Path(sys.argv[2])
    meta = dict(line.split("=", 1) for line in (results_dir / "meta.env").read_text().splitlines() if "=" in line)
    import django

    info = machine()
    endpoints = meta["ENDPOINTS"].split()
    lines = [
        START,
        f"_Last run: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, written by `make bench`._",
        "",
        f"- Command: `{meta['COMMAND']}`",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM; wrk and the server share these cores; "
        f"load average {meta.get('LOADAVG_START', '?')} before the run, {meta.get('LOADAVG_END', '?')} after "
        "(anything else running skews the figures)",
        f"- Software: Python {platform.python_version()}, Django {django.get_version()}, "
        f"{meta.get('PG_VERSION', 'PostgreSQL ?')}, Redis {meta.get('REDIS_VERSION', '?')}, "
        f"uvicorn {meta.get('UVICORN_VERSION', '?')}",
        f"- Server: `{meta['SERVER_CMD']}`",
        f"- Server environment: {meta['SERVER_ENV']}",
        f"- Load: wrk, {meta['THREADS']} threads, {meta['CONNECTIONS']} connections, "
        f"{meta['DURATION']} per API endpoint after a {meta['WARMUP']} warm-up, requests spread over "
        f"{meta['USERS']} users' JWTs (throttles at their production rates)",
        "",
    ]
    verdicts: list[str] = []
    if any(name != "form" for name in endpoints):
        rows, found = api_rows(meta, results_dir)
        lines += [*rows, ""]
        verdicts += found
    if "form" in endpoints or (results_dir / "render.json").exists():
        lines += ["### Builder", ""]
    if (results_dir / "render.json").exists():
        rows, found = render_section(meta, results_dir)
        lines += [*rows, ""]
        verdicts += found
    if "form" in endpoints:
        rows, found = form_section(meta, results_dir)
        lines += [*rows, ""]
        verdicts += found
    lines += ["Verdicts: " + "; ".join(verdicts) + ".", END]
    section = "\n".join(lines)

    write_section(doc_path, section, start=START, end=END, heading="Results")


def write_section(doc_path: Path, section: str, *, start: str, end: str, heading: str) -> None:
    """Replace what lies between the markers (a new section under `heading` the first time), and
    print the section without them."""
    doc = doc_path.read_text() if doc_path.exists() else "# Benchmarks\n"
    if start not in doc or end not in doc:
        doc = doc.rstrip() + f"\n\n## {heading}\n\n{start}\n{end}\n"
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    doc_path.write_text(head + section + tail)
    sys.stdout.write(section.replace(start + "\n", "").replace("\n" + end, "") + "\n")


if __name__ == "__main__":
    main()
