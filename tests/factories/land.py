"""Contracted land in one collective: a survey document, a contract, a plot and an overlap finding.

Plots are small squares near Shixing in EPSG:4547 (x ≈ 507 000, y ≈ 2 760 000). Each collective
gets its own strip of land (offset by its id) and every call its own spot in the strip, so objects
of different collectives or different calls never overlap by accident.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from datetime import date

from shapely.geometry import Polygon, box

from app.core.errors import DomainError
from app.divisions.models import Collective
from app.extensions import db
from app.registry import land
from app.registry.models import LandContract, SourceDocument
from tests.factories import people as people_fx

BASE_X = 507_000.0
BASE_Y = 2_760_000.0
CRS = "EPSG:4547"
TERM_START = date(2020, 1, 1)
TERM_END = date(2049, 12, 31)
TODAY = date(2026, 3, 1)

_spot = itertools.count(1)
_rng = random.Random()


def origin(collective_id: int) -> tuple[float, float]:
    """A fresh 200 m x 200 m spot of land for this collective, never handed out twice."""
    n = next(_spot)
    return BASE_X + (n % 20) * 250.0, BASE_Y + collective_id * 8_000.0 + (n // 20) * 250.0


def square(x: float, y: float, side: float = 40.0) -> Polygon:
    return box(x, y, x + side, y + side)


def geojson(geom: Polygon) -> dict:
    return {"type": "Polygon", "coordinates": [[list(c) for c in geom.exterior.coords]]}


def make_document(collective_id: int, title: str = "测绘成果") -> int:
    """A survey document (metadata only; the file itself is not needed by the land services)."""
    token = f"{collective_id}-{_rng.random()}".encode()
    doc = SourceDocument(
        collective_id=collective_id,
        kind="survey",
        title=title,
        filename="survey.pdf",
        media_type="application/pdf",
        size=len(token),
        sha256=hashlib.sha256(token).hexdigest(),
    )
    db.session.add(doc)
    db.session.flush()
    return doc.id


def make_household(collective_id: int, name: str = "张三") -> tuple[int, int]:
    """(household_uid, head person_uid): a household whose head is a member (R01)."""
    head, household = people_fx.household(collective_id, name)
    return household.uid, head.uid


def dkbm(collective_id: int) -> str:
    """A plot code of this collective not used by any current plot."""
    from sqlalchemy import select

    from app.registry.models import Plot

    coll = db.session.get(Collective, collective_id)
    while True:
        code = coll.fbfbm + f"{_rng.randrange(1, 100000):05d}"
        taken = db.session.scalar(
            select(Plot.uid).where(Plot.dkbm == code, Plot.end_lifespan.is_(None))
        )
        if taken is None:
            return code


def make(collective_id: int, ctx: dict) -> dict:
    """Create this area's objects in the collective; return {url argument: value}."""
    household_uid = ctx.get("household_uid") or make_household(collective_id)[0]
    doc_id = make_document(collective_id)
    ctx["source_document_id"] = doc_id
    contract = land.create_contract(
        household_uid,
        TERM_START,
        TERM_END,
        source_document_id=doc_id,
        reason="确权登记",
        today=TODAY,
        confirmed=True,  # a contract noticed and certified before: the documents area certifies it
    )
    x, y = origin(collective_id)
    first = land.add_plot(
        collective_id,
        dkbm(collective_id),
        geojson(square(x, y)),
        CRS,
        contract_uid=contract.uid,
        name="大丘田",
        contract_area_m2=1500.0,
        east="路",
        south="张四",
        west="沟",
        north="山",
        source_document_id=doc_id,
        reason="确权测绘",
    )
    second = land.add_plot(
        collective_id,
        dkbm(collective_id),
        geojson(square(x + 20, y + 20)),
        CRS,
        name="重叠地块",
        source_document_id=doc_id,
        reason="确权测绘",
    )
    return {
        "contract_uid": contract.uid,
        "plot_uid": first.plot.uid,
        "finding_id": second.findings[0].id,
    }


# --- helpers for the land tests


class refused:
    """``with refused(rule="R02", code=...):`` asserts a DomainError and keeps it as ``.error``."""

    def __init__(self, *, rule: str | None = None, code: str | None = None) -> None:
        self.rule, self.code, self.error = rule, code, None

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        assert et is not None and issubclass(et, DomainError), f"expected DomainError, got {et}"
        if self.rule:
            assert ev.rule == self.rule, (ev.rule, ev.code, ev.message)
        if self.code:
            assert ev.code == self.code, (ev.code, ev.message)
        self.error = ev
        return True


def contract(collective_id: int, start=date(2020, 1, 1), end=date(2049, 12, 31)) -> LandContract:
    """A contract for a new household of the collective."""
    hh, _head = make_household(collective_id)
    return land.create_contract(
        hh,
        start,
        end,
        source_document_id=make_document(collective_id),
        reason="确权",
        today=TODAY,
    )


def add(collective_id: int, geom, crs="EPSG:4547", **kw) -> land.PlotChange:
    """Register a plot with a fresh code, a survey document and a reason unless given."""
    kw.setdefault("source_document_id", make_document(collective_id))
    kw.setdefault("reason", "确权测绘")
    code = kw.pop("dkbm", None) or dkbm(collective_id)
    return land.add_plot(collective_id, code, geojson(geom), crs, **kw)
