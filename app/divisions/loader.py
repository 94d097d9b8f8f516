"""Load a division code list (one county's CSV) and report its quirks instead of hiding them."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from app.audit import trail
from app.core.codes import CodeError, validate_division_code
from app.divisions.models import LEVELS, Division
from app.extensions import db

BUNDLED = Path(__file__).parent / "data"
COLUMNS = 20
_DOUBLED_SUFFIX = re.compile(r"(村委会|居委会|社区)\1$|村委会村委会$")


@dataclass
class Quirk:
    code: str
    kind: str  # missing_coordinates, name_mismatch, doubled_suffix, duplicate_name, bad_row
    detail: str


@dataclass
class LoadReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    by_level: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    quirks: list[Quirk] = field(default_factory=list)


def bundled_file(county_code: str) -> Path:
    return BUNDLED / f"{county_code}.csv"


def _float(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        return None


def read_rows(path: Path, report: LoadReport) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for number, rec in enumerate(csv.reader(fh), start=1):
            if len(rec) < COLUMNS:
                report.quirks.append(Quirk("", "bad_row", f"line {number}: {len(rec)} columns"))
                continue
            code, parent, name, level = rec[0], rec[1], rec[2].strip(), rec[3]
            try:
                validate_division_code(code)
            except CodeError as exc:
                report.quirks.append(Quirk(code, "bad_row", f"line {number}: {exc}"))
                continue
            if level not in LEVELS:
                report.quirks.append(Quirk(code, "bad_row", f"line {number}: level {level!r}"))
                continue
            rows.append(
                {
                    "code": code,
                    "parent_code": parent or None,
                    "name": name,
                    "level": level,
                    "ur_code": rec[8] or None,
                    "longitude": _float(rec[12]),
                    "latitude": _float(rec[13]),
                    "town_name": rec[18],
                }
            )
    return rows


def find_quirks(rows: list[dict]) -> list[Quirk]:
    """Known kinds of error in published code lists, found by rule rather than by name."""
    quirks: list[Quirk] = []
    names = {r["code"]: r["name"] for r in rows}
    for r in rows:
        if r["longitude"] is None or r["latitude"] is None:
            quirks.append(Quirk(r["code"], "missing_coordinates", f"{r['name']}: no coordinates"))
        if _DOUBLED_SUFFIX.search(r["name"]):
            quirks.append(Quirk(r["code"], "doubled_suffix", f"{r['name']}: suffix written twice"))
        # A town's residents' committee is named after the town: "<town>居委会".
        parent = names.get(r["parent_code"] or "")
        m = re.match(r"^(.+?[镇乡])居委会$", r["name"])
        if r["level"] == "village" and m and parent and m.group(1) != parent:
            quirks.append(
                Quirk(r["code"], "name_mismatch", f"{r['name']}: parent town is {parent} (typo?)")
            )
    seen: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r["level"] == "village":
            seen[(r["name"], r["longitude"], r["latitude"])].append(r)
    for (name, lon, _lat), group in seen.items():
        if len(group) > 1 and lon is not None:
            codes = ", ".join(g["code"] for g in group)
            for g in group:
                quirks.append(
                    Quirk(
                        g["code"],
                        "duplicate_name",
                        f"{name} appears under {len(group)} towns at identical coordinates "
                        f"({codes})",
                    )
                )
    return quirks


def load_divisions(path: Path) -> LoadReport:
    """Upsert the rows of one division CSV (idempotent); the caller commits."""
    report = LoadReport()
    rows = read_rows(path, report)
    report.rows = len(rows)
    report.quirks.extend(find_quirks(rows))
    existing = {d.code: d for d in db.session.scalars(select(Division))}
    with trail.because("divisions.load", reason=f"load {path.name}"):
        for r in rows:
            report.by_level[r["level"]] += 1
            values = {
                k: r[k]
                for k in ("parent_code", "name", "level", "ur_code", "longitude", "latitude")
            }
            current = existing.get(r["code"])
            if current is None:
                db.session.add(Division(code=r["code"], **values))
                report.inserted += 1
            elif any(getattr(current, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(current, k, v)
                report.updated += 1
            else:
                report.unchanged += 1
        db.session.flush()
    return report
