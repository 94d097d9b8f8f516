"""The county report at county scale, beside one hand-written SQL statement (the anchor).

    python -m bench.report_bench --backend sqlite --households 60000
    python -m bench.report_bench --backend postgresql --households 60000
    python -m bench.report_bench --database sqlite:////path/county.sqlite   # reuse a built one

Builds the county of ``bench/county.py`` (N households, migrated schema, bulk-loaded; the build
time is reported apart, not in the figure), then, in an app context with no request:

  (a) ``app.oversight.report.county_report(AS_OF)``: the whole county report, every village,
      township and the county, as the bureau's page gets it;
  (b) the anchor: the same per-village figures (settled persons, settled households; for each
      right how many settled persons' households held it on the settlement day and how many
      still hold it on the report's day; exits and transfers by settled persons registered by
      the report's day; settled households with an exit or transfer registered in the 12 months
      to the report's day, R14's figure) from ONE raw SQL statement run through the DBAPI
      driver.

Each is run once to warm up, then five times; the figure is the median, and the ratio is ours
divided by the anchor. The two must agree village by village on every figure they share: the
benchmark fails loudly otherwise (it cross-checks the report as much as it times it).
``app.oversight.village.exit_shares`` (R14's village share) is timed and checked the same way.
Results go to bench/out/report_county_<backend>_<N>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import county as county_data

OUT = Path(__file__).resolve().parent / "out"
RUNS = 5

#: The anchor's figures, one column each (after the village code), in this order.
FIGURES = (
    "settled_persons",
    "settled_households",
    "land_held",
    "land_kept",
    "homestead_held",
    "homestead_kept",
    "shares_held",
    "shares_kept",
    "exits",
    "exited_households",
)

_IN_EFFECT = "{t}.valid_from <= {day} AND ({t}.valid_to IS NULL OR {t}.valid_to > {day})"


def _dialect(backend: str) -> dict[str, str]:
    if backend == "sqlite":
        return {
            # declared_at is naive UTC; the county's day is 8 hours ahead (no DST in China)
            "declared_day": "date(l.declared_at, '+8 hours')",
            "plus_window": "date(done.declared_on, '+' || :window || ' days')",
        }
    return {
        "declared_day": "CAST(l.declared_at + interval '8 hours' AS date)",
        "plus_window": "(done.declared_on + CAST(:window AS integer))",
    }


def anchor_sql(backend: str) -> str:
    """One statement: every village's figures. Parameters :d (the report's day), :since (the
    day 12 months before it: exits registered after it count) and :window (R14's days)."""
    d = _dialect(backend)

    def held(table: str, day: str, extra: str = "") -> str:
        cond = _IN_EFFECT.format(t="x", day=day)
        return (
            f"CASE WHEN EXISTS (SELECT 1 FROM {table} x WHERE {extra} AND {cond}) THEN 1 ELSE 0 END"
        )

    land = "x.household_uid = home.household_uid"
    homestead = "x.household_uid = home.household_uid"
    shares = (
        "(x.household_uid = home.household_uid OR x.person_uid = home.person_uid) AND x.shares > 0"
    )
    sql = f"""
WITH cur AS (
    -- settlement records in force: no later row corrects them
    SELECT s.person_uid, s.settled_on
    FROM settlement_record s
    WHERE NOT EXISTS (SELECT 1 FROM settlement_record c WHERE c.corrects_id = s.id)
),
sp AS (
    -- persons settled on the day, and their settlement day (the earliest)
    SELECT person_uid, MIN(settled_on) AS sday FROM cur WHERE settled_on <= :d GROUP BY person_uid
),
home AS (
    -- each settled person's current household (where they live) and its village
    SELECT sp.person_uid, sp.sday, h.uid AS household_uid, c.village_code
    FROM sp
    JOIN household_member hm
      ON hm.person_uid = sp.person_uid AND hm.end_lifespan IS NULL AND hm.moved_out_on IS NULL
    JOIN household h ON h.uid = hm.household_uid AND h.end_lifespan IS NULL
    JOIN collective c ON c.id = h.collective_id
),
rights AS MATERIALIZED (
    SELECT home.village_code, home.person_uid, home.household_uid,
        {held("land_contract", "home.sday", land)} AS land_then,
        {held("land_contract", ":d", land)} AS land_now,
        {held("homestead", "home.sday", homestead)} AS homestead_then,
        {held("homestead", ":d", homestead)} AS homestead_now,
        {held("share_holding", "home.sday", shares)} AS shares_then,
        {held("share_holding", ":d", shares)} AS shares_now
    FROM home
),
done AS (
    -- completed exits and transfers registered by the day, with the county day of declaration
    SELECT l.id, l.household_uid, l.person_uid, l.collective_id, dl.registered_on,
        {d["declared_day"]} AS declared_on
    FROM market_listing l
    JOIN market_deal dl ON dl.listing_id = l.id
    WHERE l.state = 'completed' AND l.deal_kind IN ('transfer', 'paid_exit')
      AND dl.registered_on <= :d
),
holder AS (
    -- their holders: the selling household's current co-holders, or the person (own shares)
    SELECT done.id AS listing_id, co.person_uid
    FROM done
    JOIN household_member co
      ON co.household_uid = done.household_uid AND co.end_lifespan IS NULL
     AND co.is_co_holder = TRUE
    UNION ALL
    SELECT done.id, done.person_uid FROM done WHERE done.person_uid IS NOT NULL
),
counted AS (
    -- those a holder of which had settled by the declaration or within R14's window after it
    -- (first_settled: the earliest settlement in force among the holders)
    SELECT done.id, done.household_uid, done.person_uid, done.collective_id,
        done.registered_on, done.declared_on, MIN(s.settled_on) AS first_settled
    FROM done
    JOIN holder h ON h.listing_id = done.id
    JOIN cur s ON s.person_uid = h.person_uid
    GROUP BY done.id, done.household_uid, done.person_uid, done.collective_id,
        done.registered_on, done.declared_on
    HAVING MIN(s.settled_on) <= {d["plus_window"]}
),
exited AS (
    -- R14: households with such an exit registered in the 12 months to the day
    SELECT DISTINCT COALESCE(c.household_uid, pm.household_uid) AS household_uid
    FROM counted c
    LEFT JOIN household_member pm
      ON c.household_uid IS NULL AND pm.person_uid = c.person_uid
     AND pm.end_lifespan IS NULL AND pm.moved_out_on IS NULL
    WHERE c.registered_on > :since
),
exits AS (
    -- the report's exits: declared and a holder settled by the day; in the listing's village
    SELECT col.village_code, COUNT(*) AS exits
    FROM counted c
    JOIN collective col ON col.id = c.collective_id
    WHERE c.declared_on <= :d AND c.first_settled <= :d
    GROUP BY col.village_code
),
per_village AS (
    SELECT r.village_code,
        COUNT(*) AS settled_persons,
        COUNT(DISTINCT r.household_uid) AS settled_households,
        SUM(r.land_then) AS land_held, SUM(r.land_then * r.land_now) AS land_kept,
        SUM(r.homestead_then) AS homestead_held,
        SUM(r.homestead_then * r.homestead_now) AS homestead_kept,
        SUM(r.shares_then) AS shares_held, SUM(r.shares_then * r.shares_now) AS shares_kept,
        COUNT(DISTINCT e.household_uid) AS exited_households
    FROM rights r
    LEFT JOIN exited e ON e.household_uid = r.household_uid
    GROUP BY r.village_code
)
SELECT v.village_code,
    COALESCE(p.settled_persons, 0), COALESCE(p.settled_households, 0),
    COALESCE(p.land_held, 0), COALESCE(p.land_kept, 0),
    COALESCE(p.homestead_held, 0), COALESCE(p.homestead_kept, 0),
    COALESCE(p.shares_held, 0), COALESCE(p.shares_kept, 0),
    COALESCE(x.exits, 0), COALESCE(p.exited_households, 0)
FROM (SELECT village_code FROM per_village UNION SELECT village_code FROM exits) v
LEFT JOIN per_village p ON p.village_code = v.village_code
LEFT JOIN exits x ON x.village_code = v.village_code
ORDER BY v.village_code
"""
    if backend == "postgresql":
        sql = re.sub(r":(d|since|window)\b", r"%(\1)s", sql)
        sql = sql.replace("%(d)s", "CAST(%(d)s AS date)").replace(
            "%(since)s", "CAST(%(since)s AS date)"
        )
    return sql


def twelve_months_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def run_anchor(cursor: Any, backend: str, as_of: date, window: int) -> dict[str, dict[str, int]]:
    params: dict[str, Any] = {
        "d": as_of.isoformat(),
        "since": twelve_months_before(as_of).isoformat(),
        "window": window,
    }
    cursor.execute(anchor_sql(backend), params)
    return {
        row[0]: dict(zip(FIGURES, (int(v or 0) for v in row[1:]), strict=True))
        for row in cursor.fetchall()
    }


def backend_cpu(pid: int | None) -> float:
    """CPU seconds used so far by the PostgreSQL backend ``pid``, when the server runs on this
    machine (its /proc entry is readable); 0 otherwise."""
    if pid is None:
        return 0.0
    try:
        fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def timed(
    fn: Callable[[], Any], server_pid: Callable[[], int | None] = lambda: None
) -> tuple[list[tuple[float, float]], Any]:
    """(wall, CPU) seconds of RUNS runs after one warm-up, and the last result. CPU is this
    process's plus, on PostgreSQL, the server backend's that ran the queries: what the work
    itself cost, whatever other jobs share the cores (the wall time depends on them)."""
    fn()  # warm-up
    pid = server_pid()
    times, result = [], None
    for _ in range(RUNS):
        started, cpu, server = time.perf_counter(), time.process_time(), backend_cpu(pid)
        result = fn()
        spent = time.process_time() - cpu + backend_cpu(pid) - server
        times.append((time.perf_counter() - started, spent))
    return times, result


def summary(times: list[tuple[float, float]]) -> dict[str, Any]:
    wall = [w for w, _ in times]
    return {
        "median_s": round(statistics.median(wall), 4),
        "min_s": round(min(wall), 4),
        "max_s": round(max(wall), 4),
        "runs_s": [round(t, 4) for t in wall],
        "cpu_median_s": round(statistics.median(c for _, c in times), 4),
    }


# ---------------------------------------------------------------------------------------------
# Reading the report's per-village figures, whatever its dataclasses are called: the report is
# helper "reports"' design; this maps its names onto the anchor's and says what it could not.


def report_villages(report: Any) -> dict[str, dict[str, Any]]:
    """The report's village rows in the anchor's names (``report.village_figures``)."""
    from app.oversight.report import village_figures

    return village_figures(report)


def report_totals(report: Any) -> dict[str, int]:
    """The county total row, in the anchor's names."""
    f = report.total
    return {
        "settled_persons": f.settled_persons,
        "settled_households": f.settled_households,
        "land_held": f.land.held,
        "land_kept": f.land.kept,
        "homestead_held": f.homestead.held,
        "homestead_kept": f.homestead.kept,
        "shares_held": f.shares.held,
        "shares_kept": f.shares.kept,
        "exits": f.exits,
    }


def compare(ours: dict[str, dict[str, Any]], anchor: dict[str, dict[str, int]]) -> list[str]:
    """Differences between the report's village rows and the anchor's, in words."""
    problems = []
    for code in sorted(set(ours) | set(anchor)):
        a = anchor.get(code, dict.fromkeys(FIGURES, 0))
        o = ours.get(code)
        if o is None:
            if any(a.values()):
                problems.append(f"village {code}: in the anchor {a}, not in the report")
            continue
        for figure in FIGURES:
            if int(o[figure] or 0) != a[figure]:
                problems.append(f"village {code}: {figure} report {o[figure]} anchor {a[figure]}")
    return problems


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import text

    from app import create_app
    from app.core import database
    from app.extensions import db

    result: dict[str, Any] = {
        "backend": args.backend,
        "households": args.households,
        "seed": args.seed,
        "as_of": county_data.AS_OF.isoformat(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_start": os.getloadavg(),
    }
    if args.database:
        url, drop = args.database, lambda: None
        result["build"] = {"reused": True}
    else:
        built = county_data.build(args.backend, args.households, args.seed, keep=args.keep)
        url, drop = built.url, built.drop
        result["build"] = built.build
        print(
            f"[{args.backend}] built {args.households:,} households in {built.build['total_s']} s "
            f"(migrations {built.build['migrate_s']} s, generation {built.build['generate_s']} s, "
            f"inserts {built.build['insert_s']} s)",
            flush=True,
        )
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    as_of = county_data.AS_OF
    try:
        with app.app_context():
            database.set_write_intent(False)
            window = int(app.config.get("SETTLEMENT_FLAG_DAYS", county_data.FLAG_DAYS))

            def pid_of(cursor: Any) -> int | None:
                if args.backend != "postgresql":
                    return None
                cursor.execute("SELECT pg_backend_pid()")
                return int(cursor.fetchone()[0])

            def session_pid() -> int | None:
                # the connection the session holds since the warm-up (its transaction is open)
                if args.backend != "postgresql":
                    return None
                return int(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())

            raw = db.engine.raw_connection()
            try:
                cur = raw.cursor()
                anchor_times, anchor = timed(
                    lambda: run_anchor(cur, args.backend, as_of, window), lambda: pid_of(cur)
                )
                cur.close()
                raw.rollback()
            finally:
                raw.close()
            result["anchor"] = summary(anchor_times)
            result["anchor_totals"] = {f: sum(v[f] for v in anchor.values()) for f in FIGURES} | {
                "villages_with_settled_persons": len(anchor)
            }
            print(
                f"[{args.backend}] anchor (one SQL statement): median "
                f"{result['anchor']['median_s']:.3f} s; {result['anchor_totals']}",
                flush=True,
            )
            problems: list[str] = []
            try:
                from app.oversight.report import county_report
            except ImportError as exc:
                county_report = None
                result["report"] = {"missing": str(exc)}
                print(f"[{args.backend}] county_report is not there yet: {exc}", flush=True)
            if county_report is not None:
                report_times, report = timed(lambda: county_report(as_of), session_pid)
                db.session.rollback()
                result["report"] = summary(report_times)
                ours = report_villages(report)
                problems += compare(ours, anchor)
                totals = report_totals(report)
                for figure, value in totals.items():
                    if value != result["anchor_totals"][figure]:
                        problems.append(
                            f"county: {figure} report {value} anchor "
                            f"{result['anchor_totals'][figure]}"
                        )
                result["report_totals"] = totals
                result["report_exit_rows"] = len(report.exits)
                result["report_villages_standing_out"] = [v.code for v in report.standing_out]
                result["ratio_report_to_anchor"] = round(
                    result["report"]["median_s"] / result["anchor"]["median_s"], 2
                )
                print(
                    f"[{args.backend}] county_report: median {result['report']['median_s']:.3f} s "
                    f"({result['ratio_report_to_anchor']}x the anchor); "
                    f"{len(ours)} villages compared",
                    flush=True,
                )
            try:
                from app.oversight.village import exit_shares
            except ImportError as exc:
                exit_shares = None
                result["exit_shares"] = {"missing": str(exc)}
            if exit_shares is not None:
                share_times, shares = timed(lambda: exit_shares(as_of), session_pid)
                db.session.rollback()
                result["exit_shares"] = summary(share_times)
                result["villages_standing_out"] = sorted(
                    code for code, v in shares.items() if v.stands_out
                )
                for code, v in shares.items():
                    a = anchor.get(code, dict.fromkeys(FIGURES, 0))
                    if v.settled_households != a["settled_households"]:
                        problems.append(
                            f"village {code}: exit_shares settled households "
                            f"{v.settled_households}, anchor {a['settled_households']}"
                        )
                    if v.exited_households != a["exited_households"]:
                        problems.append(
                            f"village {code}: exit_shares exited households "
                            f"{v.exited_households}, anchor {a['exited_households']}"
                        )
                print(
                    f"[{args.backend}] exit_shares: median {result['exit_shares']['median_s']:.3f}"
                    f" s; standing out: {result['villages_standing_out']}",
                    flush=True,
                )
            result["disagreements"] = problems
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
    result["load_average_end"] = os.getloadavg()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.report_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--households", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--keep", action="store_true", help="keep the database (under bench/out)")
    parser.add_argument("--database", default="", help="use this built database (its URL)")
    args = parser.parse_args(argv)
    result = run(args)
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"report_county_{args.backend}_{args.households}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=_json) + "\n")
    print(f"written {out}")
    if result["disagreements"]:
        print(
            f"[{args.backend}] THE REPORT AND THE ANCHOR DISAGREE "
            f"({len(result['disagreements'])}):",
            file=sys.stderr,
        )
        for line in result["disagreements"][:40]:
            print("  " + line, file=sys.stderr)
        return 1
    return 0


def _json(value: Any) -> Any:
    if isinstance(value, Decimal | date):
        return str(value)
    raise TypeError(type(value))


if __name__ == "__main__":
    raise SystemExit(main())
