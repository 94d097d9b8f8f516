"""Bulk import benchmark: our full-validation import against ogr2ogr, same file, same database.

    python -m bench.import_bench --backend sqlite|postgresql --plots 300000 [--repeat 3]

1. Generates ``--plots`` plots in the NY/T 2539 DK layout as GeoJSON in EPSG:4547 (a grid of
   ~30 m cells around Shixing with jittered shared corners, so neighbours touch as surveyed plots
   do; a few bow-ties (invalid) and a few shifted plots (overlaps); DKBM codes spread over as many
   collectives as the 5-digit sequence needs).
2. Times ``ogr2ogr`` loading the file into the database (PostGIS: ``-f PostgreSQL``; SpatiaLite:
   ``-f SQLite -dsco SPATIALITE=YES``, a spatial index in both). On PostgreSQL the database is
   vacuumed and checkpointed, untimed, before each timed step (``settle``).
3. Times ``flask import parcels FILE --valid-only`` on the same file into the same database
   (migrated, with the collectives): read in windows, stage, validate everything (geometry,
   codes, overlaps in the file and with the registry), promote with per-batch audit events.
   Peak memory is the import process's own (resource.getrusage ru_maxrss, in a subprocess so
   nothing else is counted).
4. Repeats 2-3 ``--repeat`` times (default 3), each on a fresh database, and writes every run,
   the medians and their ratio to bench/out/import_<backend>_<plots>.json. The machines are
   noisy: read the medians, not one run.

Targets: time ratio <= 2x ogr2ogr, peak RSS <= 300 MB. Timing is never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VILLAGE = "440222100205"  # 东湖坪村, Shixing (the test baseline's village)
PER_COLLECTIVE = 99_999  # DKBM has a 5-digit sequence
X0, Y0 = 507_000.0, 2_755_000.0  # EPSG:4547 near Shixing (114.07°E, 24.9°N)
CELL = 30.0
STORE = Path(tempfile.gettempdir()) / "import-bench-store"  # the imported file is kept here


def collectives_for(n: int) -> list[str]:
    """FBFBM of the groups the plots are spread over (01, 02, … of one village)."""
    return [f"{VILLAGE}{g:02d}" for g in range(1, (n - 1) // PER_COLLECTIVE + 2)]


def generate_plots(
    path: str | os.PathLike,
    n: int,
    *,
    seed: int = 7,
    invalid: int = 0,
    overlapping: int = 0,
    driver: str = "GeoJSON",
    fbfbms: list[str] | None = None,
    origin: tuple[float, float] = (X0, Y0),
    cell: float = CELL,
    crs: str = "EPSG:4547",
) -> dict[str, object]:
    """Write ``n`` NY/T 2539 plots; returns what was planted (indices of bad features)."""
    import numpy as np
    import pyogrio
    import shapely

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    gx, gy = np.meshgrid(
        np.arange(side + 1) * cell + origin[0], np.arange(side + 1) * cell + origin[1]
    )
    jitter = cell / 6
    gx = gx + rng.uniform(-jitter, jitter, gx.shape)
    gy = gy + rng.uniform(-jitter, jitter, gy.shape)
    idx = np.arange(n)
    i, j = idx % side, idx // side
    xs = np.stack([gx[j, i], gx[j, i + 1], gx[j + 1, i + 1], gx[j + 1, i], gx[j, i]], axis=1)
    ys = np.stack([gy[j, i], gy[j, i + 1], gy[j + 1, i + 1], gy[j + 1, i], gy[j, i]], axis=1)
    bad = rng.choice(n, size=invalid + overlapping, replace=False) if invalid + overlapping else []
    bow = np.asarray(bad[:invalid], dtype=int)
    shifted = np.asarray(bad[invalid:], dtype=int)
    # bow-tie: swap two corners -> self-intersection
    xs[bow, 1], xs[bow, 2] = xs[bow, 2].copy(), xs[bow, 1].copy()
    ys[bow, 1], ys[bow, 2] = ys[bow, 2].copy(), ys[bow, 1].copy()
    # overlap: push the plot a third of a cell into its neighbour
    xs[shifted] += cell / 3
    coords = np.stack([xs, ys], axis=2).reshape(-1, 2)
    polys = shapely.polygons(shapely.linearrings(coords, indices=np.repeat(idx, 5)))
    fbfbms = fbfbms or collectives_for(n)
    group = idx // PER_COLLECTIVE
    seq = idx % PER_COLLECTIVE + 1
    dkbm = np.array([f"{fbfbms[g]}{s:05d}" for g, s in zip(group, seq, strict=True)], dtype=object)
    area = np.round(shapely.area(polys), 2)
    contract = np.round(area * rng.uniform(0.95, 1.05, n), 2)
    names = np.array([f"地块{k + 1}号" for k in idx], dtype=object)
    uses = np.array(["011", "012", "013"], dtype=object)[idx % 3]
    east = np.array(["道路", "水渠", "林地", "张三"], dtype=object)[idx % 4]
    fields = {
        "DKBM": dkbm,
        "DKMC": names,
        "DKLB": np.full(n, "10", dtype=object),
        "TDLYLX": uses,
        "SFJBNT": np.where(idx % 2 == 0, "1", "2").astype(object),
        "SCMJ": area,
        "SCMJM": np.round(area / (10000 / 15), 4),
        "HTMJ": contract,
        "DKDZ": east,
        "DKNZ": east[::-1].copy(),
        "DKXZ": east,
        "DKBZ": east,
    }
    pyogrio.raw.write(
        str(path),
        geometry=shapely.to_wkb(polys),
        field_data=list(fields.values()),
        fields=list(fields),
        crs=crs,
        driver=driver,
        geometry_type="Polygon",
        encoding="UTF-8",
    )
    return {
        "invalid": sorted(bow.tolist()),
        "overlapping": sorted(shifted.tolist()),
        "fbfbm": fbfbms,
    }


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    # the imported file is kept as the plots' source document: keep it out of instance/
    env["IMPORT_STORE"] = str(STORE)
    env.pop("REDIS_URL", None)
    return env


def _flask(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "flask", "--app", "app", *args]
    return subprocess.run(cmd, cwd=ROOT, env=_env(url), capture_output=True, text=True, check=check)


def prepare_database(backend: str, work: Path, fbfbms: list[str]) -> tuple[str, str, callable]:
    """A migrated database with the collectives; returns (app url, ogr2ogr target, drop)."""
    if backend == "sqlite":
        path = work / "bench.sqlite"
        url = f"sqlite:///{path}"
        drop = lambda: None  # noqa: E731
        target = str(path)
    else:
        import sqlalchemy as sa

        admin_url = os.environ.get(
            "SANQUAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        )
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        name = f"sanquan_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        db_url = admin.url.set(database=name)
        eng = sa.create_engine(db_url)
        with eng.begin() as c:
            c.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        eng.dispose()
        url = db_url.render_as_string(hide_password=False)
        u = db_url
        host, port = u.host or "127.0.0.1", u.port or 5432
        target = f"PG:dbname={u.database} host={host} port={port} user={u.username}"
        if u.password:
            target += f" password={u.password}"

        def drop() -> None:
            with admin.connect() as c:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    _flask(url, "db", "upgrade")
    _flask(url, "divisions", "load", "440222")
    code = (
        "from app import create_app\n"
        "from app.audit import trail\n"
        "from app.divisions.services import create_collective\n"
        "from app.extensions import db\n"
        "app = create_app()\n"
        "with app.app_context(), trail.acting(trail.AuditContext(actor='bench', role='system')):\n"
        f"    for i, code in enumerate({fbfbms!r}):\n"
        "        create_collective(code, f'bench group {i + 1}')\n"
        "    db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(url), check=True)
    return url, target, drop


def time_ogr2ogr(backend: str, target: str, path: Path) -> float:
    if backend == "sqlite":
        cmd = [
            "ogr2ogr",
            "-f",
            "SQLite",
            "-dsco",
            "SPATIALITE=YES",
            "-update",
            target,
            str(path),
            "-nln",
            "ogr_plot",
            "-lco",
            "SPATIAL_INDEX=YES",
        ]
    else:
        cmd = [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            target,
            str(path),
            "-nln",
            "ogr_plot",
            "-lco",
            "SPATIAL_INDEX=GIST",
        ]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


def settle(backend: str, url: str) -> None:
    """Let the database finish the anchor's aftermath before our import is timed.

    ogr2ogr leaves 300k freshly inserted rows: PostgreSQL's autovacuum would then vacuum and
    analyze them, and a checkpoint flush their WAL, in the middle of the next timed run. Both
    are done here, untimed, so each side is timed on a quiet database.
    """
    if backend != "postgresql":
        return
    import sqlalchemy as sa

    eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.exec_driver_sql("VACUUM (ANALYZE)")
        c.exec_driver_sql("CHECKPOINT")
    eng.dispose()


_RUNNER = """
import resource, sys, time
at_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from app import create_app
from click.testing import CliRunner
app = create_app()
started = time.perf_counter()
result = app.test_cli_runner().invoke(args=sys.argv[1:])
elapsed = time.perf_counter() - started
sys.stderr.write(result.output)
if result.exception is not None and not isinstance(result.exception, SystemExit):
    import traceback
    traceback.print_exception(result.exception, file=sys.stderr)
hwm = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM"))
print("BENCH", elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, result.exit_code, hwm,
      at_start)
"""


def time_import(url: str, path: Path, report: Path, profile: Path | None) -> dict[str, float]:
    args = ["import", "parcels", str(path), "--valid-only", "--report", str(report)]
    cmd = [sys.executable]
    if profile is not None:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += ["-c", _RUNNER, *args]
    if profile is not None:  # cProfile -c is not a thing: run the runner from a file
        script = profile.with_suffix(".py")
        script.write_text(_RUNNER)
        cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), str(script), *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(url), capture_output=True, text=True)
    wall = time.perf_counter() - started
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH")), None)
    if line is None:
        raise SystemExit(f"import failed:\n{proc.stdout}\n{proc.stderr}")
    _, elapsed, rss_kb, code, hwm_kb, start_kb = line.split()
    return {
        "seconds": float(elapsed),
        "process_seconds": wall,
        "peak_rss_mb": int(rss_kb) / 1024,
        "vm_hwm_mb": int(hwm_kb) / 1024,
        "rss_at_start_mb": int(start_kb) / 1024,
        "exit_code": int(code),
        "log": proc.stderr[-4000:],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--plots", type=int, default=300_000)
    ap.add_argument("--invalid", type=int, default=25)
    ap.add_argument("--overlapping", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=3, help="runs (medians are reported)")
    ap.add_argument("--profile", action="store_true", help="cProfile the import too")
    args = ap.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        work = Path(tmp)
        path = work / f"dk_{args.plots}.geojson"
        t = time.perf_counter()
        # In a child process: the import is timed in a process started from this one, and Linux
        # hands a child its parent's peak RSS (ru_maxrss survives fork and exec), so this
        # process must never hold the generated plots.
        code = (
            "import json\n"
            "from bench.import_bench import generate_plots\n"
            f"print(json.dumps(generate_plots({str(path)!r}, {args.plots}, "
            f"invalid={args.invalid}, overlapping={args.overlapping})))\n"
        )
        gen = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        planted = json.loads(gen.stdout.strip().splitlines()[-1])
        gen_s = time.perf_counter() - t
        file_mb = round(path.stat().st_size / 1e6, 1)
        print(f"generated {args.plots} plots ({file_mb:.0f} MB) in {gen_s:.1f} s")
        runs: list[dict[str, float]] = []
        for i in range(args.repeat):
            run_dir = work / f"run{i + 1}"
            run_dir.mkdir()
            url, target, drop = prepare_database(args.backend, run_dir, planted["fbfbm"])
            try:
                settle(args.backend, url)
                ogr_s = time_ogr2ogr(args.backend, target, path)
                settle(args.backend, url)
                report = run_dir / "report.json"
                prof = OUT / f"import_{args.backend}_{args.plots}.prof" if args.profile else None
                ours = time_import(url, path, report, prof)
                if not report.exists():
                    raise SystemExit(f"the import wrote no report:\n{ours['log']}")
                rep = json.loads(report.read_text())
            finally:
                drop()
                shutil.rmtree(STORE, ignore_errors=True)
            ours["ogr2ogr_seconds"] = ogr_s
            runs.append(ours)
            print(
                f"run {i + 1}: ogr2ogr {ogr_s:.2f} s, ours {ours['seconds']:.2f} s "
                f"({ours['seconds'] / ogr_s:.2f}x), peak RSS {ours['peak_rss_mb']:.0f} MB"
            )
    ogr = statistics.median(r["ogr2ogr_seconds"] for r in runs)
    ratios = [r["seconds"] / r["ogr2ogr_seconds"] for r in runs]
    mine = statistics.median(r["seconds"] for r in runs)
    result = {
        "backend": args.backend,
        "plots": args.plots,
        "file_mb": file_mb,
        "runs": len(runs),
        "ogr2ogr_seconds": [round(r["ogr2ogr_seconds"], 2) for r in runs],
        "import_seconds": [round(r["seconds"], 2) for r in runs],
        "ogr2ogr_median": round(ogr, 2),
        "import_median": round(mine, 2),
        "ratio_of_medians": round(mine / ogr, 2),
        "median_ratio": round(statistics.median(ratios), 2),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
        "vm_hwm_mb": round(max(r["vm_hwm_mb"] for r in runs), 1),
        # ru_maxrss survives fork+exec: if the process started above its own peak, the figure
        # is the parent's, and VmHWM (this process image's own high-water mark) is the one to read
        "rss_at_start_mb": round(max(r["rss_at_start_mb"] for r in runs), 1),
        "parent_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "targets": {"ratio": 2.0, "peak_rss_mb": 300},
        "report": {
            k: rep.get(k)
            for k in (
                "features",
                "valid",
                "invalid",
                "warnings",
                "promoted",
                "promotion",
            )
        }
        | {"overlap_pairs": len(rep.get("overlaps", []))},
        "planted": {"invalid": args.invalid, "overlapping": args.overlapping},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "log_tail": [ln for ln in runs[-1]["log"].splitlines() if not ln.startswith("  ")][-40:],
    }
    out = OUT / f"import_{args.backend}_{args.plots}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "log_tail"}, ensure_ascii=False))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
