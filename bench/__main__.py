"""One entry point for the benchmarks, each measured beside its anchor in the same run.

    python -m bench --quick          # about 20 minutes on a 2-core machine
    python -m bench                  # the sizes docs/PERFORMANCE.md reports (hours)
    python -m bench --only import,audit,report

Runs every benchmark as its own process (so one's memory and caches do not colour the next), reads
the JSON each writes under bench/out/, and writes bench/results/latest.json: a list of
``{name, value, unit, anchor, anchor_value, ratio}``, printed as a table. ``ratio`` is ours divided
by the anchor for times (lower is better) and the anchor divided by ours for rates, so for every
row a ratio above 1 says how far we are from the anchor.

Each benchmark's own module documents what it measures; the anchors are:
ogr2ogr loading the same file (imports), the same indexed SQL run raw through the driver (overlap
checks), a bare hashlib loop over the same entries (audit verification), and one hand-written SQL
statement giving the county report's per-village figures (the county report), and a bare Flask
endpoint served by the same gunicorn options (the main pages under 16 clients).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "results"


@dataclass
class Row:
    name: str
    value: float
    unit: str
    anchor: str
    anchor_value: float
    ratio: float


@dataclass
class Sizes:
    import_plots: int
    import_repeat: int
    overlap_plots: int
    overlap_probes: int
    overlap_repeat: int
    audit_entries: int
    audit_repeat: int
    county_households: int
    page_rounds: int
    page_seconds: float


QUICK = Sizes(20_000, 1, 50_000, 300, 2, 50_000, 3, 60_000, 5, 5.0)
FULL = Sizes(300_000, 3, 300_000, 1_000, 3, 1_000_000, 3, 60_000, 7, 10.0)


def _run(module: str, *args: str) -> None:
    cmd = [sys.executable, "-m", f"bench.{module}", *args]
    print("$", " ".join(cmd[1:]), flush=True)
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)


def _read(name: str) -> dict:
    return json.loads((OUT / name).read_text())


def bench_import(s: Sizes) -> list[Row]:
    rows = []
    for backend, suffix in (("postgresql", ""), ("sqlite", "_spatialite")):
        _run(
            "import_bench",
            "--backend",
            backend,
            "--plots",
            str(s.import_plots),
            "--repeat",
            str(s.import_repeat),
        )
        r = _read(f"import_{backend}_{s.import_plots}.json")
        rows.append(
            Row(
                f"import_vs_ogr2ogr{suffix}",
                r["import_median"],
                f"s for {s.import_plots} plots",
                "ogr2ogr",
                r["ogr2ogr_median"],
                r["ratio_of_medians"],
            )
        )
        if backend == "postgresql":
            # The importer's own high-water mark; the anchor is the 300 MB it must stay under.
            rows.append(
                Row(
                    "import_peak_rss_mb",
                    r["vm_hwm_mb"],
                    "MB",
                    "target",
                    r["targets"]["peak_rss_mb"],
                    round(r["vm_hwm_mb"] / r["targets"]["peak_rss_mb"], 2),
                )
            )
    return rows


def bench_overlap(s: Sizes) -> list[Row]:
    rows = []
    for backend, name in (("postgresql", "postgis"), ("sqlite", "spatialite")):
        _run(
            "overlap",
            "--backend",
            backend,
            "--plots",
            str(s.overlap_plots),
            "--probes",
            str(s.overlap_probes),
            "--repeat",
            str(s.overlap_repeat),
        )
        r = _read(f"overlap-{backend}-{s.overlap_plots}.json")
        ours, raw = r["service"]["p95_ms"], r["raw_sql"]["p95_ms"]
        rows.append(
            Row(
                f"overlap_check_p95_{name}",
                ours,
                f"ms at {s.overlap_plots} plots",
                "raw SQL",
                raw,
                round(ours / raw, 2) if raw else 0.0,
            )
        )
    return rows


def bench_audit(s: Sizes) -> list[Row]:
    _run(
        "audit_verify",
        "--backend",
        "postgresql",
        "--entries",
        str(s.audit_entries),
        "--repeat",
        str(s.audit_repeat),
    )
    r = _read(f"audit_verify_postgresql_{s.audit_entries}.json")
    return [
        # The stand-alone verifier over an export (the canonical bytes as hashed, per line).
        Row(
            "audit_verify_per_s",
            r["export_per_s"],
            "entries/s",
            "bare hashlib loop",
            r["bare_hashlib_per_s"],
            r["ratio_bare_to_export"],
        ),
        # `flask audit verify`: rows from the database, each serialised again to be hashed.
        Row(
            "audit_verify_db_per_s",
            r["ours_per_s"],
            "entries/s",
            "bare hashlib loop",
            r["bare_hashlib_per_s"],
            r["ratio_bare_to_ours"],
        ),
    ]


def bench_report(s: Sizes) -> list[Row]:
    # The county report (app.oversight.report.county_report) on a county of 60,000 households
    # built by bench/county.py (its build time is in the JSON, not in the figure), beside one
    # hand-written SQL statement giving the same per-village figures; the run fails if the two
    # disagree on any village.
    rows = []
    for backend, suffix in (("postgresql", ""), ("sqlite", "_spatialite")):
        _run("report_bench", "--backend", backend, "--households", str(s.county_households))
        r = _read(f"report_county_{backend}_{s.county_households}.json")
        anchor = r["anchor"]["median_s"]
        ours = r.get("report", {}).get("median_s")
        if ours is None:  # the report is not there: the anchor alone, no ratio
            rows.append(
                Row(f"report_county_s{suffix}", 0.0, "s (no report)", "raw SQL", anchor, 0.0)
            )
            continue
        rows.append(
            Row(
                f"report_county_s{suffix}",
                ours,
                f"s at {s.county_households} households",
                "raw SQL",
                anchor,
                r["ratio_report_to_anchor"],
            )
        )
    return rows


def bench_pages(s: Sizes) -> list[Row]:
    # The main pages of the demo county under 16 concurrent clients on gunicorn (the production
    # image's options), beside a bare Flask endpoint served by the same gunicorn options in the
    # same run (bench/pages.py); medians over the rounds. SQLite: the embedded default.
    _run("pages", "--rounds", str(s.page_rounds), "--seconds", str(s.page_seconds))
    r = _read("pages_sqlite.json")
    return [
        Row(
            "page_p95_ms",
            r["page_p95_ms"],
            f"ms, p95 of the main pages, {r['clients']} clients",
            "bare Flask p95",
            r["bare_p95_ms"],
            round(r["page_p95_ms"] / r["bare_p95_ms"], 2) if r["bare_p95_ms"] else 0.0,
        ),
        Row(
            "page_throughput_vs_bare",
            r["page_throughput_vs_bare"],
            f"x bare Flask's requests/s (pages {r['page_per_s']}/s)",
            "bare Flask requests/s",
            r["bare_per_s"],
            round(r["bare_per_s"] / r["page_per_s"], 2) if r["page_per_s"] else 0.0,
        ),
        # The servers' own CPU per request (gunicorn's processes, from /proc): what the machine's
        # other work inflates least.
        Row(
            "page_cpu_ms",
            r["page_cpu_ms"],
            "ms of server CPU per page",
            "bare Flask CPU per request",
            r["bare_cpu_ms"],
            round(r["page_cpu_ms"] / r["bare_cpu_ms"], 2) if r["bare_cpu_ms"] else 0.0,
        ),
        # The same pages with kept pages off: every view rendered (what a page costs the first
        # time it is seen after a change), beside the same bare endpoint.
        Row(
            "page_rendered_p95_ms",
            r["rendered_p95_ms"],
            f"ms, p95 of the main pages rendered every time, {r['clients']} clients",
            "bare Flask p95",
            r["bare_p95_ms"],
            round(r["rendered_p95_ms"] / r["bare_p95_ms"], 2) if r["bare_p95_ms"] else 0.0,
        ),
        Row(
            "page_rendered_throughput_vs_bare",
            r["rendered_throughput_vs_bare"],
            f"x bare Flask's requests/s (pages rendered every time {r['rendered_per_s']}/s)",
            "bare Flask requests/s",
            r["bare_per_s"],
            round(r["bare_per_s"] / r["rendered_per_s"], 2) if r["rendered_per_s"] else 0.0,
        ),
        Row(
            "page_rendered_cpu_ms",
            r["rendered_cpu_ms"],
            "ms of server CPU per page rendered",
            "bare Flask CPU per request",
            r["bare_cpu_ms"],
            round(r["rendered_cpu_ms"] / r["bare_cpu_ms"], 2) if r["bare_cpu_ms"] else 0.0,
        ),
    ]


BENCHES = {
    "import": bench_import,
    "overlap": bench_overlap,
    "audit": bench_audit,
    "report": bench_report,
    "pages": bench_pages,
}


def table(rows: list[Row]) -> str:
    head = ("name", "value", "unit", "anchor", "anchor value", "ratio")
    cells = [head] + [
        (r.name, f"{r.value:g}", r.unit, r.anchor, f"{r.anchor_value:g}", f"{r.ratio:g}")
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(head))) for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: about 20 minutes")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHES)}")
    args = parser.parse_args(argv)
    chosen = [b.strip() for b in args.only.split(",") if b.strip()] or list(BENCHES)
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        known = ", ".join(BENCHES)
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {known}")
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    rows: list[Row] = []
    for name in chosen:
        rows.extend(BENCHES[name](sizes))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "latest.json"
    out.write_text(json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False) + "\n")
    print()
    print(table(rows))
    print(
        f"\n{'quick' if args.quick else 'full'} run in {time.perf_counter() - started:.0f} s "
        f"on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; written {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
