"""Turns wrk's BENCH_RESULT lines into the results section of docs/benchmarks.md.

usage: report.py RESULTS_DIR DOC_PATH
RESULTS_DIR holds one ENDPOINT_NAME.txt per endpoint (wrk's output) and meta.env (KEY=VALUE lines).
Only the text between the two result markers in the document is replaced.
"""

import datetime
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
    return {
        "requests": values["requests"],
        "rps": values["requests"] / seconds if seconds else 0.0,
        "p50": values["p50_us"] / 1000,
        "p95": values["p95_us"] / 1000,
        "p99": values["p99_us"] / 1000,
        "max": values["max_us"] / 1000,
        "non_2xx": values["status_errors"],
        "socket_errors": socket_errors,
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


def main() -> None:
    results_dir, doc_path = Path(sys.argv[1]), Path(sys.argv[2])
    meta = dict(line.split("=", 1) for line in (results_dir / "meta.env").read_text().splitlines() if "=" in line)
    import django

    rows = []
    for name in meta["ENDPOINTS"].split():
        path = meta[f"PATH_{name}"]
        result = parse_wrk((results_dir / f"{name}.txt").read_text())
        rows.append((path, result))

    info = machine()
    target_rps, target_p95 = float(meta["TARGET_RPS"]), float(meta["TARGET_P95_MS"])
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
        f"{meta['DURATION']} per endpoint after a {meta['WARMUP']} warm-up, requests spread over "
        f"{meta['USERS']} users' JWTs (throttles at their production rates)",
        "",
        "| endpoint | req/s | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | requests | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    for path, r in rows:
        errors = r["non_2xx"] + r["socket_errors"]
        lines.append(
            f"| `GET {path}` | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | "
            f"{r['max']:.1f} | {r['requests']} | {errors} |"
        )
        ok = r["rps"] >= target_rps and r["p95"] <= target_p95 and errors == 0
        verdicts.append(f"`{path}` {'meets' if ok else 'misses'}")
    lines += [
        "",
        f"Target: ≥ {target_rps:.0f} req/s with p95 ≤ {target_p95:.0f} ms and no errors. " + "; ".join(verdicts) + ".",
        END,
    ]
    section = "\n".join(lines)

    doc = doc_path.read_text() if doc_path.exists() else f"# Benchmarks\n\n## Results\n\n{START}\n{END}\n"
    if START not in doc or END not in doc:
        doc = doc.rstrip() + f"\n\n## Results\n\n{START}\n{END}\n"
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    doc_path.write_text(head + section + tail)
    sys.stdout.write(section.replace(START + "\n", "").replace("\n" + END, "") + "\n")


if __name__ == "__main__":
    main()
