"""Audit-chain verification benchmark: `flask audit verify`'s path against a bare hashlib loop.

    python -m bench.audit_verify --backend sqlite|postgresql --entries 100000 [--repeat 3]

Builds a migrated database and chains ``--entries`` entries into its audit log through the app's
own writer (``trail.record_event``, committed in batches, so the rows, their canonical form and
their hashes are exactly what a county's log holds: before/after JSON of a plot-sized change).
Then times, ``--repeat`` times each:

  (a) ours: ``app.audit.services.verify_database()`` — stream the entries from the database in
      batches, rebuild each one's canonical serialisation, recompute and compare every hash and
      the links between them (what `flask audit verify` does before its head-file check);
  (b) the stand-alone verifier: ``flask audit export`` once, then
      ``app.audit.verify.verify_export(FILE)`` — each line carries the canonical bytes as hashed,
      so it hashes them as they stand and reads only the sequence number and previous hash
      (what ``python -m app.audit.verify EXPORT`` does before the checkpoint's signature);
  (c) the anchor: a bare loop of ``hashlib.sha256(canonical bytes).hexdigest()`` over the same
      entries' canonical bytes, prepared in memory beforehand — the cost of the hashing alone,
      with no database, no parsing and no checks.

Reports entries per second of each (medians) and their ratio, and writes
bench/out/audit_verify_<backend>_<entries>.json. Timing is never asserted in tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

from bench.overlap import make_database

OUT = Path(__file__).resolve().parent / "out"
BATCH = 2_000


def _details(i: int) -> dict:
    """A plot edit's worth of before/after: what most of a county's entries look like."""
    return {
        "dkbm": f"440222100205010{i % 10000:04d}",
        "name": f"地块{i}",
        "measured_area_m2": 666.67 + (i % 97),
        "contract_area_m2": 650.0 + (i % 89),
        "east": "路",
        "south": "沟",
        "west": "李建华",
        "north": "山",
    }


def build(entries: int) -> None:
    from app.audit import trail
    from app.extensions import db

    ctx = trail.AuditContext(actor="bench", role="system", event="bench.entry")
    written = 0
    with trail.acting(ctx):
        while written < entries:
            n = min(BATCH, entries - written)
            for i in range(written, written + n):
                trail.record_event(db.session, "bench.entry", "plot", str(i), details=_details(i))
            db.session.commit()
            written += n


def run(args: argparse.Namespace) -> dict:
    from flask_migrate import upgrade

    from app import create_app
    from app.audit.services import export_jsonl, iter_entries, verify_database
    from app.audit.verify import canonical, verify_export
    from app.extensions import db

    target = make_database(args.backend, keep=False)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": target.url, "SECRET_KEY": "bench", "TESTING": True}
    )
    result: dict = {
        "backend": args.backend,
        "entries": args.entries,
        "repeat": args.repeat,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_start": os.getloadavg(),
    }
    try:
        with app.app_context():
            upgrade()
            t0 = time.perf_counter()
            build(args.entries)
            result["build_s"] = round(time.perf_counter() - t0, 2)
            total = len(list(iter_entries()))  # the migration may have written a few of its own
            prepared = [canonical(e) for e in iter_entries()]
            export = OUT / f"audit_export_{args.backend}_{args.entries}.jsonl"
            OUT.mkdir(parents=True, exist_ok=True)
            with export.open("w", encoding="utf-8") as fh:
                export_jsonl(fh)
            ours, exported, bare = [], [], []
            for _ in range(args.repeat):
                db.session.remove()  # each run starts as a fresh `flask audit verify` does
                t = time.perf_counter()
                count, problem = verify_database()
                ours.append(time.perf_counter() - t)
                if problem is not None or count != total:
                    raise SystemExit(f"the chain does not verify: {problem} ({count}/{total})")
                t = time.perf_counter()
                count, problem, _ = verify_export(str(export))
                exported.append(time.perf_counter() - t)
                if problem is not None or count != total:
                    raise SystemExit(f"the export does not verify: {problem} ({count}/{total})")
                t = time.perf_counter()
                for data in prepared:
                    hashlib.sha256(data).hexdigest()
                bare.append(time.perf_counter() - t)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        target.drop()
        (OUT / f"audit_export_{args.backend}_{args.entries}.jsonl").unlink(missing_ok=True)
    ours_rate = total / statistics.median(ours)
    export_rate = total / statistics.median(exported)
    bare_rate = total / statistics.median(bare)
    result |= {
        "verified": total,
        "ours_seconds": [round(s, 3) for s in ours],
        "export_seconds": [round(s, 3) for s in exported],
        "bare_hashlib_seconds": [round(s, 4) for s in bare],
        "export_per_s": round(export_rate),
        "ratio_bare_to_export": round(bare_rate / export_rate, 2),
        "ours_per_s": round(ours_rate),
        "bare_hashlib_per_s": round(bare_rate),
        "ratio_bare_to_ours": round(bare_rate / ours_rate, 2),
        "load_average_end": os.getloadavg(),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs (medians are reported)")
    args = parser.parse_args(argv)
    if args.entries < 1 or args.repeat < 1:
        parser.error("--entries and --repeat must be positive")
    result = run(args)
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"audit_verify_{args.backend}_{args.entries}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"[{args.backend}] verified {result['verified']:,} entries: "
        f"{result['ours_per_s']:,}/s (bare hashlib {result['bare_hashlib_per_s']:,}/s, "
        f"{result['ratio_bare_to_ours']}x faster); its export: {result['export_per_s']:,}/s "
        f"({result['ratio_bare_to_export']}x)"
    )
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
